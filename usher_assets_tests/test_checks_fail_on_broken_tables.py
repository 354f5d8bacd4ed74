"""Asset checks on real stored tables that are broken: unique, not-null and row-count checks fail, and
the Dagster instance records the failed evaluation with its finding (what the UI's Checks tab shows).

The source parsers refuse duplicate and missing IDs before anything is stored, so no bundled source
file can reach these checks broken; the asset here is built with the same checkpointed_asset and
id_checks as the source assets, and hands them a broken frame. DuckDB and Dagster are real.
"""

import dagster as dg
import polars as pl
import pytest

from usher_assets.assets.declare import pipeline_asset
from usher_assets.schemas import HGNC_ID
from usher_assets.storage import CheckpointConfig, check_definitions
from usher_assets.storage.table_checks import id_checks


class GenesConfig(CheckpointConfig):
    variant: str = "good"
    rows: int = 100


def _genes(variant: str, rows: int) -> pl.DataFrame:
    ids = [f"HGNC:{n}" for n in range(1, rows + 1)]
    if variant == "duplicate":
        ids[-1] = ids[0]
    if variant == "null":
        ids[-1] = None
    return pl.DataFrame({HGNC_ID: ids, "gene_symbol": [f"G{n}" for n in range(rows)]},
                        schema={HGNC_ID: pl.String, "gene_symbol": pl.String})


@pipeline_asset(group="sources", code_version="1", config_class=GenesConfig, checks=id_checks(HGNC_ID))
def chk_genes(config):
    """One row per gene of a test table, broken as its config says."""
    return _genes(config.variant, config.rows)


CHECKS = ["unique_hgnc_id", "not_null_hgnc_id", "row_count"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Four materializations on one store and one instance: good, duplicated ID, NULL IDs, half the rows."""
    from conftest import write_config
    from usher_assets.resources import PipelineResource
    from usher_assets.storage.io_manager import DuckDBIOManager

    directory = tmp_path_factory.mktemp("checks")
    resources = {"io_manager": DuckDBIOManager(database=str(directory / "usher.duckdb"), lock_timeout=30),
                 "pipeline": PipelineResource(config_path=str(write_config(directory)))}
    (directory / "dagster_home").mkdir()
    with dg.DagsterInstance.local_temp(str(directory / "dagster_home")) as instance:
        results = {}
        for label, variant, rows in [("good", "good", 100), ("duplicate", "duplicate", 100),
                                     ("null", "null", 100), ("shrunk", "good", 50)]:
            result = dg.materialize([chk_genes, *check_definitions([chk_genes])], resources=resources, instance=instance, raise_on_error=False,
                                    run_config={"ops": {"chk_genes": {"config": {"variant": variant, "rows": rows}}}})
            assert result.success, label  # a failed check flags the asset; it does not fail the run
            results[label] = {e.check_name: e for e in result.get_asset_check_evaluations()}
        history = {}
        for name in CHECKS:
            key = dg.AssetCheckKey(dg.AssetKey("chk_genes"), name)
            records = instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
            history[name] = [r.event.dagster_event.event_specific_data for r in reversed(records)]
        yield results, history


def test_a_good_table_passes_every_check(runs):
    results, _ = runs
    assert {name: e.passed for name, e in results["good"].items()} == dict.fromkeys(CHECKS, True)
    assert results["good"]["row_count"].metadata["finding"].value.startswith("100 rows, the only version so far")


def test_unique_check_fails_on_a_duplicated_id(runs):
    results, _ = runs
    evaluation = results["duplicate"]["unique_hgnc_id"]
    assert evaluation.passed is False
    assert evaluation.metadata["duplicate_examples"].value == "[['HGNC:1']]"
    assert evaluation.metadata["finding"].value == "duplicated ('hgnc_id',): [['HGNC:1']]"
    assert results["duplicate"]["not_null_hgnc_id"].passed is True


def test_not_null_check_fails_on_null_ids(runs):
    results, _ = runs
    evaluation = results["null"]["not_null_hgnc_id"]
    assert evaluation.passed is False
    assert evaluation.metadata["null_rows"].value == 1
    assert evaluation.metadata["finding"].value == "1 rows with NULL ('hgnc_id',)"
    assert results["null"]["unique_hgnc_id"].passed is True


def test_row_count_check_fails_when_a_table_halves(runs):
    results, _ = runs
    evaluation = results["shrunk"]["row_count"]
    assert evaluation.passed is False
    assert (evaluation.metadata["rows"].value, evaluation.metadata["previous_rows"].value) == (50, 100)
    assert evaluation.metadata["finding"].value == "50 rows, previous version 100 (-50.0%)"
    assert results["shrunk"]["unique_hgnc_id"].passed and results["shrunk"]["not_null_hgnc_id"].passed


def test_instance_records_each_failed_evaluation_as_the_ui_shows_it(runs):
    _, history = runs
    outcomes = {name: [(e.passed, e.metadata["finding"].value) for e in evaluations]
                for name, evaluations in history.items()}
    assert [passed for passed, _ in outcomes["unique_hgnc_id"]] == [True, False, True, True]
    assert [passed for passed, _ in outcomes["not_null_hgnc_id"]] == [True, True, False, True]
    assert [passed for passed, _ in outcomes["row_count"]] == [True, True, True, False]
    assert outcomes["not_null_hgnc_id"][2][1] == "1 rows with NULL ('hgnc_id',)"
    assert all(e.severity == dg.AssetCheckSeverity.ERROR for evaluations in history.values() for e in evaluations)
