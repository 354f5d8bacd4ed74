"""Sensory-expression and cilia-proximity layers: NULL semantics, scores in [0, 1], Usher-edge exclusion."""

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from usher_assets.evidence.cilia_proximity import cilia_proximity_layer
from usher_assets.evidence.sensory_expression import sensory_expression_layer
from usher_assets.sources.hair_cells import hair_cell_enrichment, parse_hair_cell_expression
from usher_assets.sources.hgnc import parse_hgnc
from usher_assets.sources.interactomes import (
    map_partners_to_universe, parse_bioid_interactions, parse_screen_hits, parse_tap_ms_interactions,
)
from usher_assets.sources.lung_atlas import parse_ciliated_cell_markers
from usher_assets.sources.orthologs import map_mouse_to_human
from usher_assets.sources.universe import SymbolResolver, build_gene_universe, map_to_universe

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
# The Usher genes that are TAP-MS baits in Boldt et al. 2016 (SOURCES.md leakage caution).
USHER_BAITS = ["USH1C", "WHRN", "CDH23", "MYO7A", "USH1G"]
SENSORY_COLUMNS = ["hgnc_id", "hair_cell_log2fc", "hair_cell_groups_enriched", "hair_cell_groups_measured",
                   "ciliated_logfc", "sensory_expression_score"]
PROXIMITY_COLUMNS = ["hgnc_id", "proteome_tier", "proteome_spectral_counts", "bioid_max_saint", "bioid_bait_count",
                     "screen_hit", "tap_ms_partners", "cilia_proximity_score"]


@pytest.fixture(scope="module")
def universe():
    return build_gene_universe(parse_hgnc(DATA_DIR / "hgnc_complete_set.txt.gz"))


def ids(universe, symbols):
    return SymbolResolver(universe).resolve(symbols)["hgnc_id"].to_list()


def tiny_universe(n=6):
    return pl.DataFrame({"hgnc_id": [f"HGNC:{i}" for i in range(1, n + 1)]})


def hair(rows):
    return pl.DataFrame(rows, schema={"hgnc_id": pl.String, "hair_cell_log2fc": pl.Float64,
                                      "hair_cell_groups_enriched": pl.Int64, "hair_cell_groups_measured": pl.Int64},
                        orient="row")


def markers(rows):
    return pl.DataFrame(rows, schema={"hgnc_id": pl.String, "cell_type": pl.String, "avg_logfc": pl.Float64},
                        orient="row")


NO_MARKERS = markers([])


# --- sensory expression ---

def test_sensory_expression_layer_nulls_only_unmeasured_genes():
    layer = sensory_expression_layer(
        tiny_universe(4),
        hair([("HGNC:1", 6.0, 8, 8), ("HGNC:2", -0.1, 0, 8), ("HGNC:9", 5.0, 8, 8)]),  # HGNC:9 is not in the universe
        markers([("HGNC:3", "Ciliated", 0.3)]),
    )
    assert layer.columns == SENSORY_COLUMNS
    assert layer["hgnc_id"].to_list() == ["HGNC:1", "HGNC:2", "HGNC:3", "HGNC:4"]
    score = dict(layer.select("hgnc_id", "sensory_expression_score").iter_rows())
    assert score["HGNC:1"] == 1.0
    assert score["HGNC:2"] is not None and score["HGNC:2"] < 0.3  # measured, not enriched: low, not null
    assert score["HGNC:3"] >= 0.5  # a listed lung marker, not measured in hair cells
    assert score["HGNC:4"] is None  # no source says anything
    assert layer.filter(pl.col("hgnc_id") == "HGNC:4").null_count().sum_horizontal().item() == 5


def test_sensory_expression_layer_is_rank_based():
    base = [(f"HGNC:{i}", float(i), i % 9, 8) for i in range(1, 7)]
    outlier = base[:-1] + [("HGNC:6", 6000.0, 6 % 9, 8)]  # an extreme top value changes no rank
    first = sensory_expression_layer(tiny_universe(), hair(base), NO_MARKERS)
    second = sensory_expression_layer(tiny_universe(), hair(outlier), NO_MARKERS)
    assert_frame_equal(first.drop("hair_cell_log2fc"), second.drop("hair_cell_log2fc"))


