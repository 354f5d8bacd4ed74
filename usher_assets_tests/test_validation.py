"""Validation metrics on a small known ranking, and label resolution on the real HGNC universe."""

import json
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from usher_assets.schemas import GENE_UNIVERSE_COLUMNS
from usher_assets.scoring.labels import (
    add_percentiles,
    known_gene_metrics,
    known_usher_genes,
    label_positions,
    negative_control_genes,
    percentile_metrics,
    rank_layers,
)
from usher_assets.scoring.robustness import (
    ciliopathy_labels,
    discovery_metrics,
    leave_one_layer_out,
    spearman_of_ranks,
    weight_sensitivity,
)
from usher_assets.scoring.validation import validate_ranking, validation_metadata
from usher_assets.sources.hgnc import parse_hgnc
from usher_assets.sources.universe import build_gene_universe

HGNC_FILE = Path(__file__).resolve().parents[1] / "data" / "hgnc_complete_set.txt.gz"
LIST = pl.List(pl.String)

# Layer a decides the order; CLRN1 has no a-score. Layer b is flat, CLRN1 included.
SMALL = [  # symbol, layer a, go_cilium_annotated
    ("MYO7A", 1.0, True), ("F1", 0.9, True), ("USH2A", 0.8, False), ("F2", 0.7, False),
    ("F3", 0.6, False), ("F4", 0.5, False), ("F5", 0.4, False), ("F6", 0.3, False),
    ("ACTB", 0.2, False), ("RPL10A", 0.1, False), ("CLRN1", None, False),
]


@pytest.fixture(scope="module")
def real_universe() -> pl.DataFrame:
    return build_gene_universe(parse_hgnc(HGNC_FILE))


@pytest.fixture
def small_universe() -> pl.DataFrame:
    n = len(SMALL)
    return pl.DataFrame({
        "hgnc_id": [f"HGNC:{i}" for i in range(1, n + 1)],
        "gene_symbol": [s for s, _, _ in SMALL],
        "ensembl_gene_id": [f"ENSG{i:011d}" for i in range(1, n + 1)],
        "entrez_id": list(range(1, n + 1)),
        "chromosome": ["1"] * n,
        "alias_symbols": [[]] * n, "prev_symbols": [[]] * n, "gene_groups": [[]] * n, "mgd_ids": [[]] * n,
    }, schema_overrides={"entrez_id": pl.Int64, "alias_symbols": LIST, "prev_symbols": LIST,
                         "gene_groups": LIST, "mgd_ids": LIST}).select(GENE_UNIVERSE_COLUMNS)


@pytest.fixture
def small_layers(small_universe) -> pl.DataFrame:
    return small_universe.select("hgnc_id", "gene_symbol", "ensembl_gene_id").with_columns(
        pl.Series("a_score", [a for _, a, _ in SMALL], dtype=pl.Float64),
        pl.lit(0.5).alias("b_score"),
        pl.Series("go_cilium_annotated", [g for _, _, g in SMALL]),
    )


def test_add_percentiles_top_is_100_last_is_0():
    ranked = pl.DataFrame({"rank": [1, 2, 3, 4, 5]})
    assert add_percentiles(ranked)["percentile"].to_list() == [100.0, 75.0, 50.0, 25.0, 0.0]


def test_percentile_metrics_hand_computed():
    positions = pl.DataFrame({"percentile": [99.0, 90.0, 50.0, 10.0]})
    assert percentile_metrics(positions) == {"n_genes": 4, "median_percentile": 70.0, "top_fraction": 0.1,
                                             "top_count": 2, "top_share": 0.5}


def test_known_usher_genes_resolve_on_real_universe(real_universe):
    known = known_usher_genes(real_universe)
    assert known.height == 17
    assert known["hgnc_id"].null_count() == 0
    assert known["hgnc_id"].is_unique().all()
    ids = dict(known.select("query_symbol", "hgnc_id").iter_rows())
    assert ids["MYO7A"] == "HGNC:7606"
    assert dict(known.group_by("group").len().iter_rows()) == {"core": 10, "atypical": 7}


def test_negative_control_genes_pick_ribosomal_proteins_not_look_alikes(real_universe):
    symbols = set(negative_control_genes(real_universe)["query_symbol"])
    assert {"ACTB", "GAPDH", "TUBB", "RPL10A", "RPS4X", "RPS27A", "RPLP0"} <= symbols
    assert not {"RPL3L", "RPS6KA1", "RPL7L1"} & symbols
    assert 70 <= len(symbols) <= 90


