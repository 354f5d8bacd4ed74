"""checkpointed_asset through real dg.materialize: what is reused, what is recomputed, and what is never loaded."""

import shutil
from collections import Counter
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal

from usher_assets.config import DEFAULT_CONFIG_PATH
from usher_assets.resources import PipelineResource
from usher_assets.schemas import CHROMOSOMES
from usher_assets.storage import FORCE_TAG, CheckpointConfig, DeclaredInputs, checkpointed_asset, open_store
from usher_assets.storage.io_manager import DuckDBIOManager

CALLS: Counter = Counter()  # asset name -> body calls
LOADS: Counter = Counter()  # table name -> load_slices calls

UNIVERSE = pl.DataFrame({
    "hgnc_id": ["HGNC:7606", "HGNC:12601", "HGNC:10518", "HGNC:2200"],
    "gene_symbol": ["MYO7A", "USH2A", "CLRN1", "CDH23"],
    "chromosome": ["11", "1", "3", "10"],
})
CHROMOSOME_PARTITIONS = dg.StaticPartitionsDefinition(CHROMOSOMES)


class CountingIOManager(DuckDBIOManager):
    """The real I/O manager, counting the tables it loads (class-level: Dagster copies resources).

    load_slices is what both the decorator (before a body runs) and load_input (a plain downstream) call.
    """

    def load_slices(self, target, keys, columns, where):
        LOADS[target.ref.table] += 1
        return super().load_slices(target, keys, columns, where)


class WeightedConfig(CheckpointConfig):
    scale: float = 1.0
    fail: bool = False


class BumpConfig(CheckpointConfig):
    bump_chromosome: str | None = None


def scoring_section(resources) -> DeclaredInputs:
    """What ck_weighted reads besides its upstream: the pipeline config's scoring section."""
    return DeclaredInputs(parts={"config:scoring": resources.pipeline.config.section_hash("scoring")})


@checkpointed_asset(metadata={"schema": "sources"}, code_version="1")
def ck_universe():
    """One row per test gene."""
    CALLS["ck_universe"] += 1
    return UNIVERSE


@checkpointed_asset(metadata={"schema": "sources"}, code_version="1")
def ck_unrelated():
    """One row: an asset no other test asset depends on."""
    CALLS["ck_unrelated"] += 1
    return pl.DataFrame({"answer": [42]})


@checkpointed_asset(metadata={"schema": "evidence"}, code_version="1", declared_inputs=scoring_section,
                    required_resource_keys={"pipeline"})
def ck_weighted(context: dg.AssetExecutionContext, config: WeightedConfig, ck_universe: pl.DataFrame):
    """One row per gene: the constraint weight, scaled by run config."""
    CALLS["ck_weighted"] += 1
    if config.fail:
        raise RuntimeError("ck_weighted failed on purpose")
    weight = context.resources.pipeline.config.scoring.weights["constraint"] * config.scale
    return dg.Output(ck_universe.select("hgnc_id", pl.lit(weight).alias("weight")), metadata={"weight": weight})


@checkpointed_asset(metadata={"schema": "scoring"}, code_version="1")
def ck_ranked(ck_universe: pl.DataFrame, ck_weighted: pl.DataFrame):
    """One row per gene, best first."""
    CALLS["ck_ranked"] += 1
    return ck_universe.join(ck_weighted, on="hgnc_id").sort("gene_symbol")


@checkpointed_asset(metadata={"schema": "evidence", "partition_expr": "chromosome"}, code_version="1",
                    partitions_def=CHROMOSOME_PARTITIONS, backfill_policy=dg.BackfillPolicy.single_run())
def ck_by_chromosome(config: BumpConfig, ck_universe: pl.DataFrame):
    """One row per gene, stored per chromosome."""
    CALLS["ck_by_chromosome"] += 1
    bumped = pl.col("chromosome") == (config.bump_chromosome or "")
    return ck_universe.with_columns(value=pl.when(bumped).then(2.0).otherwise(1.0))


