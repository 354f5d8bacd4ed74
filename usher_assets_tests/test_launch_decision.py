"""The launch-time decision: weekly_refresh and source_file_sensor request only what a run would compute,
and what the scheduled full refresh then computes after each kind of change.

Daemon-free evaluation (dg.build_schedule_context / build_sensor_context) on a real instance and a clone of the
golden build. The safety series makes one change at a time, asks the schedule, then runs the full refresh
(the run weekly_refresh launches when it does not decide first) and checks that the request held every asset
the run computed (and nothing when nothing changed), and that the run recomputed exactly what the change
reaches: everything downstream of what read it, nothing when nothing changed.
"""

from pathlib import Path

import dagster as dg
import pytest
import yaml

from conftest import clone_build, write_config
from launch_support import (computed_assets, execute, only_request, requested_names, schedule_tick, sensor_tick)
from pipeline_runs import all_asset_keys, checkpoints_by_asset, downstream_of, recomputed, sources_readers
from usher_assets.config import PROJECT_ROOT
from usher_assets.definitions import build_definitions
from usher_assets.inspection.registry import registered_assets
from usher_assets.schedules import full_range_tags, full_refresh_request, refresh_schedule
from usher_assets.storage import PipelineStore
from usher_assets.storage.launch import LaunchPlan, covering_range

# The series runs six full refreshes in its fixture, which count against its first test's timeout.
pytestmark = pytest.mark.timeout(1800)
EDITED_SOURCE = "hpa_subcellular"  # one centrosomal protein's row removed, sha256 dropped from the config
REMOVED_GENE = "PAFAH1B1"
RELABELLED = "go_terms"
TAMPERED = ("evidence", "localization_evidence", "X")  # schema, table, the chromosome of the row changed
DELETED = ("scoring", "gene_scores")  # an unpartitioned checkpoint forgotten


def _edit_config(path: Path, change) -> None:
    raw = yaml.safe_load(path.read_text())
    change(raw)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def _edit_source(work: Path):
    def change(raw):
        source = raw["sources"][EDITED_SOURCE]
        lines = (PROJECT_ROOT / source["path"]).read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if line.split("\t")[1:2] != [REMOVED_GENE]]
        assert len(kept) == len(lines) - 1, f"expected one {REMOVED_GENE} row"
        edited = work / "subcellular_location_edited.tsv"
        edited.write_text("".join(kept), encoding="utf-8")
        source["path"], source["sha256"] = str(edited), None
    return change


def _relabel(raw):
    raw["sources"][RELABELLED]["release"] += " (relabelled)"


def _reweight(raw):
    weights = raw["scoring"]["weights"]
    weights["constraint"], weights["annotation"] = round(weights["constraint"] + 0.05, 2), \
        round(weights["annotation"] - 0.05, 2)


def _tamper(database: Path) -> None:
    schema, table, chromosome = TAMPERED
    with PipelineStore(database).connect() as con:
        con.execute(f"UPDATE {schema}.{table} SET localization_score = coalesce(localization_score, 0) + 0.5 "
                    f"WHERE rowid = (SELECT min(rowid) FROM {schema}.{table} WHERE chromosome = ?)", [chromosome])


def _forget(database: Path) -> None:
    schema, table = DELETED
    assert PipelineStore(database).delete_checkpoint(table, schema=schema)