def test_sensory_expression_layer_takes_best_ciliated_type_once():
    layer = sensory_expression_layer(
        tiny_universe(2), hair([]),
        markers([("HGNC:1", "Ciliated", 1.64), ("HGNC:1", "Proximal Ciliated", 1.03), ("HGNC:2", "Ciliated", 0.3)]),
    )
    assert layer["ciliated_logfc"].to_list() == [1.64, 0.3]
    assert layer["sensory_expression_score"].to_list() == [1.0, 0.75]


def test_sensory_expression_layer_rejects_duplicate_human_genes():
    with pytest.raises(ValueError, match="map_mouse_to_human"):
        sensory_expression_layer(tiny_universe(), hair([("HGNC:1", 1.0, 1, 8), ("HGNC:1", 2.0, 2, 8)]), NO_MARKERS)


@pytest.fixture(scope="module")
def sensory_layer(universe):
    expression = parse_hair_cell_expression(DATA_DIR / "scheffer2015_gse60019_expression_matrix.tsv.RDS",
                                            DATA_DIR / "scheffer2015_gse60019_experiment_design.RDS")
    # The layer does not care how mouse genes reached human ones; an empty ortholog table (the
    # symbol route only) spares this file the ~6 s TissueEnrich parse that test_cell_sources covers.
    no_orthologs = pl.DataFrame(schema={"mouse_ensembl_gene_id": pl.String, "mouse_gene_symbol": pl.String,
                                        "human_ensembl_gene_id": pl.String, "human_gene_symbol": pl.String})
    hair_human, _ = map_mouse_to_human(hair_cell_enrichment(expression), "mouse_gene_symbol", universe,
                                       no_orthologs, best_by=["hair_cell_log2fc"])
    lung, _ = map_to_universe(parse_ciliated_cell_markers(DATA_DIR / "travaglini2020_Table_S4.10X.xlsx"), universe,
                              symbol_column="gene_symbol")
    return sensory_expression_layer(universe, hair_human, lung)


def test_sensory_expression_layer_covers_universe_with_scores_in_unit_interval(sensory_layer, universe):
    assert sensory_layer.columns == SENSORY_COLUMNS
    assert sensory_layer["hgnc_id"].to_list() == universe["hgnc_id"].to_list()
    scores = sensory_layer["sensory_expression_score"].drop_nulls()
    assert scores.len() > 12_000
    assert 0.0 <= scores.min() and scores.max() <= 1.0
    assert sensory_layer.schema["sensory_expression_score"] == pl.Float64


@pytest.mark.parametrize(("symbol", "low", "high"), [
    ("MYO7A", 0.95, 1.0), ("TMC1", 0.95, 1.0), ("POU4F3", 0.95, 1.0), ("OTOF", 0.9, 1.0),
    ("FOXJ1", 0.95, 1.0),  # top lung ciliated marker
    ("GAPDH", 0.0, 0.5),   # measured everywhere, enriched nowhere
])
def test_sensory_expression_layer_known_genes(sensory_layer, universe, symbol, low, high):
    row = sensory_layer.filter(pl.col("hgnc_id") == ids(universe, [symbol])[0]).row(0, named=True)
    assert low <= row["sensory_expression_score"] <= high


def test_sensory_expression_layer_arl13b_hair_signal_is_flat(sensory_layer, universe):
    row = sensory_layer.filter(pl.col("hgnc_id") == ids(universe, ["ARL13B"])[0]).row(0, named=True)
    assert abs(row["hair_cell_log2fc"]) < 0.5 and row["hair_cell_groups_enriched"] <= 1


# --- cilia proximity ---

def proteome(rows):
    return pl.DataFrame(rows, schema={"hgnc_id": pl.String, "tier": pl.Int8, "spectral_counts": pl.Int64},
                        orient="row")


def bioid(rows):
    return pl.DataFrame(rows, schema={"bait_hgnc_id": pl.String, "prey_hgnc_id": pl.String, "avg_saint": pl.Float64},
                        orient="row")