@checkpointed_asset(metadata={"schema": "scoring"}, code_version="1")
def ck_chromosome_total(ck_by_chromosome: pl.DataFrame):
    """One row: the sum over every chromosome slice."""
    CALLS["ck_chromosome_total"] += 1
    return ck_by_chromosome.select(pl.len().alias("genes"), pl.col("value").sum())


GRAPH = [ck_universe, ck_unrelated, ck_weighted, ck_ranked]
PARTITIONED = [ck_universe, ck_by_chromosome, ck_chromosome_total]
ALL_CHROMOSOMES = {"dagster/asset_partition_range_start": CHROMOSOMES[0],
                   "dagster/asset_partition_range_end": CHROMOSOMES[-1]}


@pytest.fixture(autouse=True)
def _reset_counters():
    CALLS.clear()
    LOADS.clear()


LOCATIONS = {"duckdb": "usher.duckdb", "delta": "delta"}


def _resources(config_path, location, backend) -> dict:
    return {"io_manager": CountingIOManager(database=str(location), backend=backend, lock_timeout=30),
            "pipeline": PipelineResource(config_path=str(config_path))}


@pytest.fixture(scope="module", params=list(LOCATIONS))
def built(request, tmp_path_factory):
    """A store (each backend) where GRAPH was materialized once, with the checkpoints' state; tests copy it."""
    from conftest import write_config

    directory = tmp_path_factory.mktemp("built")
    config_path = write_config(directory)
    location = directory / LOCATIONS[request.param]
    result = dg.materialize(GRAPH, resources=_resources(config_path, location, request.param))
    store = open_store(location, request.param)
    return location, {c.table_name: c for c in store.list_checkpoints()}, result, request.param


@pytest.fixture
def location(built, tmp_path) -> Path:
    return tmp_path / LOCATIONS[built[3]]


@pytest.fixture
def store(built, location):
    """The test's own copy of the built store (the copy is made by `run`)."""
    return open_store(location, built[3])


@pytest.fixture
def run(built, location, pipeline_config_path):
    """dg.materialize on a copy of the built store: run(assets=GRAPH, config_path=None, **kwargs)."""
    if location.suffix == ".duckdb":
        shutil.copy(built[0], location)
    else:
        shutil.copytree(built[0], location)
    CALLS.clear()

    def materialize(assets=GRAPH, config_path=None, **kwargs):
        resources = _resources(config_path or pipeline_config_path, location, built[3])
        return dg.materialize(assets, resources=resources, **kwargs)

    return materialize


def _events(result) -> dict[str, dg.AssetMaterialization]:
    """Asset -> its (last) materialization in the run; unpartitioned assets have exactly one."""
    return {e.materialization.asset_key.to_user_string(): e.materialization
            for e in result.get_asset_materialization_events()}


def _partition_events(result, name: str) -> dict[str, dg.AssetMaterialization]:
    """Partition -> the materialization of that partition of `name` in the run."""
    found = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        if materialization.asset_key.to_user_string() == name:
            assert materialization.partition not in found, f"{name}[{materialization.partition}] recorded twice"
            found[materialization.partition] = materialization
    return found


def _statuses(result) -> dict[str, str]:
    return {name: m.metadata["checkpoint"].value for name, m in _events(result).items()}


def _partition_statuses(result, name: str) -> dict[str, str]:
    return {k: m.metadata["checkpoint"].value for k, m in _partition_events(result, name).items()}


def test_first_materialization_writes_every_asset(built):
    _, checkpoints, result, _backend = built
    assert _statuses(result) == dict.fromkeys(["ck_universe", "ck_unrelated", "ck_weighted", "ck_ranked"], "written")
    assert set(checkpoints) == {"ck_universe", "ck_unrelated", "ck_weighted", "ck_ranked"}
    assert checkpoints["ck_universe"].schema_name == "sources"
    assert checkpoints["ck_ranked"].row_count == 4
    parts = checkpoints["ck_weighted"].fingerprint_parts
    assert parts.keys() >= {"config:scoring", "run_config", "upstream:ck_universe", "code_version"}


