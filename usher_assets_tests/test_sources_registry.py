"""SOURCE_PARSERS covers every configured source and each parser's output honours UNIQUE_KEYS."""

from pathlib import Path

import pytest

from usher_assets.sources.registry import SOURCE_PARSERS, UNIQUE_KEYS

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "usher_assets_tests" / "data" / "sources"
# tissue_expression (the slow .rda) is checked in test_sources_expression.py.
SOURCE_FILES = {
    "hgnc": ROOT / "data" / "hgnc_complete_set.txt.gz",
    "exac_pli": ROOT / "data" / "ExACpLI_values.txt",
    "loftool": ROOT / "data" / "LoFtool_scores.txt",
    "hpa_subcellular": ROOT / "data" / "subcellular_location.tsv",
    "go_annotations": ROOT / "data" / "orghs_gene_go.tsv.gz",
    "go_gene_info": ROOT / "data" / "orghs_gene_info.tsv.gz",
    "go_terms": ROOT / "data" / "go_terms.tsv.gz",
    "go_parents": ROOT / "data" / "go_parents.tsv.gz",
    "pfam_domains": ROOT / "data" / "orghs_gene_pfam.tsv.gz",
    "ciliaminer": ROOT / "data" / "ciliaminer_secondarylist.json",
    "gnomad_constraint": FIXTURES / "gnomad_v4.1_constraint_metrics_tiny.tsv",
    "gtex_median_tpm": FIXTURES / "gtex_v8_median_tpm_tiny.gct",
    "hpa_normal_tissue": FIXTURES / "hpa_normal_tissue_tiny.tsv",
}
CONFIG_KEYS = {"hgnc", "exac_pli", "loftool", "hpa_subcellular", "go_annotations", "go_gene_info", "go_terms",
               "go_parents", "tissue_expression", "ciliaminer", "gnomad_constraint", "gtex_median_tpm",
               "hpa_normal_tissue", "pfam_domains"}


def test_registry_keys_are_the_config_source_keys():
    assert set(SOURCE_PARSERS) == CONFIG_KEYS
    assert set(UNIQUE_KEYS) == CONFIG_KEYS
    assert set(SOURCE_FILES) == CONFIG_KEYS - {"tissue_expression"}


@pytest.mark.parametrize("source", sorted(SOURCE_FILES))
def test_registry_parser_output_is_unique_on_its_key(source):
    frame = SOURCE_PARSERS[source](SOURCE_FILES[source])
    assert frame.height > 0
    key = UNIQUE_KEYS[source]
    assert set(key) <= set(frame.columns)
    if key:
        assert frame.select(key).is_unique().all()
