"""Constraint parsers: bundled ExAC pLI and LoFtool files, and a gnomAD v4.1 fixture."""

from pathlib import Path

import polars as pl
import pytest

from usher_assets.sources.constraint import parse_exac_pli, parse_gnomad_constraint, parse_loftool
from usher_assets.sources.formats import SourceFormatError

ROOT = Path(__file__).resolve().parents[1]
GNOMAD_FIXTURE = ROOT / "usher_assets_tests" / "data" / "sources" / "gnomad_v4.1_constraint_metrics_tiny.tsv"


def test_parse_exac_pli_bundled_file():
    exac = parse_exac_pli(ROOT / "data" / "ExACpLI_values.txt")
    # 18,226 lines with no final newline = 1 header + 18,225 genes (data/SOURCES.md).
    assert exac.height == 18_225
    assert exac.schema == {"gene_symbol": pl.String, "pli": pl.Float64}
    values = dict(exac.filter(pl.col("gene_symbol").is_in(["AGRN", "NOC2L", "RPS4Y2"])).iter_rows())
    assert values == pytest.approx({"AGRN": 0.17335234048116, "NOC2L": 1.33038194561114e-19,
                                    "RPS4Y2": 0.00298794938170108})
    assert exac["pli"].min() >= 0 and exac["pli"].max() <= 1


def test_parse_loftool_bundled_file():
    loftool = parse_loftool(ROOT / "data" / "LoFtool_scores.txt")
    assert loftool.height == 14_515  # 14,516 lines, the last without a final newline
    assert loftool.schema == {"gene_symbol": pl.String, "loftool_percentile": pl.Float64}
    values = dict(loftool.filter(pl.col("gene_symbol").is_in(["NIPBL", "HLA-DRB1"])).iter_rows())
    assert values == pytest.approx({"NIPBL": 6.89e-05, "HLA-DRB1": 1.0})


def test_parse_exac_pli_rejects_probability_above_one(tmp_path):
    path = tmp_path / "ExACpLI_values.txt"
    path.write_text("gene\tpLI\nAGRN\t0.17\nNOC2L\t1.5\n")
    with pytest.raises(SourceFormatError) as raised:
        parse_exac_pli(path)
    assert (raised.value.line, raised.value.column) == (3, "pLI")


@pytest.fixture(scope="module")
def gnomad() -> pl.DataFrame:
    return parse_gnomad_constraint(GNOMAD_FIXTURE)


def test_parse_gnomad_constraint_one_row_per_ensembl_gene(gnomad):
    assert gnomad.columns == ["gene_symbol", "ensembl_gene_id", "pli", "loeuf"]
    assert gnomad.schema["pli"] == pl.Float64 and gnomad.schema["loeuf"] == pl.Float64
    # NOTKEPT1 has neither a MANE Select nor a canonical transcript; RefSeq rows are not genes.
    assert sorted(gnomad["gene_symbol"]) == ["MYO7A", "USH2A", "WHRN"]
    assert gnomad["ensembl_gene_id"].is_unique().all()


@pytest.mark.parametrize(("symbol", "pli", "loeuf"), [
    ("MYO7A", 0.12, 0.41),  # the MANE Select row, not the non-canonical or RefSeq rows
    ("USH2A", 1.2e-30, 0.96),  # no MANE Select: the canonical row, although it comes second
    ("WHRN", None, None),  # "NA" in gnomAD is missing, not zero
])
def test_parse_gnomad_constraint_keeps_mane_else_canonical(gnomad, symbol, pli, loeuf):
    row = gnomad.filter(pl.col("gene_symbol") == symbol).row(0, named=True)
    assert (row["pli"], row["loeuf"]) == (pli, loeuf)


def test_parse_gnomad_constraint_rejects_bad_flag(tmp_path):
    lines = GNOMAD_FIXTURE.read_text().splitlines()
    lines[2] = lines[2].replace("\tfalse\tfalse\t", "\tno\tfalse\t", 1)
    path = tmp_path / "constraint.tsv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SourceFormatError) as raised:
        parse_gnomad_constraint(path)
    assert (raised.value.line, raised.value.column) == (3, "canonical")


def test_parse_gnomad_constraint_requires_lof_columns(tmp_path):
    path = tmp_path / "constraint.tsv"
    path.write_text(GNOMAD_FIXTURE.read_text().replace("lof.oe_ci.upper\t", "lof_upper\t", 1))
    with pytest.raises(SourceFormatError, match="lof.oe_ci.upper"):
        parse_gnomad_constraint(path)