@pytest.fixture(scope="module")
def launch_series(golden_build, tmp_path_factory):
    """For each change: the schedule's request (None if skipped), its skip text, and what a full run computed."""
    work = tmp_path_factory.mktemp("launch_decision")
    clone_build(golden_build, work)
    config_path = write_config(work)
    database = work / "usher.duckdb"
    (work / "dagster_home").mkdir()
    series, sensor = {}, {}
    changes = [("nothing", lambda: None),
               ("source edited", lambda: _edit_config(config_path, _edit_source(work))),
               ("release relabelled", lambda: _edit_config(config_path, _relabel)),
               ("weight changed", lambda: _edit_config(config_path, _reweight)),
               ("table tampered", lambda: _tamper(database)),
               ("checkpoint deleted", lambda: _forget(database))]
    with pytest.MonkeyPatch.context() as patch, dg.DagsterInstance.local_temp(str(work / "dagster_home")) as instance:
        patch.setenv("USHER_CONFIG", str(config_path))
        defs = build_definitions(str(config_path))
        sensor["before"] = sensor_tick(defs, instance, None)
        for label, change in changes:
            change()
            defs = build_definitions(str(config_path))
            if label == "source edited":
                sensor["after edit"] = sensor_tick(defs, instance, sensor["before"].cursor)
            tick = schedule_tick(defs, instance)
            request = only_request(tick) if tick.run_requests else None
            run_id = execute(instance, full_refresh_request(None).tags)
            series[label] = dict(request=request, skip=tick.skip_message, computed=computed_assets(instance, run_id),
                                 checkpoints=checkpoints_by_asset(instance, run_id),
                                 after=schedule_tick(defs, instance))
        sensor["after run"] = sensor_tick(defs, instance, sensor["after edit"].cursor)
        sensor["again"] = sensor_tick(defs, instance, sensor["after run"].cursor)
        forced = schedule_tick(defs, instance, refresh_schedule("forced_refresh", force=True))
    return {"series": series, "sensor": sensor, "defs": defs, "forced": forced}


@pytest.mark.slow
def test_nothing_changed_skips_the_tick_and_the_run_computes_nothing(launch_series):
    nothing = launch_series["series"]["nothing"]
    assert nothing["request"] is None
    assert nothing["computed"] == {}
    assets = registered_assets(launch_series["defs"]).values()
    slices = sum(len(a.assets_def.partitions_def.get_partition_keys()) if a.partitioned else 1 for a in assets)
    assert f"nothing changed: checked schedule weekly_refresh ({len(assets)} assets, {slices} slices)" in nothing["skip"]


@pytest.mark.slow
@pytest.mark.parametrize("label", ["source edited", "release relabelled", "weight changed", "table tampered",
                                   "checkpoint deleted"])
def test_the_request_holds_everything_the_run_computes(launch_series, label):
    step = launch_series["series"][label]
    assert step["request"] is not None, f"{label}: the tick skipped ({step['skip']})"
    missed = set(step["computed"]) - requested_names(step["request"])
    assert not missed, f"{label}: the run computed {sorted(missed)}, which the tick did not request"
    assert step["computed"], f"{label}: the change should make the run compute something"
    # After the run, nothing is left to do.
    assert not step["after"].run_requests, step["after"].run_requests


@pytest.mark.slow
def test_an_edited_source_requests_exactly_its_downstream_with_reasons(launch_series):
    request = launch_series["series"]["source edited"]["request"]
    defs = launch_series["defs"]
    assert requested_names(request) == downstream_of(defs, {EDITED_SOURCE})
    assert EDITED_SOURCE in request.tags["usher/stale"] and "sha256 changed" in request.tags["usher/stale"]
    assert all(len(value) <= 255 for value in request.tags.values())
    assert request.tags["dagster/asset_partition_range_start"] == "1"
    assert request.tags["dagster/asset_partition_range_end"] == "MT"
    assert request.tags["dagster/schedule_name"] == "weekly_refresh"


@pytest.mark.slow
def test_a_tampered_slice_requests_its_partition_and_what_reads_it(launch_series):
    request = launch_series["series"]["table tampered"]["request"]
    assert "localization_evidence" in requested_names(request)
    assert "checkpoint not intact" in request.tags["usher/stale"]
    assert (request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]) \
        == ("X", "X")


