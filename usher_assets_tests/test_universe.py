"""The gene universe built from HGNC, the symbol resolver and map_to_universe."""

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from usher_assets.schemas import CHROMOSOMES, GENE_UNIVERSE_COLUMNS
from usher_assets.sources.hgnc import parse_hgnc
from usher_assets.sources.universe import (
    MappingReport, SymbolResolver, build_gene_universe, chromosome_from_location, map_to_universe,
)

HGNC_FILE = Path(__file__).resolve().parents[1] / "data" / "hgnc_complete_set.txt.gz"


@pytest.fixture(scope="module")
def hgnc() -> pl.DataFrame:
    return parse_hgnc(HGNC_FILE)


@pytest.fixture(scope="module")
def universe(hgnc) -> pl.DataFrame:
    return build_gene_universe(hgnc)


@pytest.fixture(scope="module")
def resolver(universe) -> SymbolResolver:
    return SymbolResolver(universe)


def test_build_gene_universe_one_row_per_protein_coding_gene(universe):
    assert universe.height == 19_290  # SOURCES.md: protein-coding gene 19,290
    assert universe.columns == GENE_UNIVERSE_COLUMNS
    assert universe["hgnc_id"].is_unique().all()
    assert universe["gene_symbol"].is_unique().all()
    assert universe["ensembl_gene_id"].drop_nulls().is_unique().all()
    assert set(universe["chromosome"].drop_nulls()) <= set(CHROMOSOMES)


def test_build_gene_universe_myo7a(universe):
    row = universe.filter(pl.col("gene_symbol") == "MYO7A").row(0, named=True)
    assert (row["hgnc_id"], row["ensembl_gene_id"], row["entrez_id"], row["chromosome"]) == (
        "HGNC:7606", "ENSG00000137474", 4647, "11")


@pytest.mark.parametrize(("location", "chromosome"), [
    ("11q13.5", "11"),
    ("Xp22.2", "X"),
    ("Yq11", "Y"),
    ("mitochondria", "MT"),
    ("13cen", "13"),
    ("Xp22.33 and Yp11.2", "X"),  # pseudoautosomal: HGNC names X first
    ("12 alternate reference locus", "12"),
    ("not on reference assembly", None),
    ("23q11", None),  # not a human chromosome
    (None, None),
])
def test_chromosome_from_location(location, chromosome):
    frame = pl.DataFrame({"location": [location]}, schema={"location": pl.String})
    assert frame.select(chromosome_from_location(pl.col("location"))).item() == chromosome


@pytest.mark.parametrize(("symbol", "hgnc_id", "match"), [
    ("USH1C", "HGNC:12597", "symbol"),
    ("GPR98", "HGNC:17416", "previous"),  # now ADGRV1
    ("DFNB31", "HGNC:16361", "previous"),  # now WHRN
    ("Myo7a", "HGNC:7606", "symbol"),  # mouse-style capitalisation
    ("USH2D", "HGNC:16361", "alias"),
    ("ADAM23", "HGNC:202", "symbol"),  # also an alias of ADAM28: approved symbol wins
    ("PAP", "HGNC:8601", "previous"),  # previous symbol of REG3A, alias of ACP3: previous wins
    ("CRF", None, "ambiguous"),  # alias of several genes
    ("NOTAGENE1", None, "unmatched"),
    ("", None, "unmatched"),
    (None, None, "unmatched"),
])
def test_symbol_resolver_resolve(resolver, symbol, hgnc_id, match):
    resolved = resolver.resolve([symbol])
    assert resolved.row(0) == (symbol, hgnc_id, match)


@pytest.mark.parametrize(("symbol", "hgnc_id", "match"), [
    ("HLA-H", None, "unmatched"),  # a pseudogene's symbol, also an alias of HFE
    ("SPATA8", None, "unmatched"),  # a non-coding RNA's symbol, also an alias of SPATS1
    ("GPR98", "HGNC:17416", "previous"),
    ("MYO7A", "HGNC:7606", "symbol"),
])
def test_symbol_resolver_with_full_hgnc_keeps_non_coding_symbols_off_coding_genes(universe, hgnc, symbol,
                                                                                   hgnc_id, match):
    resolved = SymbolResolver(universe, hgnc).resolve([symbol])
    assert resolved.row(0) == (symbol, hgnc_id, match)


