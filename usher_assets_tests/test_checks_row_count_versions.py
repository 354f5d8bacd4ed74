"""The row-count check compares with the previous *different* version, summed over a partitioned table's slices.

A chromosome-partitioned asset (the evidence layers' pipeline_asset) on a real store and instance, run
over the whole range: twice unchanged, then one chromosome shrinks, then again unchanged.
"""

import dagster as dg
import polars as pl
import pytest

from usher_assets.assets.declare import pipeline_asset
from usher_assets.schemas import CHROMOSOME, HGNC_ID
from usher_assets.storage import CheckpointConfig, check_definitions
from usher_assets.storage.launch import RANGE_END_TAG, RANGE_START_TAG
from usher_assets.storage.table_checks import id_checks


class LayerConfig(CheckpointConfig):
    chromosome_2_genes: int = 100


@pipeline_asset(group="evidence", code_version="1", partitioned=True, config_class=LayerConfig,
                checks=id_checks(HGNC_ID))
def chk_layer(config):
    """One row per gene of a test layer on chromosomes 1 and 2."""
    genes = [(f"HGNC:{n}", "1") for n in range(100)]
    genes += [(f"HGNC:{1000 + n}", "2") for n in range(config.chromosome_2_genes)]
    return pl.DataFrame(genes, schema={HGNC_ID: pl.String, CHROMOSOME: pl.String}, orient="row")


RUNS = [("good", 100), ("again", 100), ("shrunk", 20), ("shrunk_again", 20)]


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    from conftest import write_config
    from usher_assets.resources import PipelineResource
    from usher_assets.storage.io_manager import DuckDBIOManager

    directory = tmp_path_factory.mktemp("row_count")
    resources = {"io_manager": DuckDBIOManager(database=str(directory / "usher.duckdb"), lock_timeout=30),
                 "pipeline": PipelineResource(config_path=str(write_config(directory)))}
    (directory / "dagster_home").mkdir()
    seen = {}
    with dg.DagsterInstance.local_temp(str(directory / "dagster_home")) as instance:
        for label, genes in RUNS:
            result = dg.materialize(
                [chk_layer, *check_definitions([chk_layer])], resources=resources, instance=instance,
                tags={RANGE_START_TAG: "1", RANGE_END_TAG: "MT"},
                run_config={"ops": {"chk_layer": {"config": {"chromosome_2_genes": genes}}}})
            [evaluation] = result.get_asset_check_evaluations()  # the table's one check; row_count its only rule
            seen[label] = (evaluation.passed, {k.removeprefix("row_count/"): v.value
                                               for k, v in evaluation.metadata.items() if k.startswith("row_count")})
    return seen


def test_row_count_an_unchanged_rerun_is_not_a_new_version(findings):
    for label in ("good", "again"):
        passed, metadata = findings[label]
        assert passed and metadata["rows"] == 200, label
        assert metadata["row_count"].startswith("200 rows, the only version so far"), label


def test_row_count_sums_slices_and_fails_against_the_previous_different_version(findings):
    passed, metadata = findings["shrunk"]
    assert not passed
    assert (metadata["rows"], metadata["previous_rows"]) == (120, 200)
    assert metadata["row_count"] == "120 rows, previous version 200 (-40.0%)"


def test_row_count_an_unchanged_rerun_keeps_comparing_with_the_version_before(findings):
    # Reusing the shrunk table does not make it its own baseline: the finding stands until a new version.
    assert findings["shrunk_again"] == findings["shrunk"]
