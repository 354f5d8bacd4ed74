"""Shared by the launch-decision tests and bench: evaluate the schedule and sensor daemon-free, run what they ask."""

from datetime import datetime, timezone

import dagster as dg

from usher_assets.definitions import build_definitions
from usher_assets.schedules import refresh_job, weekly_refresh
from usher_assets.sensors import source_file_sensor

MONDAY_3AM = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)


def refresh_job_definition() -> dg.JobDefinition:
    """For dg.reconstructable: the refresh job of the definitions USHER_CONFIG names."""
    return build_definitions().resolve_job_def(refresh_job.name)


def schedule_tick(defs: dg.Definitions, instance: dg.DagsterInstance, schedule=weekly_refresh,
                  when: datetime = MONDAY_3AM):
    """The schedule's tick result (run_requests, skip_message), evaluated as the daemon would, without it."""
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=when,
                                   repository_def=defs.get_repository_def(), resources=defs.resources) as context:
        return schedule.evaluate_tick(context)


def sensor_tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None):
    with dg.build_sensor_context(instance=instance, cursor=cursor, repository_def=defs.get_repository_def(),
                                 resources=defs.resources) as context:
        return source_file_sensor.evaluate_tick(context)


def only_request(result) -> dg.RunRequest:
    assert len(result.run_requests) == 1, f"expected one run request, got {result.run_requests} " \
                                          f"(skip: {result.skip_message})"
    return result.run_requests[0]


def execute(instance: dg.DagsterInstance, tags: dict, asset_selection=None) -> str:
    """Run refresh_job (or the given assets of it) as the daemon would launch the request; its run id."""
    recon = dg.reconstructable(refresh_job_definition)
    with dg.execute_job(recon, instance, tags=tags, asset_selection=asset_selection) as result:
        assert result.success, "the run failed"
        return result.run_id


def computed_assets(instance: dg.DagsterInstance, run_id: str) -> dict[str, set[str]]:
    """Asset -> its checkpoint metadata values in the run, for the assets whose body ran (not `reused`).

    Cross-checked with the run's "computing ..." log lines: a body runs exactly when one is logged.
    """
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION,
                                           limit=10_000).records
    found: dict[str, set[str]] = {}
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        value = materialization.metadata.get("checkpoint")
        found.setdefault(materialization.asset_key.to_user_string(), set()).add(value.value if value else "(none)")
    computed = {name: values for name, values in found.items() if values != {"reused"}}
    logged = {entry.step_key for entry in instance.all_logs(run_id)
              if " computing (" in entry.user_message and entry.step_key}  # "<table>:[ slices ...] computing (why)"
    assert logged == set(computed), f"'computing' log lines for {sorted(logged)}, metadata for {sorted(computed)}"
    return computed


def requested_names(request: dg.RunRequest | None) -> set[str]:
    return set() if request is None else {k.to_user_string() for k in request.asset_selection}