def test_second_materialization_reuses_every_checkpoint(run, built, store):
    result = run()
    assert CALLS == Counter()
    assert LOADS == Counter()  # a reused asset does not load its inputs
    assert _statuses(result) == dict.fromkeys(["ck_universe", "ck_unrelated", "ck_weighted", "ck_ranked"], "reused")
    for name, materialization in _events(result).items():
        fingerprint = materialization.metadata["fingerprint"].value
        assert fingerprint == built[1][name].fingerprint
        assert materialization.tags["dagster/data_version"] == fingerprint
        assert materialization.metadata["dagster/row_count"].value == built[1][name].row_count
    # Domain metadata of the last computation is carried over to the reused materialization.
    assert _events(result)["ck_weighted"].metadata["weight"].value == pytest.approx(0.10)
    assert {c.table_name: c for c in store.list_checkpoints()} == built[1]
    assert_frame_equal(store.load_dataframe("ck_universe", schema="sources"), UNIVERSE)


def test_forced_downstream_loads_the_stored_tables(run, store):
    result = run(tags={FORCE_TAG: "ck_ranked"})
    assert CALLS == Counter({"ck_ranked": 1})
    assert LOADS == Counter({"ck_universe": 1, "ck_weighted": 1})
    assert _statuses(result)["ck_ranked"] == "unchanged"
    ranked = store.load_dataframe("ck_ranked", schema="scoring")
    assert ranked["gene_symbol"].to_list() == ["CDH23", "CLRN1", "MYO7A", "USH2A"]
    assert ranked["weight"].to_list() == pytest.approx([0.10] * 4)


def test_run_config_change_recomputes_asset_and_downstream(run, store, built):
    result = run(run_config={"ops": {"ck_weighted": {"config": {"scale": 2.0}}}})
    assert CALLS == Counter({"ck_weighted": 1, "ck_ranked": 1})
    assert _statuses(result) == {"ck_universe": "reused", "ck_unrelated": "reused",
                                 "ck_weighted": "written", "ck_ranked": "written"}
    assert store.load_dataframe("ck_ranked", schema="scoring")["weight"].to_list() == pytest.approx([0.2] * 4)
    assert store.get_checkpoint("ck_universe", schema="sources") == built[1]["ck_universe"]
    # The same run config again: everything is reused.
    CALLS.clear()
    again = run(run_config={"ops": {"ck_weighted": {"config": {"scale": 2.0}}}})
    assert CALLS == Counter() and set(_statuses(again).values()) == {"reused"}


def test_force_in_run_config_is_not_part_of_the_fingerprint(run, built, store):
    result = run(run_config={"ops": {"ck_weighted": {"config": {"force": True}}}})
    assert CALLS == Counter({"ck_weighted": 1})
    assert _statuses(result)["ck_weighted"] == "unchanged"
    assert store.get_checkpoint("ck_weighted", schema="evidence").fingerprint == built[1]["ck_weighted"].fingerprint


def test_code_version_change_recomputes_asset_and_downstream(run, built, store):
    @checkpointed_asset(name="ck_weighted", metadata={"schema": "evidence"}, code_version="2",
                        declared_inputs=scoring_section, required_resource_keys={"pipeline"})
    def ck_weighted_v2(context: dg.AssetExecutionContext, ck_universe: pl.DataFrame):
        """One row per gene: a weight twice the constraint weight."""
        CALLS["ck_weighted"] += 1
        weight = context.resources.pipeline.config.scoring.weights["constraint"] * 2
        return ck_universe.select("hgnc_id", pl.lit(weight).alias("weight"))

    result = run([ck_universe, ck_unrelated, ck_weighted_v2, ck_ranked])
    assert CALLS == Counter({"ck_weighted": 1, "ck_ranked": 1})
    assert _statuses(result) == {"ck_universe": "reused", "ck_unrelated": "reused",
                                 "ck_weighted": "written", "ck_ranked": "written"}
    after = store.get_checkpoint("ck_weighted", schema="evidence")
    changed = {p for p in after.fingerprint_parts if after.fingerprint_parts[p] != built[1]["ck_weighted"]
               .fingerprint_parts.get(p)}
    assert changed == {"code_version", "run_config"}  # run config: WeightedConfig's fields are gone too


