"""Expression parsers: TissueEnrich's bundled .rda (HPA and GTEx) and a GTEx v8 median-TPM GCT fixture."""

import gzip
from pathlib import Path

import polars as pl
import pytest

from usher_assets.sources.expression import parse_gtex_median_tpm, parse_tissue_expression
from usher_assets.sources.formats import SourceFormatError
from usher_assets.sources.registry import UNIQUE_KEYS

ROOT = Path(__file__).resolve().parents[1]
GTEX_FIXTURE = ROOT / "usher_assets_tests" / "data" / "sources" / "gtex_v8_median_tpm_tiny.gct"
MYO7A, USH2A = "ENSG00000137474", "ENSG00000042781"


@pytest.fixture(scope="module")
def tissue_expression() -> pl.DataFrame:
    return parse_tissue_expression(ROOT / "data" / "tissueenrich_combine-expression.rda")


def test_parse_tissue_expression_shape(tissue_expression):
    assert tissue_expression.schema == {"dataset": pl.String, "ensembl_gene_id": pl.String, "tissue": pl.String,
                                        "tpm": pl.Float64, "specificity_group": pl.String}
    per_dataset = {d: (rows, genes, tissues) for d, rows, genes, tissues in tissue_expression.group_by("dataset").agg(
        pl.len(), pl.col("ensembl_gene_id").n_unique(), pl.col("tissue").n_unique()).iter_rows()}
    # data/SOURCES.md: 19,613 genes x 35 tissues (HPA), 19,139 x 29 (GTEx); mouse ENCODE skipped.
    assert per_dataset == {"HPA": (19_613 * 35, 19_613, 35), "GTEx": (19_139 * 29, 19_139, 29)}
    assert tissue_expression.select(UNIQUE_KEYS["tissue_expression"]).is_unique().all()


def test_parse_tissue_expression_uses_human_tissue_names(tissue_expression):
    tissues = set(tissue_expression["tissue"])
    assert {"Adipose Tissue", "Adrenal Gland", "Cervix, uterine", "Heart Muscle"} <= tissues
    assert not any("." in tissue for tissue in tissues)  # R column names like "Adrenal.Gland"


def test_parse_tissue_expression_specificity_counts_match_sources_md(tissue_expression):
    counts = {(d, g): n for d, g, n in tissue_expression.drop_nulls("specificity_group")
              .group_by("dataset", "specificity_group").len().iter_rows()}
    assert counts == {("HPA", "Tissue-Enriched"): 2_613, ("HPA", "Group-Enriched"): 3_052,
                      ("HPA", "Tissue-Enhanced"): 5_797, ("GTEx", "Tissue-Enriched"): 1_961,
                      ("GTEx", "Group-Enriched"): 2_710, ("GTEx", "Tissue-Enhanced"): 3_486}


@pytest.mark.parametrize(("dataset", "gene", "groups"), [
    ("HPA", MYO7A, {"Adrenal Gland": "Tissue-Enhanced"}),
    ("HPA", USH2A, {"Liver": "Group-Enriched", "Testis": "Group-Enriched"}),
])
def test_parse_tissue_expression_usher_gene_specificity(tissue_expression, dataset, gene, groups):
    rows = tissue_expression.filter(pl.col("dataset") == dataset, pl.col("ensembl_gene_id") == gene)
    assert dict(rows.drop_nulls("specificity_group").select("tissue", "specificity_group").iter_rows()) == groups


def test_parse_tissue_expression_myo7a_gtex_peaks_in_testis_adrenal_pituitary(tissue_expression):
    rows = tissue_expression.filter(pl.col("dataset") == "GTEx", pl.col("ensembl_gene_id") == MYO7A)
    assert set(rows.sort("tpm", descending=True)["tissue"].head(3)) == {"Testis", "Adrenal Gland", "Pituitary"}


def test_parse_tissue_expression_rejects_non_rda(tmp_path):
    path = tmp_path / "combine-expression.rda"
    path.write_bytes(b"RDX3\nX\n\x00\x00")
    with pytest.raises(SourceFormatError, match="R data file"):
        parse_tissue_expression(path)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_parse_gtex_median_tpm_fixture(tmp_path, compress):
    path = tmp_path / "gene_median_tpm.gct.gz"
    content = GTEX_FIXTURE.read_bytes()
    path.write_bytes(gzip.compress(content) if compress else content)
    gtex = parse_gtex_median_tpm(path)
    assert gtex.columns == ["ensembl_gene_id", "gene_symbol", "tissue", "tpm"]
    # 3 genes x 3 tissues; the PLCXD1 _PAR_Y copy is dropped and versions are stripped.
    assert gtex.height == 9
    assert set(gtex["ensembl_gene_id"]) == {MYO7A, USH2A, "ENSG00000182378"}
    myo7a_testis = gtex.filter(pl.col("ensembl_gene_id") == MYO7A, pl.col("tissue") == "Testis")
    assert myo7a_testis.select("gene_symbol", "tpm").row(0) == ("MYO7A", 40.1)
    assert gtex.select(UNIQUE_KEYS["gtex_median_tpm"]).is_unique().all()


@pytest.mark.parametrize(("edit", "fragment", "line"), [
    (lambda lines: ["#1.3", *lines[1:]], "GCT", 1),
    (lambda lines: lines[:-1], "declares 4 genes x 3 tissues", 2),  # truncated body
    (lambda lines: [*lines[:4], lines[4].replace("0.03", "n/a"), *lines[5:]], "n/a", 5),
    (lambda lines: [*lines[:4], lines[4].replace("0.03", "-1"), *lines[5:]], "[0.0, inf]", 5),
    (lambda lines: [*lines[:4], lines[3], *lines[5:]], "duplicate ID 'ENSG00000137474'", 5),
])
def test_parse_gtex_median_tpm_rejects_malformed(tmp_path, edit, fragment, line):
    path = tmp_path / "gene_median_tpm.gct"
    path.write_text("\n".join(edit(GTEX_FIXTURE.read_text().splitlines())) + "\n")
    with pytest.raises(SourceFormatError) as raised:
        parse_gtex_median_tpm(path)
    assert fragment in str(raised.value)
    assert raised.value.line == line
