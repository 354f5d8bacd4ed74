"""Composite score, tiers and ranking on small frames with hand-computed values."""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from usher_assets.scoring.composite import (
    assign_tiers,
    candidate_table,
    composite_scores,
    flag_thin_evidence,
    layer_score_columns,
    rank_candidates,
)


def layers_frame() -> pl.DataFrame:
    return pl.DataFrame({
        "hgnc_id": ["HGNC:1", "HGNC:2", "HGNC:3", "HGNC:4"],
        "gene_symbol": ["AAA", "BBB", "CCC", "DDD"],
        "ensembl_gene_id": ["ENSG1", "ENSG2", "ENSG3", None],
        "constraint_score": [0.8, None, 0.2, None],
        "annotation_score": [0.2, 0.5, None, None],
        "localization_score": [0.5, None, None, None],
    })


def test_composite_scores_renormalise_weights_over_present_layers():
    scored = composite_scores(layers_frame(), {"constraint": 1.0, "annotation": 3.0, "localization": 1.0})
    got = dict(scored.select("gene_symbol", "composite_score").iter_rows())
    assert got["AAA"] == pytest.approx((1 * 0.8 + 3 * 0.2 + 1 * 0.5) / 5)
    assert got["BBB"] == pytest.approx(0.5)  # only annotation: its weight re-normalised to 1
    assert got["CCC"] == pytest.approx(0.2)
    assert got["DDD"] is None  # no evidence is not a score of 0
    assert scored["evidence_count"].to_list() == [3, 1, 1, 0]


def test_composite_scores_accept_score_column_names_and_ignore_unweighted_layers():
    scored = composite_scores(layers_frame(), {"constraint_score": 1.0, "annotation": 1.0})
    got = dict(scored.select("gene_symbol", "composite_score").iter_rows())
    assert got["AAA"] == pytest.approx(0.5)  # localization has no weight, so it is left out
    assert scored["evidence_count"].to_list() == [2, 1, 1, 0]


def test_composite_scores_zero_weight_layer_counts_as_evidence_but_not_score():
    scored = composite_scores(layers_frame(), {"constraint": 0.0, "annotation": 1.0})
    got = dict(scored.select("gene_symbol", "composite_score").iter_rows())
    assert got["AAA"] == pytest.approx(0.2)
    assert got["CCC"] is None  # its only layer has weight 0


@pytest.mark.parametrize(("weights", "message"), [
    ({"sensory_expression": 1.0}, "sensory_expression_score"),
    ({"constraint": -1.0}, "expected weights >= 0"),
    ({}, "at least one layer weight"),
])
def test_composite_scores_reject_bad_weights(weights, message):
    with pytest.raises(ValueError, match=message):
        composite_scores(layers_frame(), weights)


def test_layer_score_columns_excludes_composite():
    scored = composite_scores(layers_frame(), {"constraint": 1.0})
    assert layer_score_columns(scored) == ["constraint_score", "annotation_score", "localization_score"]


def tier_input(scores: list[float | None], counts: list[int]) -> pl.DataFrame:
    return pl.DataFrame({"composite_score": scores, "evidence_count": counts},
                        schema={"composite_score": pl.Float64, "evidence_count": pl.Int32})


@pytest.mark.parametrize(("score", "count", "tier"), [
    (0.9, 3, "HIGH"),
    (0.7, 2, "HIGH"),  # thresholds are inclusive
    (0.9, 1, "HIGH"),  # one layer: still HIGH, the flag says it is thin
    (0.69, 3, "MEDIUM"),
    (0.5, 1, "MEDIUM"),
    (0.49, 4, "LOW"),
    (None, 0, "LOW"),
])
def test_assign_tiers(score, count, tier):
    tiered = assign_tiers(tier_input([score], [count]), high=0.7, medium=0.5)
    assert tiered["tier"].item() == tier


def test_tiers_follow_the_rank_whatever_the_evidence_count():
    scores = [0.95, 0.9, 0.8, 0.72, 0.6, 0.55, 0.3]
    frame = tier_input(scores, [1, 5, 1, 2, 1, 6, 7]).with_columns(
        pl.Series("gene_symbol", list("ABCDEFG")), pl.Series("hgnc_id", [f"HGNC:{i}" for i in range(7)]))
    ranked = rank_candidates(flag_thin_evidence(assign_tiers(frame, high=0.7, medium=0.5), thin_evidence=2))
    order = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}
    tiers = [order[t] for t in ranked["tier"]]
    assert tiers == sorted(tiers)  # never a MEDIUM or LOW above a HIGH
    assert ranked["thin_evidence"].to_list() == [True, False, True, True, True, False, False]


