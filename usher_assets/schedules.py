"""The weekly refresh: it reads the fingerprints first, and launches only the assets and partitions that changed.

The decision is the run's own (usher_assets.inspection.launch): when nothing changed the tick is skipped and
says what it checked; otherwise one run requests exactly the stale slices and everything downstream of them,
tagged with why. A forced schedule (refresh_schedule(force=True)) requests everything with the `usher/force`
tag, so the run recomputes everything too.
"""

import dagster as dg

from usher_assets.assets.declare import CHROMOSOME_PARTITIONS, FORCE_TAG
from usher_assets.inspection.launch import definitions_view, launch_plan
from usher_assets.resources import PipelineResource
from usher_assets.storage.io_manager import DuckDBIOManager
from usher_assets.storage.launch import RANGE_END_TAG, RANGE_START_TAG, launch_result

WEEKLY_REFRESH_CRON = "0 3 * * 1"  # Mondays 03:00, before anyone reads the week's ranking
TAG_PREFIX = "usher"

# Every asset in one job; the evidence assets are partitioned, the others are not, and every
# asset has a single-run backfill policy, so the whole chromosome range fits in one run.
# The capital R is deliberate: the UI's "Materialize all" launches through the first job (by name) every
# selected asset belongs to. Dagster's hidden __ASSET_JOB would make it an asset backfill, which runs a
# mixed selection in waves, one run per partitions definition (3 runs); this job makes it a job backfill,
# which a single-run backfill policy turns into one run over the range (Dagster 1.13,
# LaunchAssetExecutionButton getCommonJob; test_browser_reuse counts the runs).
REFRESH_JOB_NAME = "Refresh_all"
refresh_job = dg.define_asset_job(
    REFRESH_JOB_NAME, selection=dg.AssetSelection.all(),
    description="Every asset over every chromosome partition in one run; unchanged slices are reused. "
                "The UI's Materialize all (choose All partitions) launches this job as one run.",
)


def full_range_tags() -> dict[str, str]:
    """Run tags that target the whole chromosome range (what `--partition-range 1...MT` sets)."""
    keys = CHROMOSOME_PARTITIONS.get_partition_keys()
    return {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}


def full_refresh_request(tick) -> dg.RunRequest:
    """Every asset over every chromosome, without deciding first (what the schedule did before it read fingerprints)."""
    return dg.RunRequest(run_key=tick.isoformat() if tick else None, tags=full_range_tags())


def evaluation_instance(context) -> dg.DagsterInstance | None:
    """The context's instance, or None for a context built without one (a plain unit test)."""
    return context.instance if context.instance_ref is not None else None


def decide_launch(context, io_manager: DuckDBIOManager, pipeline: PipelineResource, *, what: str,
                  run_key: str | None, forced: bool = False, tags: dict | None = None):
    """The launch-time decision for refresh_job's selection: a RunRequest or a SkipReason, with reasons."""
    defs = definitions_view(context.repository_def, {"io_manager": io_manager, "pipeline": pipeline})
    graph = defs.resolve_asset_graph()
    selection = refresh_job.selection.resolve(graph)
    instance = evaluation_instance(context)
    plan = launch_plan(defs, pipeline.config, selection, forced=forced, instance=instance)
    extra = dict(tags or {}) | ({FORCE_TAG: "all"} if forced else {})
    return launch_result(graph, plan, what=what, run_key=run_key, tag_prefix=TAG_PREFIX, tags=extra)


def refresh_schedule(name: str = "weekly_refresh", cron_schedule: str = WEEKLY_REFRESH_CRON,
                     force: bool = False) -> dg.ScheduleDefinition:
    """A refresh on `cron_schedule` (UTC) that launches only what changed; `force` requests and recomputes all."""

    @dg.schedule(name=name, job=refresh_job, cron_schedule=cron_schedule, execution_timezone="UTC",
                 default_status=dg.DefaultScheduleStatus.STOPPED,
                 description=("Weekly: compares every asset's fingerprint with its checkpoint first; skips the tick "
                              "when nothing changed, else runs only the stale slices and what reads them"
                              + ("; forced: requests and recomputes everything" if force else "") + "."))
    def refresh(context: dg.ScheduleEvaluationContext, io_manager: dg.ResourceParam[DuckDBIOManager],
                pipeline: PipelineResource):
        # The run key makes a re-evaluated tick (daemon restart) launch nothing twice.
        tick = context.scheduled_execution_time
        return decide_launch(context, io_manager, pipeline, what=f"schedule {name}",
                             run_key=tick.isoformat() if tick else None, forced=force)

    return refresh


weekly_refresh = refresh_schedule()
