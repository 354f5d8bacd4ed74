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
from usher_assets.config import PipelineConfig
from usher_assets.scoring.discovery import BASELINES, compare_on_labels, strict_discovery, strict_subset
from usher_assets.scoring.robustness import (
    ciliopathy_labels,
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


def test_ciliopathy_labels_resolve_by_symbol_or_entrez(small_universe):
    ciliaminer = pl.DataFrame({"disease": ["x", "x", "y", "y"], "abbreviation": ["X1", "X2", "Y1", "Y2"],
                               "gene_symbol": ["USH2A", "F3", None, "MYO7A"], "entrez_id": [None, 5, None, 1]},
                              schema_overrides={"entrez_id": pl.Int64})
    labels = ciliopathy_labels(ciliaminer, small_universe)
    assert labels["hgnc_id"].to_list() == ["HGNC:1", "HGNC:3", "HGNC:5"]


def discovery_frame() -> pl.DataFrame:
    """20 genes, 4 labels (L*); L1 and N00 are cilia-annotated and must drop out of the strict view."""
    return pl.DataFrame({
        "hgnc_id": [f"HGNC:{i}" for i in range(20)],
        "gene_symbol": ["L1", "L2", "L3", "L4"] + [f"N{i:02d}" for i in range(16)],
        "cilia_annotated": [True, False, False, False, True] + [False] * 15,
        "good": [1.0, 0.99, 0.98, 0.52, 0.97] + [0.9 - 0.05 * i for i in range(15)],
        "exac_pli": [None, 0.1, 0.2, 0.3] + [0.5] * 16,
        "go_term_count": [5, 1, 1, 1] + [2] * 16,
        "ciliated_logfc": [None] * 20,
        "proteome_spectral_counts": [None] * 20,
    }, schema_overrides={"exac_pli": pl.Float64, "ciliated_logfc": pl.Float64,
                         "proteome_spectral_counts": pl.Float64})


LABELS = {"HGNC:0", "HGNC:1", "HGNC:2", "HGNC:3"}


def test_compare_on_labels_hand_computed():
    subset = strict_subset(discovery_frame())
    assert subset.height == 18
    methods = {"good": pl.col("good"), "pli": pl.col("exac_pli")}
    table = compare_on_labels(subset, methods, LABELS, samples=200, seed=0)
    good, pli = table.rows(named=True)
    # 18 genes: the top 10 % is ceil(1.8) = 2 genes, L2 and L3: 2 of 3 labels -> (2/3) / 0.1.
    assert (good["n_labels"], good["top_count"]) == (3, 2)
    assert good["enrichment"] == pytest.approx(6.6667, abs=1e-4)
    # L2 and L3 outrank all 15 others; L4 (0.52) outranks the seven at 0.5 and below.
    assert good["auroc"] == pytest.approx((2 + 7 / 15) / 3, abs=1e-4)
    assert good["enrichment_low"] <= good["enrichment"] <= good["enrichment_high"]
    # pLI puts every label below the others' 0.5: none in the top, AUROC 0. Yet on three labels the
    # reference's interval reaches 0 (all three resampled as L4), so it does not beat pLI by more than it.
    assert (pli["top_count"], pli["auroc"]) == (0, 0.0)
    assert good["enrichment_low"] == 0.0 and pli["reference_beats"] is False
    assert pli["reference_minus"] == pytest.approx(good["enrichment"])
    assert_frame_equal(table, compare_on_labels(subset.reverse(), methods, LABELS, samples=200, seed=0))


def test_strict_discovery_says_plainly_which_baselines_are_not_beaten():
    frame = discovery_frame()
    result = strict_discovery(frame, {"ranking": pl.col("good")}, LABELS, samples=200, seed=0)
    assert result["methods"]["method"].to_list() == ["ranking", *BASELINES]
    assert (result["n_subset_genes"], result["n_labels"]) == (18, 3)
    baselines = result["methods"].filter(pl.col("method") != "ranking")
    assert result["beats_every_baseline"] == bool(baselines["reference_beats"].all())
    # Reversed, the ranking puts the labels last: GO term count (the labels have fewer terms) still does not.
    worse = strict_discovery(frame, {"ranking": -pl.col("good")}, LABELS, samples=200, seed=0)
    assert worse["beats_every_baseline"] is False
    assert worse["verdict"].startswith("The ranking does NOT beat every naive baseline")
    assert "pLI alone" in worse["verdict"]


def test_strict_subset_needs_the_annotation_flag():
    with pytest.raises(ValueError, match="cilia_annotated"):
        strict_subset(discovery_frame().drop("cilia_annotated"))


# --- end to end on the bundled data (constraint, localization, annotation) ---------------

DATA_DIR = HGNC_FILE.parent


@pytest.fixture(scope="module")
def bundled_scores(real_universe):
    """gene_scores on three bundled layers (constraint, localization, annotation) with a fast model."""
    from usher_assets.assets.scoring import join_layers, judged_genes
    from usher_assets.evidence.annotation import annotation_layer
    from usher_assets.evidence.constraint import constraint_layer
    from usher_assets.evidence.localization import localization_layer
    from usher_assets.scoring.gene_scores import cilia_model_table, score_genes
    from usher_assets.sources.ciliaminer import parse_ciliaminer
    from usher_assets.sources.constraint import parse_exac_pli, parse_loftool
    from usher_assets.sources.gene_ontology import parse_go_annotations, parse_go_parents, parse_go_terms
    from usher_assets.sources.hpa import parse_hpa_subcellular

    layers = join_layers(real_universe, {
        "constraint": constraint_layer(real_universe, parse_exac_pli(DATA_DIR / "ExACpLI_values.txt"),
                                       parse_loftool(DATA_DIR / "LoFtool_scores.txt")),
        "localization": localization_layer(real_universe, parse_hpa_subcellular(DATA_DIR / "subcellular_location.tsv")),
        "annotation": annotation_layer(real_universe, parse_go_annotations(DATA_DIR / "orghs_gene_go.tsv.gz"),
                                       parse_go_terms(DATA_DIR / "go_terms.tsv.gz"),
                                       parse_go_parents(DATA_DIR / "go_parents.tsv.gz")),
    })
    default = PipelineConfig.load().scoring
    scoring = default.model_copy(update={"weights": {"constraint": 0.25, "localization": 0.35, "annotation": 0.40},
                                         "model": default.model.model_copy(update={"max_iter": 20, "folds": 3}),
                                         "bootstrap_samples": 100})
    ciliaminer = parse_ciliaminer(DATA_DIR / "ciliaminer_secondarylist.json")
    model = cilia_model_table(layers, judged_genes(real_universe, ciliaminer), scoring.model)
    scores = score_genes(layers, model, scoring.weights, scoring)
    return scores, scoring, ciliaminer


@pytest.fixture(scope="module")
def bundled_validation(bundled_scores, real_universe):
    scores, scoring, ciliaminer = bundled_scores
    return scores, validate_ranking(scores, scoring.weights, scoring, real_universe, ciliaminer)


def test_validate_ranking_bundled_known_genes_beat_negative_controls(bundled_validation):
    _, validation = bundled_validation
    known = validation["known_metrics"]["all"]
    assert known["n_genes"] == 17 and validation["known_metrics"]["unresolved_symbols"] == []
    assert known["median_percentile"] > validation["negative_controls"]["all"]["median_percentile"]
    assert validation["negative_controls"]["all"]["n_genes"] >= 70
    weighted = validation["weighted_view"]["known_metrics"]["all"]
    assert weighted["n_genes"] == 17 and weighted["median_percentile"] is not None


def test_validate_ranking_bundled_strict_discovery_subset(bundled_validation):
    scores, validation = bundled_validation
    strict = validation["strict_discovery"]
    assert strict["n_subset_genes"] == scores.height - scores["cilia_annotated"].sum()
    # Strict means every cilia signal of the annotation layer: fewer genes than outside GO:0005929 alone.
    assert strict["n_subset_genes"] < scores.height - scores["go_cilium_annotated"].sum()
    # CiliaMiner's secondary list names 189 universe genes; about 110 have no annotation cilia signal.
    assert 80 <= strict["n_labels"] < 189
    table = strict["methods"]
    assert table.height == 2 + len(BASELINES)
    assert (table["enrichment_low"] <= table["enrichment"]).all()
    assert (table["enrichment"] <= table["enrichment_high"]).all()
    expected = "The ranking beats" if strict["beats_every_baseline"] else "The ranking does NOT"
    assert strict["verdict"].startswith(expected)
    # Each weighted layer, then the model-only features (mouse orthologs, GO context, gene family), has its row.
    assert validation["leave_one_layer_out"]["left_out"].to_list() == ["(none)", "constraint", "localization",
                                                                        "annotation", "conservation", "go_context",
                                                                        "gene_family"]


def test_validate_ranking_bundled_is_json_safe_and_reports_the_method(bundled_validation):
    _, validation = bundled_validation
    plain = json.loads(json.dumps(validation_metadata(validation)))
    assert plain["method"]["combination"] == {"cilia_model": 0.65, "cilia_annotation": 0.25, "usher_sensory": 0.10}
    check = plain["method"]["cilia_model_check"]
    assert check["positives"] > 500 and 0.5 < check["out_of_fold_auroc"] <= 1.0
    assert "never on CiliaMiner" in check["criterion"]
    assert [v["view"] for v in check["views"]] == ["cilia model: all GO cilia genes", "cilia model: less-studied half",
                                                   "cilia model: electronic-only GO cilia genes",
                                                   "ranking, annotation hidden: all GO cilia genes"]
    assert isinstance(plain["strict_discovery"]["methods"][0]["enrichment"], float)


def test_validate_ranking_bundled_sensitivity_is_reported_per_change(bundled_validation):
    _, validation = bundled_validation
    table = validation["sensitivity"]
    assert table.height == 6  # three combination weights, two directions
    assert validation["sensitivity_min_spearman"] == table["spearman"].min()
    assert 0.8 < validation["sensitivity_min_spearman"] <= 1.0
    assert validation["weighted_sensitivity"].height == 6


def test_score_genes_bundled_tiers_follow_the_rank(bundled_scores):
    scores, _, _ = bundled_scores
    assert scores["rank"].to_list() == list(range(1, scores.height + 1))
    order = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}
    tiers = [order[t] for t in scores["tier"]]
    assert tiers == sorted(tiers)
    assert scores["ranking_score"].is_sorted(descending=True)