@pytest.mark.parametrize(("high", "medium"), [(0.4, 0.5), (1.2, 0.5)])
def test_assign_tiers_rejects_inconsistent_thresholds(high, medium):
    with pytest.raises(ValueError, match="expected"):
        assign_tiers(tier_input([0.5], [1]), high=high, medium=medium)


def test_flag_thin_evidence_rejects_a_negative_count():
    with pytest.raises(ValueError, match="thin_evidence >= 0"):
        flag_thin_evidence(tier_input([0.5], [1]), thin_evidence=-1)


def tie_frame() -> pl.DataFrame:
    return pl.DataFrame({
        "hgnc_id": ["HGNC:5", "HGNC:4", "HGNC:3", "HGNC:2", "HGNC:1", "HGNC:6"],
        "gene_symbol": ["ZED", "ALPHA", "BETA", "SAME", "SAME", "NULLSCORE"],
        "composite_score": [0.9, 0.5, 0.5, 0.5, 0.5, None],
        "evidence_count": [1, 1, 3, 1, 1, 0],
    }, schema_overrides={"evidence_count": pl.Int32})


def test_rank_candidates_tie_break():
    ranked = rank_candidates(tie_frame())
    assert ranked.columns[0] == "rank"
    assert ranked["rank"].to_list() == [1, 2, 3, 4, 5, 6]
    # score desc, then evidence_count desc, then symbol asc, then hgnc_id asc; null score last.
    assert ranked["hgnc_id"].to_list() == ["HGNC:5", "HGNC:3", "HGNC:4", "HGNC:1", "HGNC:2", "HGNC:6"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rank_candidates_is_deterministic_under_input_order(seed):
    baseline = rank_candidates(tie_frame())
    shuffled = rank_candidates(tie_frame().sample(fraction=1.0, shuffle=True, seed=seed))
    assert_frame_equal(baseline, shuffled)


def test_candidate_table_columns():
    scored = composite_scores(layers_frame(), {"constraint": 1.0, "annotation": 1.0})
    table = candidate_table(rank_candidates(assign_tiers(scored, 0.6, 0.3)))
    assert table.columns == ["rank", "gene_symbol", "hgnc_id", "ensembl_gene_id", "composite_score", "tier",
                             "evidence_count", "constraint_score", "annotation_score", "localization_score"]
    # AAA and BBB both score 0.5; AAA has two layers to BBB's one.
    assert table["gene_symbol"].to_list() == ["AAA", "BBB", "CCC", "DDD"]
    assert table["tier"].to_list() == ["MEDIUM", "MEDIUM", "LOW", "LOW"]


def test_candidate_table_names_missing_columns():
    with pytest.raises(ValueError, match="tier"):
        candidate_table(rank_candidates(composite_scores(layers_frame(), {"constraint": 1.0})))


def test_rank_candidates_ranks_by_the_named_score_and_replaces_an_old_rank():
    frame = tie_frame().with_columns(pl.Series("other_score", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
                                     pl.Series("rank", [9, 9, 9, 9, 9, 9]))
    ranked = rank_candidates(frame, score="other_score")
    assert ranked["hgnc_id"].to_list() == ["HGNC:6", "HGNC:1", "HGNC:2", "HGNC:3", "HGNC:4", "HGNC:5"]
    assert ranked["rank"].to_list() == [1, 2, 3, 4, 5, 6]


def test_candidate_table_leads_with_the_ranking_score_and_keeps_the_weighted_view():
    scored = composite_scores(layers_frame(), {"constraint": 1.0, "annotation": 1.0}).with_columns(
        pl.Series("ranking_score", [0.1, 0.9, 0.5, 0.2]), pl.Series("top_evidence", ["a", "b", "c", ""]))
    scored = flag_thin_evidence(assign_tiers(scored, 0.6, 0.3, score="ranking_score"), thin_evidence=1)
    table = candidate_table(rank_candidates(scored, score="ranking_score"))
    assert table.columns[:10] == ["rank", "gene_symbol", "hgnc_id", "ensembl_gene_id", "ranking_score", "tier",
                                  "evidence_count", "thin_evidence", "top_evidence", "composite_score"]
    assert "ranking_score" not in layer_score_columns(table)
    assert table["gene_symbol"].to_list() == ["BBB", "CCC", "DDD", "AAA"]
    assert table["tier"].to_list() == ["HIGH", "MEDIUM", "LOW", "LOW"]
