"""weekly_refresh: its request covers every asset and chromosome in one run, and checkpoints make reruns cheap."""

import hashlib
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest
import yaml

from conftest import clone_build, write_config
from pipeline_runs import all_asset_keys, checkpoints_by_asset, downstream_of, recomputed
from usher_assets.config import PROJECT_ROOT
from usher_assets.definitions import build_definitions
from usher_assets.definitions import defs as project_defs
from usher_assets.inspection.registry import registered_assets
from usher_assets.schedules import WEEKLY_REFRESH_CRON, full_refresh_request, refresh_job, weekly_refresh

MONDAY_3AM = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)
RELEASE_CHANGED = "go_terms"  # release label edited, file unchanged
CONTENT_CHANGED = "hpa_subcellular"  # file edited: one centrosomal protein's row removed
REMOVED_GENE = "PAFAH1B1"  # main location Centrosome, reliability Supported (HPA v19.3)


def refresh_definitions() -> dg.Definitions:
    """The project's own Definitions, as `dagster dev` loads them (USHER_CONFIG names the tmp config)."""
    return build_definitions()


def refresh_job_definition() -> dg.JobDefinition:
    return refresh_definitions().resolve_job_def(refresh_job.name)


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


def _without_gene(source: Path, target: Path, symbol: str) -> str:
    """Copy a TSV without the rows whose second column is `symbol`; the copy's sha256."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if line.split("\t")[1:2] != [symbol]]
    assert len(kept) == len(lines) - 1, f"expected one {symbol} row in {source}"
    target.write_text("".join(kept), encoding="utf-8")
    return hashlib.sha256(target.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def refresh_runs(golden_build, tmp_path_factory):
    """Three scheduled runs on a copy of a built database: unchanged, release edited, file edited."""
    work = tmp_path_factory.mktemp("weekly_refresh")
    clone_build(golden_build, work)
    config_path = write_config(work)
    recon = dg.reconstructable(refresh_job_definition)
    (work / "dagster_home").mkdir()
    runs = {}
    with pytest.MonkeyPatch.context() as patch, dg.DagsterInstance.local_temp(str(work / "dagster_home")) as instance:
        patch.setenv("USHER_CONFIG", str(config_path))

        def run(label: str) -> None:
            request = scheduled_request()
            started = time.monotonic()
            with dg.execute_job(recon, instance, tags=request.tags, run_config=request.run_config) as result:
                assert result.success, f"{label} run failed"
                runs[label] = SimpleNamespace(seconds=time.monotonic() - started,
                                              checkpoints=checkpoints_by_asset(instance, result.run_id))

        run("unchanged")
        raw = yaml.safe_load(config_path.read_text())
        raw["sources"][RELEASE_CHANGED]["release"] += " (relabelled)"
        config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
        run("release_changed")
        source = raw["sources"][CONTENT_CHANGED]
        edited = work / "subcellular_location_edited.tsv"
        source["sha256"] = _without_gene(PROJECT_ROOT / source["path"], edited, REMOVED_GENE)
        source["path"] = str(edited)
        config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
        run("content_changed")
        runs["defs"] = refresh_definitions()
    print("\nweekly_refresh wall times: " + ", ".join(
        f"{label} {r.seconds:.1f} s" for label, r in runs.items() if label != "defs"))
    return runs


def sources_readers(defs: dg.Definitions, source: str) -> set[str]:
    """The assets that declare reading `source` (their `sources_read` metadata)."""
    return {name for name, asset in registered_assets(defs).items()
            if source in (asset.assets_def.metadata_by_key[asset.key].get("sources_read") or [])}


def test_only_go_terms_reads_the_relabelled_source(tmp_path, monkeypatch):
    monkeypatch.setenv("USHER_CONFIG", str(write_config(tmp_path)))
    defs = refresh_definitions()
    assert sources_readers(defs, RELEASE_CHANGED) == {"go_terms"}
    assert sources_readers(defs, CONTENT_CHANGED) == {CONTENT_CHANGED}


@pytest.mark.slow
def test_unchanged_rerun_reuses_every_partition(refresh_runs):
    unchanged = refresh_runs["unchanged"].checkpoints
    assert set(unchanged) == all_asset_keys(refresh_runs["defs"])
    assert recomputed(unchanged) == set()


@pytest.mark.slow
def test_release_change_recomputes_the_readers_and_everything_downstream(refresh_runs):
    readers = sources_readers(refresh_runs["defs"], RELEASE_CHANGED)
    changed = refresh_runs["release_changed"].checkpoints
    expected = downstream_of(refresh_runs["defs"], readers)
    assert readers == {"go_terms"}
    assert {"annotation_evidence", "gene_scores", "candidates"} <= expected
    assert recomputed(changed) == expected
    # Same file, so the same tables: every recomputed slice compares equal and is not rewritten.
    assert {name: changed[name] for name in expected if changed[name] != {"unchanged"}} == {}


@pytest.mark.slow
def test_content_change_recomputes_the_source_and_everything_downstream(refresh_runs):
    changed = refresh_runs["content_changed"].checkpoints
    expected = downstream_of(refresh_runs["defs"], {CONTENT_CHANGED})
    assert {"localization_evidence", "gene_scores", "candidates"} <= expected
    assert recomputed(changed) == expected
    assert changed[CONTENT_CHANGED] == {"written"}