def test_upstream_content_change_recomputes_downstream_only(run, store, built):
    @checkpointed_asset(name="ck_universe", metadata={"schema": "sources"}, code_version="2")
    def ck_universe_without_cdh23():
        """One row per test gene, CDH23 dropped."""
        CALLS["ck_universe"] += 1
        return UNIVERSE.filter(pl.col("gene_symbol") != "CDH23")

    result = run([ck_universe_without_cdh23, ck_unrelated, ck_weighted, ck_ranked])
    assert CALLS == Counter({"ck_universe": 1, "ck_weighted": 1, "ck_ranked": 1})
    assert _statuses(result) == {"ck_universe": "written", "ck_unrelated": "reused",
                                 "ck_weighted": "written", "ck_ranked": "written"}
    assert store.load_dataframe("ck_ranked", schema="scoring")["gene_symbol"].to_list() == ["CLRN1", "MYO7A", "USH2A"]
    parts = store.get_checkpoint("ck_ranked", schema="scoring").fingerprint_parts
    old = built[1]["ck_ranked"].fingerprint_parts
    assert {p for p in parts if parts[p] != old.get(p)} == {"upstream:ck_universe", "upstream:ck_weighted"}


def test_config_section_change_recomputes_only_declaring_assets(run, config_writer, store):
    scoring = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())["scoring"]
    scoring["weights"] |= {"constraint": 0.20, "annotation": 0.10}
    result = run(config_path=config_writer("reweighted.yaml", scoring=scoring))
    assert CALLS == Counter({"ck_weighted": 1, "ck_ranked": 1})
    assert _statuses(result)["ck_weighted"] == "written"
    assert store.load_dataframe("ck_weighted", schema="evidence")["weight"].to_list() == pytest.approx([0.2] * 4)


def test_config_section_change_with_equal_output_stops_at_the_asset(run, config_writer, built, store):
    scoring = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())["scoring"]
    scoring["tiers"]["high"] = 0.8  # ck_weighted declares scoring but does not use tiers
    result = run(config_path=config_writer("tiers.yaml", scoring=scoring))
    assert CALLS == Counter({"ck_weighted": 1})
    assert _statuses(result) == {"ck_universe": "reused", "ck_unrelated": "reused",
                                 "ck_weighted": "unchanged", "ck_ranked": "reused"}
    after = store.get_checkpoint("ck_weighted", schema="evidence")
    assert after.created_at == built[1]["ck_weighted"].created_at
    assert after.fingerprint != built[1]["ck_weighted"].fingerprint


@pytest.mark.parametrize("how", ["run-config", "tag-name", "tag-all"])
def test_force_recomputes(run, how):
    if how == "run-config":
        result = run(run_config={"ops": {"ck_universe": {"config": {"force": True}}}})
        forced = {"ck_universe"}
    else:
        result = run(tags={FORCE_TAG: "ck_universe,ck_unrelated" if how == "tag-name" else "all"})
        forced = {"ck_universe", "ck_unrelated"} if how == "tag-name" else set(_statuses(result))
    assert set(CALLS) == forced and set(CALLS.values()) == {1}
    # Recomputed to the same content: the tables are left as they are, and nothing downstream reruns.
    assert {n for n, s in _statuses(result).items() if s == "unchanged"} == forced


DAMAGE = {
    "missing": "DROP TABLE sources.ck_universe",
    "altered": "UPDATE sources.ck_universe SET gene_symbol = 'MYO7B' WHERE hgnc_id = 'HGNC:7606'",
    "short-of-rows": "DELETE FROM sources.ck_universe WHERE hgnc_id = 'HGNC:12601'",
}