def test_selection_figures_use_go_labels_only_and_leave_out_judged_genes():
    from usher_assets.config import CombinationConfig
    from usher_assets.scoring.model_selection import selection_figures

    n = 100
    positive = [i % 10 == 0 for i in range(n)]
    frame = pl.DataFrame({
        "hgnc_id": [f"HGNC:{i}" for i in range(n)], "gene_symbol": [f"G{i:03d}" for i in range(n)],
        "cilia_annotated": positive,
        "cilia_model_percentile": [1.0 - i / (4 * n) if p else i / (2 * n) for i, p in enumerate(positive)],
        "hair_cell_evidence": [None] * n, "go_sensory_evidence": [1.0 if i == 1 else 0.0 for i in range(n)],
        "go_context_term_count": list(range(n)),
        # Electronic-only cilia evidence (IEA weight 0.4) for positives 10 and 20; curated for the rest.
        "go_cilia_evidence": [0.4 if i in (10, 20) else (1.0 if p else 0.0) for i, p in enumerate(positive)],
    }, schema_overrides={"hair_cell_evidence": pl.Float64})
    figures = selection_figures(frame, {"HGNC:0", "HGNC:1"}, CombinationConfig())
    assert figures["n_labels"].to_list() == [9, 5, 2, 9]  # HGNC:0 judged; less-studied: counts 10..50
    assert figures["n_subset_genes"].to_list() == [98, 94, 91, 98]
    assert figures["auroc"][0] == 1.0  # every positive above every negative