def screen(rows):
    return pl.DataFrame(rows, schema={"hgnc_id": pl.String, "hit_cilia_screen": pl.Boolean}, orient="row")


def tap(rows):
    return pl.DataFrame(rows, schema={"protein_a_hgnc_id": pl.String, "protein_b_hgnc_id": pl.String}, orient="row")


def test_cilia_proximity_layer_features_and_nulls():
    layer = cilia_proximity_layer(
        tiny_universe(),
        proteome([("HGNC:1", 2, 10), ("HGNC:1", 1, 5)]),  # best tier wins
        bioid([("HGNC:5", "HGNC:2", 0.9), ("HGNC:6", "HGNC:2", 1.0), ("HGNC:5", "HGNC:3", 0.95)]),
        screen([("HGNC:3", False), ("HGNC:4", None)]),  # HGNC:4 is listed but was not screened
        tap([("HGNC:2", "HGNC:3"), ("HGNC:3", "HGNC:2")]),  # one pair, written both ways
        exclude_hgnc_ids=[],
    )
    assert layer.columns == PROXIMITY_COLUMNS
    rows = {row["hgnc_id"]: row for row in layer.iter_rows(named=True)}
    assert (rows["HGNC:1"]["proteome_tier"], rows["HGNC:1"]["proteome_spectral_counts"]) == (1, 5)
    assert rows["HGNC:1"]["cilia_proximity_score"] == 1.0
    assert (rows["HGNC:2"]["bioid_bait_count"], rows["HGNC:2"]["bioid_max_saint"]) == (2, 1.0)
    assert rows["HGNC:2"]["tap_ms_partners"] == rows["HGNC:3"]["tap_ms_partners"] == 1
    assert rows["HGNC:3"]["screen_hit"] is False  # screened, not a hit: False, not null
    assert rows["HGNC:4"]["screen_hit"] is None and rows["HGNC:4"]["cilia_proximity_score"] is None
    # Baits are neighbours, not measured genes: HGNC:5 has no BioID features of its own.
    assert rows["HGNC:5"]["bioid_bait_count"] is None
    assert rows["HGNC:2"]["cilia_proximity_score"] > rows["HGNC:3"]["cilia_proximity_score"]


def test_cilia_proximity_layer_excluded_gene_loses_edges_both_ways():
    edges = dict(
        proteome_human=proteome([("HGNC:1", 2, 10)]),
        bioid=bioid([("HGNC:1", "HGNC:2", 0.99), ("HGNC:3", "HGNC:2", 0.9), ("HGNC:3", "HGNC:1", 0.9)]),
        screen_hits=screen([]),
        tap_ms=tap([("HGNC:1", "HGNC:4"), ("HGNC:5", "HGNC:1"), ("HGNC:4", "HGNC:5")]),
    )
    kept = cilia_proximity_layer(tiny_universe(), exclude_hgnc_ids=[], **edges)
    dropped = cilia_proximity_layer(tiny_universe(), exclude_hgnc_ids=["HGNC:1"], **edges)
    before = {row["hgnc_id"]: row for row in kept.iter_rows(named=True)}
    after = {row["hgnc_id"]: row for row in dropped.iter_rows(named=True)}
    assert (before["HGNC:1"]["bioid_bait_count"], before["HGNC:1"]["tap_ms_partners"]) == (1, 2)
    # The excluded gene keeps its own proteome measurement but has no interaction features.
    assert (after["HGNC:1"]["proteome_tier"], after["HGNC:1"]["bioid_bait_count"],
            after["HGNC:1"]["tap_ms_partners"]) == (2, None, None)
    assert (before["HGNC:2"]["bioid_bait_count"], after["HGNC:2"]["bioid_bait_count"]) == (2, 1)
    assert after["HGNC:2"]["bioid_max_saint"] == 0.9
    assert (before["HGNC:4"]["tap_ms_partners"], after["HGNC:4"]["tap_ms_partners"]) == (2, 1)


def test_cilia_proximity_layer_rejects_symbol_keyed_edges():
    with pytest.raises(ValueError, match="bait_hgnc_id"):
        cilia_proximity_layer(tiny_universe(), proteome([]), pl.DataFrame({"bait_symbol": ["A"]}), screen([]), tap([]),
                              [])