@pytest.mark.slow
def test_a_weight_change_requests_only_unpartitioned_scoring(launch_series):
    request = launch_series["series"]["weight changed"]["request"]
    assert "gene_scores" in requested_names(request)
    assert "dagster/asset_partition_range_start" not in request.tags  # no partitioned asset requested
    assert "config section scoring" in request.tags["usher/stale"] or "scoring" in request.tags["usher/stale"]


@pytest.mark.slow
def test_the_sensor_sees_an_edited_file_and_skips_when_nothing_changed(launch_series):
    sensor = launch_series["sensor"]
    assert not sensor["before"].run_requests, "the clone is fully built: nothing to request on the first tick"
    assert "nothing changed" in sensor["before"].skip_message
    request = only_request(sensor["after edit"])
    assert EDITED_SOURCE in request.tags["usher/changed_sources"]
    assert requested_names(request) == downstream_of(launch_series["defs"], {EDITED_SOURCE})
    assert request.run_key.startswith("sources-")
    # The path of the relabelled/edited config moved on since: the next ticks see no file change.
    assert "no source file changed" in sensor["again"].skip_message


@pytest.mark.slow
def test_a_forced_schedule_requests_everything_with_the_force_tag(launch_series):
    request = only_request(launch_series["forced"])
    assert requested_names(request) == {k.to_user_string() for k in
                                        launch_series["defs"].resolve_all_asset_keys()}
    assert request.tags["usher/force"] == "all"
    assert (request.tags["dagster/asset_partition_range_start"],
            request.tags["dagster/asset_partition_range_end"]) == tuple(full_range_tags().values())


@pytest.mark.slow
def test_an_unchanged_refresh_reuses_every_partition(launch_series):
    unchanged = launch_series["series"]["nothing"]["checkpoints"]
    assert set(unchanged) == all_asset_keys(launch_series["defs"])
    assert recomputed(unchanged) == set()


@pytest.mark.slow
def test_a_release_change_recomputes_its_readers_and_everything_downstream(launch_series):
    defs = launch_series["defs"]
    readers = sources_readers(defs, RELABELLED)
    changed = launch_series["series"]["release relabelled"]["checkpoints"]
    expected = downstream_of(defs, readers)
    assert readers == {"go_terms"}
    assert {"annotation_evidence", "gene_scores", "candidates"} <= expected
    assert recomputed(changed) == expected
    # Same file, so the same tables: every recomputed slice compares equal and is not rewritten.
    assert {name: changed[name] for name in expected if changed[name] != {"unchanged"}} == {}


@pytest.mark.slow
def test_a_content_change_recomputes_the_source_and_everything_downstream(launch_series):
    changed = launch_series["series"]["source edited"]["checkpoints"]
    expected = downstream_of(launch_series["defs"], {EDITED_SOURCE})
    assert {"localization_evidence", "gene_scores", "candidates"} <= expected
    assert recomputed(changed) == expected
    assert changed[EDITED_SOURCE] == {"written"}


def test_non_contiguous_stale_partitions_get_the_covering_range(tmp_path):
    defs = build_definitions(str(write_config(tmp_path)))
    graph = defs.resolve_asset_graph()
    plan = LaunchPlan(1, 25, requested={dg.AssetKey("localization_evidence"): {"2": "a", "7": "b"},
                                        dg.AssetKey("gene_scores"): {None: "c"}})
    assert covering_range(graph, plan) == ("2", "7")
    assert covering_range(graph, LaunchPlan(1, 1, requested={dg.AssetKey("gene_scores"): {None: "c"}})) is None


def test_an_empty_store_requests_everything_over_the_whole_range(tmp_path):
    defs = build_definitions(str(write_config(tmp_path)))
    with dg.DagsterInstance.ephemeral() as instance:
        request = only_request(schedule_tick(defs, instance))
    assert requested_names(request) == {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    assert "no checkpoint yet" in request.tags["usher/stale"]
    assert request.tags["dagster/asset_partition_range_start"] == "1"
    assert request.tags["dagster/asset_partition_range_end"] == "MT"
