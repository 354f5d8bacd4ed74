"""weekly_refresh: its request covers every asset and chromosome in one run. What its runs then compute after
each kind of change is tested on the launch series (test_launch_decision.py), one run per change."""

from datetime import datetime, timezone

import dagster as dg

from conftest import write_config
from pipeline_runs import all_asset_keys, sources_readers
from usher_assets.definitions import build_definitions
from usher_assets.definitions import defs as project_defs
from usher_assets.schedules import WEEKLY_REFRESH_CRON, full_refresh_request, refresh_job, weekly_refresh

MONDAY_3AM = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)
RELEASE_CHANGED = "go_terms"  # release label edited, file unchanged
CONTENT_CHANGED = "hpa_subcellular"  # file edited: one centrosomal protein's row removed


def refresh_definitions() -> dg.Definitions:
    """The project's own Definitions, as `dagster dev` loads them (USHER_CONFIG names the tmp config)."""
    return build_definitions()


def scheduled_request() -> dg.RunRequest:
    """The full-range request; weekly_refresh itself now decides first (test_launch_decision.py)."""
    return full_refresh_request(MONDAY_3AM)


def test_weekly_refresh_runs_mondays_at_three_utc():
    assert weekly_refresh.cron_schedule == WEEKLY_REFRESH_CRON == "0 3 * * 1"
    assert weekly_refresh.execution_timezone == "UTC"
    assert weekly_refresh.job_name == "Refresh_all"


def test_project_definitions_register_weekly_refresh_off_by_default():
    # What the UI and the daemon load: the module's own `defs`, no schedule added by the test.
    schedule = project_defs.resolve_schedule_def("weekly_refresh")
    assert schedule.cron_schedule == "0 3 * * 1"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED  # off until switched on in the UI
    assert schedule.job_name == "Refresh_all"
    assert project_defs.resolve_job_def("Refresh_all").name == "Refresh_all"


def test_weekly_refresh_requests_the_whole_chromosome_range_in_one_run():
    request = scheduled_request()
    assert request.tags["dagster/asset_partition_range_start"] == "1"
    assert request.tags["dagster/asset_partition_range_end"] == "MT"
    assert request.run_key == MONDAY_3AM.isoformat()
    assert request.partition_key is None  # a range, not one chromosome


def test_refresh_job_selects_every_asset(tmp_path, monkeypatch):
    monkeypatch.setenv("USHER_CONFIG", str(write_config(tmp_path)))
    defs = refresh_definitions()
    job = defs.resolve_job_def(refresh_job.name)
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == all_asset_keys(defs)


def test_only_go_terms_reads_the_relabelled_source(tmp_path, monkeypatch):
    monkeypatch.setenv("USHER_CONFIG", str(write_config(tmp_path)))
    defs = refresh_definitions()
    assert sources_readers(defs, RELEASE_CHANGED) == {"go_terms"}
    assert sources_readers(defs, CONTENT_CHANGED) == {CONTENT_CHANGED}
