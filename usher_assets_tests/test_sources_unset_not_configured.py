"""An unset source, through the real CLI build: "not configured" in its asset's materialization, its evidence NULL.

The bundled config leaves gnomad_constraint, gtex_median_tpm and hpa_normal_tissue unset (README,
"Configuring sources"); the session's golden build materialized them that way.
"""

import dagster as dg
import pytest
import yaml

from usher_assets.config import DEFAULT_CONFIG_PATH
from usher_assets.storage import PipelineStore

pytestmark = pytest.mark.slow
UNSET = ["gnomad_constraint", "gtex_median_tpm", "hpa_normal_tissue"]
# Evidence columns each unset source alone feeds, and a column of the same layer that a set source feeds.
EVIDENCE_OF = {
    "gnomad_constraint": ("constraint_evidence", ["gnomad_pli", "gnomad_loeuf", "gnomad_pli_rank", "gnomad_loeuf_rank"],
                          "exac_pli"),
    "gtex_median_tpm": ("expression_evidence", ["gtex_v8_ciliated_tpm_max", "gtex_v8_ciliated_log2fc",
                                                "gtex_v8_expressed", "gtex_v8_enrichment_rank"], "te_hpa_expressed"),
    "hpa_normal_tissue": ("expression_evidence", ["hpa_ihc_ciliated_level"], "te_gtex_expressed"),
}


@pytest.fixture(scope="module")
def golden_materializations(golden_build) -> dict[str, dg.AssetMaterialization]:
    """The latest materialization of each unset source in the golden build's own Dagster instance."""
    with dg.DagsterInstance.from_config(str(golden_build / "dagster_home")) as instance:
        found = {}
        for name in UNSET:
            event = instance.get_latest_materialization_event(dg.AssetKey(name))
            assert event is not None, f"{name} was never materialized in the golden build"
            found[name] = event.asset_materialization
        return found


def test_the_bundled_config_leaves_them_unset():
    sources = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())["sources"]
    assert {name: sources[name] for name in UNSET} == {name: None for name in UNSET}


@pytest.mark.parametrize("source", UNSET)
def test_unset_source_materialization_says_not_configured(golden_materializations, source):
    metadata = golden_materializations[source].metadata
    assert metadata["configured"].value is False
    assert metadata["note"].value == f"source {source} is not configured; its evidence stays NULL"
    assert metadata["dagster/row_count"].value == 0


@pytest.mark.parametrize("source", UNSET)
def test_unset_source_leaves_its_evidence_null(golden_build, source):
    layer, columns, configured_column = EVIDENCE_OF[source]
    with PipelineStore(golden_build / "usher.duckdb") as store:
        frame = store.load_dataframe(layer, schema="evidence")
        table = store.load_dataframe(source, schema="sources")
    assert table.height == 0
    assert frame.height > 19_000
    assert {c: frame[c].null_count() for c in columns} == {c: frame.height for c in columns}
    assert frame[configured_column].null_count() < frame.height  # the layer itself has data from its set sources