def test_map_to_universe_with_hgnc_drops_pseudogene_behind_unknown_id(universe, hgnc):
    # org.Hs.eg.db lists HLA-H (Entrez 3136, a pseudogene); its ID is not in the universe,
    # and its symbol must not fall back onto HFE.
    frame = pl.DataFrame({"symbol": ["HLA-H", "HFE"], "entrez": [3136, 3077]})
    mapped, report = map_to_universe(frame, universe, symbol_column="symbol", entrez_column="entrez", hgnc=hgnc)
    assert mapped["symbol"].to_list() == ["HFE"]
    assert (report.matched_by_id, report.unmatched) == (1, 1)


def test_symbol_resolver_keeps_input_order_and_duplicates(resolver):
    resolved = resolver.resolve(["WHRN", "GPR98", "WHRN"])
    assert resolved["hgnc_id"].to_list() == ["HGNC:16361", "HGNC:17416", "HGNC:16361"]
    assert resolved.schema == {"input_symbol": pl.String, "hgnc_id": pl.String, "match": pl.String}


def test_map_to_universe_prefers_stable_ids_over_symbols(universe):
    # The Ensembl ID (with a version suffix) wins over a symbol that names another gene.
    frame = pl.DataFrame({"symbol": ["USH1C"], "ensembl": ["ENSG00000137474.21"]})
    mapped, report = map_to_universe(frame, universe, symbol_column="symbol", ensembl_column="ensembl")
    assert mapped["hgnc_id"].to_list() == ["HGNC:7606"]
    assert report.matched_by_id == 1 and report.matched_by_symbol == 0


@pytest.mark.parametrize(("column", "value"), [
    ("hgnc_column", "HGNC:7606"),
    ("hgnc_column", "7606"),
    ("ensembl_column", "ENSG00000137474"),
    ("entrez_column", 4647),
    ("entrez_column", "4647"),
    ("symbol_column", "myo7a"),
])
def test_map_to_universe_each_key_finds_myo7a(universe, column, value):
    frame = pl.DataFrame({"key": [value]})
    mapped, report = map_to_universe(frame, universe, **{column: "key"})
    assert mapped["hgnc_id"].to_list() == ["HGNC:7606"]
    assert report.rows_in == 1 and report.unmatched == 0


def test_map_to_universe_report_counts_and_drops_unmapped(universe):
    frame = pl.DataFrame({
        "symbol": ["USH1C", "GPR98", "CIP98", "CRF", "NOTAGENE1", "X"],
        "entrez": [None, None, None, None, None, 4647],
    })
    mapped, report = map_to_universe(frame, universe, symbol_column="symbol", entrez_column="entrez")
    assert report == MappingReport(rows_in=6, matched_by_id=1, matched_by_symbol=1, matched_by_previous=1,
                                   matched_by_alias=1, unmatched=1, ambiguous=1, duplicate_genes=0)
    assert mapped["symbol"].to_list() == ["USH1C", "GPR98", "CIP98", "X"]
    assert mapped.columns == ["symbol", "entrez", "hgnc_id"]
    assert report.as_metadata()["ambiguous"] == 1


def test_map_to_universe_symbol_behind_several_ensembl_ids_is_one_gene(universe):
    # One gene listed under two Ensembl IDs (e.g. a patch-region ID), as org.Hs.eg.db does:
    # each input row maps once, and the shared gene is reported for the caller to aggregate.
    frame = pl.DataFrame({"symbol": ["MYO7A", "MYO7A"], "ensembl": ["ENSG00000137474", "ENSG00000999999"]})
    mapped, report = map_to_universe(frame, universe, symbol_column="symbol", ensembl_column="ensembl")
    assert mapped.height == 2
    assert mapped["hgnc_id"].n_unique() == 1
    assert (report.matched_by_id, report.matched_by_symbol, report.duplicate_genes) == (1, 1, 1)


def test_map_to_universe_rejects_existing_hgnc_column(universe):
    frame = pl.DataFrame({"hgnc_id": ["HGNC:7606"], "symbol": ["MYO7A"]})
    with pytest.raises(ValueError, match="already has"):
        map_to_universe(frame, universe, symbol_column="symbol")


def test_map_to_universe_empty_frame(universe):
    frame = pl.DataFrame({"symbol": []}, schema={"symbol": pl.String})
    mapped, report = map_to_universe(frame, universe, symbol_column="symbol")
    assert_frame_equal(mapped, pl.DataFrame(schema={"symbol": pl.String, "hgnc_id": pl.String}))
    assert report.rows_in == 0
