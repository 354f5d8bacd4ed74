"""What gene_scores' materialization tells a reader of the UI, in the golden build's own Dagster instance."""

import dagster as dg
import pytest

from usher_assets.config import PipelineConfig
from usher_assets.storage import PipelineStore

pytestmark = pytest.mark.slow


def test_gene_scores_names_the_weights_that_rank_apart_from_the_composites(golden_build):
    with dg.DagsterInstance.from_config(str(golden_build / "dagster_home")) as instance:
        metadata = instance.get_latest_materialization_event(dg.AssetKey("gene_scores")).asset_materialization.metadata
    scoring = PipelineConfig.load(golden_build / "usher.yaml").scoring
    # The ranking score's three parts, as configured: what orders the genes.
    assert metadata["ranking_combination"].value == scoring.combination.model_dump()
    # The layer weights feed only the weighted composite (the second view), re-normalised over the layers present.
    composite = metadata["composite_weights"].value
    assert set(composite) <= set(scoring.weights) and abs(sum(composite.values()) - 1) < 1e-9
    assert "weights_used" not in metadata
    with PipelineStore(golden_build / "usher.duckdb") as store:
        assert metadata["genes_scored"].value == store.load_dataframe("gene_scores", schema="scoring").height