def test_known_gene_metrics_on_small_ranking(small_layers, small_universe):
    ranked = rank_layers(small_layers, {"a": 1.0})
    known = known_usher_genes(small_universe)
    positions = label_positions(ranked, known)
    # 11 genes: percentile = 100 * (11 - rank) / 10; CLRN1 has no score and ranks last.
    assert dict(positions.select("gene_symbol", "percentile").iter_rows()) == {
        "MYO7A": 100.0, "USH2A": 80.0, "CLRN1": 0.0}
    metrics = known_gene_metrics(ranked, known)
    assert metrics["all"] == {"n_genes": 3, "median_percentile": 80.0, "top_fraction": 0.1,
                              "top_count": 1, "top_share": 0.3333}
    assert metrics["atypical"]["n_genes"] == 0
    assert "PCDH15" in metrics["unresolved_symbols"]  # not in this small universe


@pytest.mark.parametrize(("other_order", "expected"), [
    ([1, 2, 3, 4], 1.0),
    ([4, 3, 2, 1], -1.0),
    ([2, 1, 3, 4], 0.8),  # 1 - 6 * 2 / (4 * 15)
])
def test_spearman_of_ranks(other_order, expected):
    baseline = pl.DataFrame({"hgnc_id": ["a", "b", "c", "d"], "rank": [1, 2, 3, 4]})
    other = pl.DataFrame({"hgnc_id": ["a", "b", "c", "d"], "rank": other_order})
    assert spearman_of_ranks(baseline, other) == pytest.approx(expected)


def test_weight_sensitivity_moves_each_weight_both_ways(small_layers):
    table = weight_sensitivity(small_layers, {"a": 1.0, "b": 1.0})
    assert table.select("layer", "change").rows() == [("a", 0.2), ("a", -0.2), ("b", 0.2), ("b", -0.2)]
    assert table["weight"].to_list() == pytest.approx([1.2 / 2.2, 0.8 / 1.8, 1.2 / 2.2, 0.8 / 1.8])
    # b is flat except that it gives CLRN1 a score; +-20 % moves CLRN1 one or two places at most.
    assert table["spearman"].min() > 0.95
    assert (table["spearman"] <= 1.0).all()


def test_leave_one_layer_out_hand_computed(small_layers, small_universe):
    known = known_usher_genes(small_universe)
    table = leave_one_layer_out(small_layers, {"a": 1.0, "b": 1.0}, known)
    got = {row["left_out"]: (row["median_percentile"], row["top_count"]) for row in table.iter_rows(named=True)}
    # Both: CLRN1 (b only, 0.5) ties F4 at 0.5 but has less evidence -> rank 7 -> 40.
    # Without b: CLRN1 has nothing -> last. Without a: all tie at 0.5 -> alphabetical order.
    assert got == {"(none)": (80.0, 1), "a": (20.0, 1), "b": (80.0, 1)}


def test_discovery_metrics_rank_labels_among_genes_outside_go_cilium(small_layers, small_universe):
    ciliaminer = pl.DataFrame({"disease": ["x", "x", "y", "y"], "abbreviation": ["X1", "X2", "Y1", "Y2"],
                               "gene_symbol": ["USH2A", "F3", None, "MYO7A"], "entrez_id": [None, 5, None, 1]},
                              schema_overrides={"entrez_id": pl.Int64})
    labels = ciliopathy_labels(ciliaminer, small_universe)
    assert labels["hgnc_id"].to_list() == ["HGNC:1", "HGNC:3", "HGNC:5"]
    metrics = discovery_metrics(small_layers, {"a": 1.0}, labels)
    # MYO7A and F1 are GO-annotated and left out: 9 genes; USH2A first (100), F3 third (75).
    assert metrics == {"n_subset_genes": 9, "n_genes": 2, "median_percentile": 87.5, "top_fraction": 0.1,
                       "top_count": 1, "top_share": 0.5}