@pytest.fixture(scope="module")
def real_inputs(universe):
    tap_ms, _ = map_partners_to_universe(
        parse_tap_ms_interactions(DATA_DIR / "boldt2016_41467_2016_BFncomms11491_MOESM835_ESM_s3.xlsx"),
        universe, "protein_a", "protein_b")
    bioid_edges, _ = map_partners_to_universe(
        parse_bioid_interactions(DATA_DIR / "gupta2015_bioid_interactions.tsv.gz"), universe, "bait", "prey")
    hits, _ = map_to_universe(parse_screen_hits(DATA_DIR / "gupta2015_screen_hits.tsv.gz"), universe,
                              entrez_column="entrez_id", symbol_column="gene_symbol")
    return dict(proteome_human=proteome([]), bioid=bioid_edges, screen_hits=hits, tap_ms=tap_ms)


def test_cilia_proximity_layer_drops_usher_tap_ms_edges(universe, real_inputs):
    usher = ids(universe, USHER_BAITS)
    assert None not in usher
    kept = cilia_proximity_layer(universe, exclude_hgnc_ids=[], **real_inputs)
    held_out = cilia_proximity_layer(universe, exclude_hgnc_ids=usher, **real_inputs)
    tap_ms = real_inputs["tap_ms"]
    touching = tap_ms.filter(pl.col("protein_a_hgnc_id").is_in(usher) | pl.col("protein_b_hgnc_id").is_in(usher))
    # 10 + 9 + 7 + 1 + 1 edges, less USH1C-USH1G counted twice, less WHRN-HSP90AB2P (a pseudogene).
    assert touching.height == 26
    # Every partner loses exactly its edges to Usher genes; partners with no other edge become null.
    partners = pl.concat([
        touching.select(pl.col("protein_a_hgnc_id").alias("hgnc_id"), pl.col("protein_b_hgnc_id").alias("other")),
        touching.select(pl.col("protein_b_hgnc_id").alias("hgnc_id"), pl.col("protein_a_hgnc_id").alias("other")),
    ]).filter(~pl.col("hgnc_id").is_in(usher)).group_by("hgnc_id").agg(pl.col("other").n_unique().alias("lost"))
    compared = (partners.join(kept.select("hgnc_id", pl.col("tap_ms_partners").alias("before")), on="hgnc_id")
                .join(held_out.select("hgnc_id", pl.col("tap_ms_partners").alias("after")), on="hgnc_id"))
    assert compared.height == partners.height > 20
    assert (compared["before"] - compared["lost"]).to_list() == compared["after"].fill_null(0).to_list()
    assert compared["after"].null_count() == (compared["before"] == compared["lost"]).sum() > 0
    usher_rows = held_out.filter(pl.col("hgnc_id").is_in(usher))
    assert usher_rows.select("bioid_max_saint", "bioid_bait_count", "tap_ms_partners").null_count().row(0) == (5, 5, 5)
    # Genes far from the Usher baits are untouched.
    others = ~pl.col("hgnc_id").is_in([*usher, *partners["hgnc_id"]])
    assert_frame_equal(kept.filter(others).drop("cilia_proximity_score"),
                       held_out.filter(others).drop("cilia_proximity_score"))


def test_cilia_proximity_layer_real_scores_in_unit_interval(universe, real_inputs):
    layer = cilia_proximity_layer(universe, exclude_hgnc_ids=ids(universe, USHER_BAITS), **real_inputs)
    assert layer["hgnc_id"].to_list() == universe["hgnc_id"].to_list()
    scores = layer["cilia_proximity_score"].drop_nulls()
    assert 0.0 <= scores.min() and scores.max() <= 1.0 and scores.len() > 2000
    assert layer.schema["cilia_proximity_score"] == pl.Float64
    # Absent is not zero: a gene in no interactome and no screen stays null.
    gapdh = layer.filter(pl.col("hgnc_id") == ids(universe, ["GAPDH"])[0]).row(0, named=True)
    assert gapdh["cilia_proximity_score"] is None and gapdh["tap_ms_partners"] is None
