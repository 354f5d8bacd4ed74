"""source_file_sensor: sees an edited source file (given by path) without waiting for Monday's refresh.

Each evaluation stats the files (size and mtime, the key of the store's file-hash cache) and keeps them in the
cursor; when one changed it makes the same launch-time decision as weekly_refresh, so a touched file whose
content is the same launches nothing. An edit that keeps both size and mtime is not seen, here or by the
hash cache the runs use.
"""

import json

import dagster as dg

from usher_assets.config import PipelineConfig
from usher_assets.resources import PipelineResource
from usher_assets.schedules import decide_launch, refresh_job
from usher_assets.storage.fingerprint import canonical_hash
from usher_assets.storage.io_manager import DuckDBIOManager

SENSOR_INTERVAL_SECONDS = 60


def path_source_states(pipeline: PipelineConfig) -> dict[str, list]:
    """Source key -> [path, size, mtime_ns] for every source given by path ([path, None, None] if missing)."""
    states = {}
    for key, source in sorted(pipeline.sources.items()):
        if source is None or source.path is None:
            continue
        path = source.resolved_path(pipeline.root)
        try:
            stat = path.stat()
            states[key] = [str(path), stat.st_size, stat.st_mtime_ns]
        except OSError:
            states[key] = [str(path), None, None]
    return states


@dg.sensor(name="source_file_sensor", job=refresh_job, minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
           default_status=dg.DefaultSensorStatus.STOPPED,
           description="Watches the source files given by path (size, mtime); when one changed, launches only "
                       "the assets and partitions whose fingerprints no longer match, with the reasons as tags.")
def source_file_sensor(context: dg.SensorEvaluationContext, io_manager: dg.ResourceParam[DuckDBIOManager],
                       pipeline: PipelineResource) -> dg.SensorResult:
    states = path_source_states(pipeline.config)
    previous = json.loads(context.cursor) if context.cursor else None
    changed = sorted(k for k in states if previous is None or previous.get(k) != states[k])
    cursor = json.dumps(states, sort_keys=True)
    if previous is not None and not changed:
        return dg.SensorResult(skip_reason=dg.SkipReason(
            f"no source file changed: checked size and mtime of {len(states)} files given by path"), cursor=cursor)
    what = ("first evaluation" if previous is None else f"changed source files {', '.join(changed)}") + \
        f"; checked {len(states)} files given by path and every fingerprint"
    shown = "first evaluation" if previous is None else ", ".join(changed)
    result = decide_launch(context, io_manager, pipeline, what=what, run_key=None,
                           tags={"usher/changed_sources": shown[:255]})
    if isinstance(result, dg.SkipReason):
        return dg.SensorResult(skip_reason=result, cursor=cursor)
    # One run per (file states, decision): a re-evaluated tick launches nothing twice.
    key = canonical_hash([cursor, result.asset_selection and [k.to_user_string() for k in result.asset_selection],
                          result.tags])[:16]
    return dg.SensorResult(run_requests=[result.with_replaced_attrs(run_key=f"sources-{key}")], cursor=cursor)