def _damage_delta(table: Path, damage: str) -> None:
    """The same damage done to a Delta table by a writer that goes around the store (its commits carry no checkpoint)."""
    from deltalake import DeltaTable

    if damage == "missing":
        shutil.rmtree(table)
    elif damage == "altered":
        DeltaTable(table).update(updates={"gene_symbol": "'MYO7B'"}, predicate="hgnc_id = 'HGNC:7606'")
    else:
        DeltaTable(table).delete("hgnc_id = 'HGNC:12601'")


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_checkpoint_is_recomputed(run, built, location, store, damage):
    if store.backend == "duckdb":
        with duckdb.connect(str(location)) as con:
            con.execute(DAMAGE[damage])
    else:
        _damage_delta(location / "sources" / "ck_universe", damage)
    assert store.verify_checkpoint(built[1]["ck_universe"]) is not None
    result = run()
    assert CALLS == Counter({"ck_universe": 1})
    assert _statuses(result)["ck_universe"] == "written"
    assert_frame_equal(store.load_dataframe("ck_universe", schema="sources"), UNIVERSE)
    assert store.verify_checkpoint(store.get_checkpoint("ck_universe", schema="sources")) is None
    # Restored to the content downstream was computed from: downstream is reused.
    assert _statuses(result)["ck_ranked"] == "reused"


def test_failing_asset_keeps_previous_table_and_checkpoint(run, store, built):
    def state():
        provenance = store.execute_query("SELECT run_id, fingerprint FROM _provenance WHERE table_name = 'ck_weighted'")
        return (store.load_dataframe("ck_weighted", schema="evidence").rows(),
                store.get_checkpoint("ck_weighted", schema="evidence"), provenance.rows())

    before = state()
    result = run(run_config={"ops": {"ck_weighted": {"config": {"fail": True, "scale": 3.0}}}}, raise_on_error=False)
    assert not result.success
    assert "ck_weighted failed on purpose" in str(result.get_step_failure_events()[0].step_failure_data.error)
    assert state() == before
    assert before[1] == built[1]["ck_weighted"]
    assert "ck_ranked" not in CALLS
    # The previous checkpoint still stands: the run config it was made with is reused.
    CALLS.clear()
    assert set(_statuses(run()).values()) == {"reused"} and CALLS == Counter()


