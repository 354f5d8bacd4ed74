"""Asset checks on real stored tables that are broken: the table's `table_integrity` check fails and names
the unique, not-null or row-count rule that broke, and the Dagster instance records the failed evaluation
with each rule's finding (what the UI's Checks tab shows).

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
from usher_assets.storage.table_checks import TABLE_CHECK_NAME, id_checks


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


RULES = ["unique_hgnc_id", "not_null_hgnc_id", "row_count"]


def failed_rules(evaluation) -> set[str]:
    named = evaluation.metadata["failed_rules"].value
    return set() if named == "none" else set(named.split(", "))


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
            [results[label]] = result.get_asset_check_evaluations()  # one check per table
        key = dg.AssetCheckKey(dg.AssetKey("chk_genes"), TABLE_CHECK_NAME)
        records = instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
        history = [r.event.dagster_event.event_specific_data for r in reversed(records)]
        yield results, history


def test_a_good_table_passes_every_rule(runs):
    results, _ = runs
    good = results["good"]
    assert good.check_name == TABLE_CHECK_NAME and good.passed is True
    assert failed_rules(good) == set() and good.description == "all 3 rules hold"
    assert set(RULES) <= set(good.metadata)
    assert good.metadata["row_count"].value.startswith("100 rows, the only version so far")


def test_unique_rule_fails_on_a_duplicated_id(runs):
    results, _ = runs
    evaluation = results["duplicate"]
    assert evaluation.passed is False and failed_rules(evaluation) == {"unique_hgnc_id"}
    assert evaluation.description == "1 of 3 rules failed: unique_hgnc_id"
    assert evaluation.metadata["unique_hgnc_id/duplicate_examples"].value == "[['HGNC:1']]"
    assert evaluation.metadata["unique_hgnc_id"].value == "duplicated ('hgnc_id',): [['HGNC:1']]"


def test_not_null_rule_fails_on_null_ids(runs):
    results, _ = runs
    evaluation = results["null"]
    assert evaluation.passed is False and failed_rules(evaluation) == {"not_null_hgnc_id"}
    assert evaluation.metadata["not_null_hgnc_id/null_rows"].value == 1
    assert evaluation.metadata["not_null_hgnc_id"].value == "1 rows with NULL ('hgnc_id',)"


def test_row_count_rule_fails_when_a_table_halves(runs):
    results, _ = runs
    evaluation = results["shrunk"]
    assert evaluation.passed is False and failed_rules(evaluation) == {"row_count"}
    assert (evaluation.metadata["row_count/rows"].value, evaluation.metadata["row_count/previous_rows"].value) == (50, 100)
    assert evaluation.metadata["row_count"].value == "50 rows, previous version 100 (-50.0%)"


def test_instance_records_each_failed_evaluation_as_the_ui_shows_it(runs):
    _, history = runs
    assert [(e.passed, e.metadata["failed_rules"].value) for e in history] == [
        (True, "none"), (False, "unique_hgnc_id"), (False, "not_null_hgnc_id"), (False, "row_count")]
    assert history[2].metadata["not_null_hgnc_id"].value == "1 rows with NULL ('hgnc_id',)"
    assert all(e.severity == dg.AssetCheckSeverity.ERROR for e in history)
