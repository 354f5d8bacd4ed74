"""HPA parsers: the bundled subcellular_location.tsv (v19-era) and a normal_tissue.tsv fixture."""

from pathlib import Path

import polars as pl
import pytest

from usher_assets.sources.formats import SourceFormatError
from usher_assets.sources.hpa import parse_hpa_normal_tissue, parse_hpa_subcellular

ROOT = Path(__file__).resolve().parents[1]
NORMAL_TISSUE_FIXTURE = ROOT / "usher_assets_tests" / "data" / "sources" / "hpa_normal_tissue_tiny.tsv"


@pytest.fixture(scope="module")
def subcellular() -> pl.DataFrame:
    return parse_hpa_subcellular(ROOT / "data" / "subcellular_location.tsv")


def test_parse_hpa_subcellular_counts_match_sources_md(subcellular):
    assert subcellular.height == 12_390
    assert subcellular.columns == ["ensembl_gene_id", "gene_symbol", "reliability", "main_locations",
                                   "additional_locations"]
    counts = dict(subcellular["reliability"].value_counts().iter_rows())
    assert counts == {"Approved": 6_263, "Supported": 3_976, "Enhanced": 1_484, "Uncertain": 667}
    centrosome = subcellular.filter(pl.col("main_locations").list.contains("Centrosome"))
    assert centrosome.height == 220


def test_parse_hpa_subcellular_splits_locations(subcellular):
    tspan6 = subcellular.filter(pl.col("ensembl_gene_id") == "ENSG00000000003").row(0, named=True)
    assert tspan6["gene_symbol"] == "TSPAN6"
    assert tspan6["main_locations"] == ["Cell Junctions", "Cytosol"]
    assert tspan6["additional_locations"] == ["Nucleoli fibrillar center"]
    c1orf112 = subcellular.filter(pl.col("gene_symbol") == "C1orf112").row(0, named=True)
    assert c1orf112["additional_locations"] == []


def test_parse_hpa_normal_tissue_fixture():
    tissue = parse_hpa_normal_tissue(NORMAL_TISSUE_FIXTURE)
    assert tissue.columns == ["ensembl_gene_id", "gene_symbol", "tissue", "cell_type", "level", "reliability"]
    assert tissue.height == 4
    assert tissue.filter(pl.col("gene_symbol") == "MYO7A", pl.col("tissue") == "retina")["level"].to_list() == ["High"]


@pytest.mark.parametrize(("column", "bad_value"), [("Level", "Very high"), ("Reliability", "Validated")])
def test_parse_hpa_normal_tissue_rejects_unknown_category(tmp_path, column, bad_value):
    lines = NORMAL_TISSUE_FIXTURE.read_text().splitlines()
    fields = lines[2].split("\t")
    fields[lines[0].split("\t").index(column)] = bad_value
    lines[2] = "\t".join(fields)
    path = tmp_path / "normal_tissue.tsv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SourceFormatError) as raised:
        parse_hpa_normal_tissue(path)
    assert (raised.value.line, raised.value.column) == (3, column)
    assert bad_value in str(raised.value)


def test_parse_hpa_subcellular_rejects_non_ensembl_gene(tmp_path):
    path = tmp_path / "subcellular_location.tsv"
    path.write_text("Gene\tGene name\tReliability\tMain location\tAdditional location\n"
                    "MYO7A\tMYO7A\tApproved\tCytosol\t\n")
    with pytest.raises(SourceFormatError) as raised:
        parse_hpa_subcellular(path)
    assert (raised.value.line, raised.value.column) == (2, "Gene")