def test_validate_ranking_is_complete_json_safe_and_deterministic(small_layers, small_universe):
    ciliaminer = pl.DataFrame({"disease": ["x"], "abbreviation": ["X1"], "gene_symbol": ["F3"],
                               "entrez_id": [None]}, schema_overrides={"entrez_id": pl.Int64})
    weights = {"a": 2.0, "b": 1.0}
    first = validate_ranking(small_layers, weights, small_universe, ciliaminer)
    again = validate_ranking(small_layers.reverse(), weights, small_universe, ciliaminer)
    assert set(first) == {"known_genes", "known_metrics", "negative_controls", "sensitivity",
                          "sensitivity_min_spearman", "leave_one_layer_out", "discovery", "coverage"}
    assert first["negative_controls"]["housekeeping"]["n_genes"] == 1  # ACTB
    assert first["negative_controls"]["ribosomal"]["n_genes"] == 1  # RPL10A
    assert first["discovery"]["left_out"].to_list() == ["(none)", "a", "b"]
    assert first["coverage"].rows() == [("a", 10, round(10 / 11, 4)), ("b", 11, 1.0)]
    for key in ("known_genes", "sensitivity", "leave_one_layer_out", "discovery"):
        assert_frame_equal(first[key], again[key])
    assert first["known_metrics"] == again["known_metrics"]
    text = json.dumps(validation_metadata(first))
    assert json.loads(text)["known_metrics"]["all"]["n_genes"] == 3


def test_discovery_metrics_need_the_go_flag(small_layers):
    with pytest.raises(ValueError, match="go_cilium_annotated"):
        discovery_metrics(small_layers.drop("go_cilium_annotated"), {"a": 1.0}, pl.DataFrame({"hgnc_id": []}))


# --- end to end on the bundled data (constraint, localization, annotation) ---------------

DATA_DIR = HGNC_FILE.parent


@pytest.fixture(scope="module")
def bundled_validation(real_universe):
    from usher_assets.evidence.annotation import annotation_layer
    from usher_assets.evidence.constraint import constraint_layer
    from usher_assets.evidence.localization import localization_layer
    from usher_assets.sources.ciliaminer import parse_ciliaminer
    from usher_assets.sources.constraint import parse_exac_pli, parse_loftool
    from usher_assets.sources.gene_ontology import parse_go_annotations, parse_go_parents, parse_go_terms
    from usher_assets.sources.hpa import parse_hpa_subcellular

    constraint = constraint_layer(real_universe, parse_exac_pli(DATA_DIR / "ExACpLI_values.txt"),
                                  parse_loftool(DATA_DIR / "LoFtool_scores.txt"))
    localization = localization_layer(real_universe, parse_hpa_subcellular(DATA_DIR / "subcellular_location.tsv"))
    annotation = annotation_layer(real_universe, parse_go_annotations(DATA_DIR / "orghs_gene_go.tsv.gz"),
                                  parse_go_terms(DATA_DIR / "go_terms.tsv.gz"),
                                  parse_go_parents(DATA_DIR / "go_parents.tsv.gz"))
    layers = (
        constraint.select("hgnc_id", "gene_symbol", "ensembl_gene_id", "constraint_score")
        .join(localization.select("hgnc_id", "localization_score"), on="hgnc_id")
        .join(annotation.select("hgnc_id", "annotation_score", "go_cilium_annotated"), on="hgnc_id")
    )
    weights = {"constraint": 0.25, "localization": 0.35, "annotation": 0.40}
    ciliaminer = parse_ciliaminer(DATA_DIR / "ciliaminer_secondarylist.json")
    return layers, validate_ranking(layers, weights, real_universe, ciliaminer)


def test_validate_ranking_bundled_known_genes_beat_negative_controls(bundled_validation):
    _, validation = bundled_validation
    known = validation["known_metrics"]["all"]
    assert known["n_genes"] == 17 and validation["known_metrics"]["unresolved_symbols"] == []
    assert known["median_percentile"] > validation["negative_controls"]["all"]["median_percentile"]
    assert validation["negative_controls"]["all"]["n_genes"] >= 70


def test_validate_ranking_bundled_discovery_subset(bundled_validation):
    layers, validation = bundled_validation
    first = validation["discovery"].row(0, named=True)
    assert first["left_out"] == "(none)"
    assert first["n_subset_genes"] == layers.height - layers["go_cilium_annotated"].sum()
    # CiliaMiner's secondary list names 190 genes; those outside the GO cilium subtree remain.
    assert 80 <= first["n_genes"] < 190
    assert validation["discovery"].height == 4


def test_validate_ranking_bundled_sensitivity_is_reported_per_change(bundled_validation):
    _, validation = bundled_validation
    table = validation["sensitivity"]
    assert table.height == 6
    assert validation["sensitivity_min_spearman"] == table["spearman"].min()
    assert 0.9 < validation["sensitivity_min_spearman"] <= 1.0
