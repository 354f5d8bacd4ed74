"""parse_hgnc on the bundled HGNC complete set (release 2024-10-18)."""

from pathlib import Path

import polars as pl
import pytest

from usher_assets.sources.hgnc import HGNC_COLUMNS, parse_hgnc

HGNC_FILE = Path(__file__).resolve().parents[1] / "data" / "hgnc_complete_set.txt.gz"


@pytest.fixture(scope="module")
def hgnc() -> pl.DataFrame:
    return parse_hgnc(HGNC_FILE)


def test_parse_hgnc_keeps_every_record_once(hgnc):
    # SOURCES.md: 43,883 lines = 1 header + 43,882 genes.
    assert hgnc.height == 43_882
    assert hgnc["hgnc_id"].is_unique().all()
    assert hgnc.columns == HGNC_COLUMNS


def test_parse_hgnc_types(hgnc):
    assert hgnc.schema["entrez_id"] == pl.Int64
    for column in ("alias_symbols", "prev_symbols", "gene_groups", "mgd_ids", "uniprot_ids"):
        assert hgnc.schema[column] == pl.List(pl.String)


def test_parse_hgnc_locus_group_counts_match_sources_md(hgnc):
    counts = dict(hgnc["locus_group"].value_counts().iter_rows())
    assert counts == {"protein-coding gene": 19_290, "pseudogene": 14_471, "non-coding RNA": 9_120, "other": 1_001}


def test_parse_hgnc_myo7a_record(hgnc):
    myo7a = hgnc.filter(pl.col("symbol") == "MYO7A").row(0, named=True)
    assert myo7a["hgnc_id"] == "HGNC:7606"
    assert myo7a["ensembl_gene_id"] == "ENSG00000137474"
    assert myo7a["entrez_id"] == 4647
    assert myo7a["location"] == "11q13.5"
    # HGNC wraps multi-valued fields in double quotes; the quotes must not leak into values.
    assert myo7a["prev_symbols"] == ["USH1B", "DFNB2", "DFNA11"]
    assert myo7a["gene_groups"] == ["A-kinase anchoring proteins", "Myosin heavy chains, class VII",
                                    "FERM domain containing"]
    assert myo7a["mgd_ids"] == ["MGI:104510"]
    assert myo7a["uniprot_ids"] == ["Q13402"]


def test_parse_hgnc_empty_multi_valued_field_is_empty_list(hgnc):
    a1bg = hgnc.filter(pl.col("symbol") == "A1BG").row(0, named=True)
    assert a1bg["alias_symbols"] == []
    assert a1bg["prev_symbols"] == []


def test_parse_hgnc_no_quote_characters_left(hgnc):
    exploded = hgnc.select(pl.col("prev_symbols").explode()).drop_nulls()
    assert not exploded.to_series().str.contains('"').any()
    assert not hgnc["ensembl_gene_id"].drop_nulls().str.contains(r"\.").any()