def test_partitioned_asset_writes_and_rewrites_single_slices(run, store):
    first = run(PARTITIONED, tags=ALL_CHROMOSOMES)
    assert CALLS == Counter({"ck_by_chromosome": 1, "ck_chromosome_total": 1})
    checkpoints = {c.partition_key: c for c in store.list_checkpoints(schema="evidence", table_name="ck_by_chromosome")}
    assert set(checkpoints) == set(CHROMOSOMES)
    assert {k: c.row_count for k, c in checkpoints.items() if c.row_count} == {"1": 1, "3": 1, "10": 1, "11": 1}
    assert_frame_equal(store.load_dataframe("ck_by_chromosome", schema="evidence", partition_key="11"),
                       UNIVERSE.filter(hgnc_id="HGNC:7606").with_columns(value=pl.lit(1.0)))
    # The slices live in the asset's own chromosome column, not in a column of the store's.
    assert [c for c, _ in store.table_columns("ck_by_chromosome", schema="evidence")] == [
        "hgnc_id", "gene_symbol", "chromosome", "value"]
    # Each partition's materialization carries its own status, row count and fingerprint.
    events = _partition_events(first, "ck_by_chromosome")
    assert set(events) == set(CHROMOSOMES)
    assert {k: m.metadata["checkpoint"].value for k, m in events.items()} == dict.fromkeys(CHROMOSOMES, "written")
    assert {k: m.metadata["dagster/row_count"].value for k, m in events.items()} == {
        k: c.row_count for k, c in checkpoints.items()}
    assert {k: m.metadata["fingerprint"].value for k, m in events.items()} == {
        k: c.fingerprint for k, c in checkpoints.items()}
    assert store.load_dataframe("ck_chromosome_total", schema="scoring").row(0) == (4, 4.0)

    CALLS.clear()
    second = run(PARTITIONED, tags=ALL_CHROMOSOMES, run_config={"ops": {"ck_by_chromosome": {"config": {
        "bump_chromosome": "1"}}}})
    assert _partition_statuses(second, "ck_by_chromosome") == {
        k: "written" if k == "1" else "unchanged" for k in CHROMOSOMES}
    after = {c.partition_key: c for c in store.list_checkpoints(schema="evidence", table_name="ck_by_chromosome")}
    assert after["1"].created_at > checkpoints["1"].created_at
    assert all(after[k].created_at == checkpoints[k].created_at for k in CHROMOSOMES if k != "1")
    assert all(after[k].fingerprint != checkpoints[k].fingerprint for k in CHROMOSOMES)
    stored = store.load_dataframe("ck_by_chromosome", schema="evidence").sort("hgnc_id")
    assert dict(zip(stored["chromosome"], stored["value"])) == {"1": 2.0, "3": 1.0, "10": 1.0, "11": 1.0}
    assert store.load_dataframe("ck_chromosome_total", schema="scoring").row(0) == (4, 5.0)
    assert CALLS == Counter({"ck_by_chromosome": 1, "ck_chromosome_total": 1})

    CALLS.clear()
    LOADS.clear()
    third = run(PARTITIONED, tags=ALL_CHROMOSOMES, run_config={"ops": {"ck_by_chromosome": {"config": {
        "bump_chromosome": "1"}}}})
    assert CALLS == Counter() and LOADS == Counter()
    assert _partition_statuses(third, "ck_by_chromosome") == dict.fromkeys(CHROMOSOMES, "reused")
    assert _statuses(third)["ck_chromosome_total"] == "reused"


@pytest.mark.parametrize("backend", list(LOCATIONS))
def test_multiprocess_run_finishes_without_lock_errors(config_writer, backend, tmp_path):
    # Steps run in their own processes, two at a time, on one DuckDB file or on Delta tables.
    config_path = config_writer(storage={"database": str(tmp_path / "usher.duckdb"), "backend": backend,
                                         "delta_root": str(tmp_path / "delta"), "output_dir": str(tmp_path / "out"),
                                         "download_dir": str(tmp_path / "downloads"), "lock_timeout_seconds": 30})
    store = open_store(tmp_path / LOCATIONS[backend], backend)
    (tmp_path / "barrier").mkdir()
    # The config and barrier go with the job's pointer: each step's process rebuilds the job from them.
    job = dg.build_reconstructable_job("multiprocess_defs", "multiprocess_job",
                                       reconstructable_kwargs={"config_path": str(config_path),
                                                               "barrier": str(tmp_path / "barrier")},
                                       reconstructor_working_directory=str(Path(__file__).parent / "helpers"))
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = dg.execute_job(job, instance=instance)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        entries = instance.all_logs(result.run_id)
    assert "locked" not in " ".join(e.message or "" for e in entries).lower()
    windows = {}
    for entry in entries:
        if entry.dagster_event and entry.dagster_event.event_type_value in ("STEP_START", "STEP_SUCCESS"):
            windows.setdefault(entry.step_key, []).append(entry.timestamp)
    (a_start, a_end), (b_start, b_end) = windows["mp_layer_a"], windows["mp_layer_b"]
    assert a_start < b_end and b_start < a_end, "the two layers did not run at the same time"
    checkpoints = {c.table_name: c for c in store.list_checkpoints()}
    assert set(checkpoints) == {"mp_layer_a", "mp_layer_b", "mp_scores"}
    assert {c.schema_name for c in checkpoints.values()} == {"evidence", "scoring"}
    assert checkpoints["mp_scores"].row_count == 400_000
    assert all(store.verify_checkpoint(c) is None for c in checkpoints.values())
