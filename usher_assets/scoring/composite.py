"""The weighted composite over whichever evidence layers a gene has, tiers, flags and a deterministic rank."""

import polars as pl

from usher_assets.schemas import (
    COMPOSITE_SCORE,
    ENSEMBL_GENE_ID,
    EVIDENCE_COUNT,
    GENE_SYMBOL,
    HGNC_ID,
    LAYER_SCORE_SUFFIX,
    RANK,
    TIER,
)

TIERS = ("HIGH", "MEDIUM", "LOW")
THIN_EVIDENCE = "thin_evidence"
# Best first; the last two keys make the order total, so equal scores rank the same every run.
RANK_ORDER = [(COMPOSITE_SCORE, True), (EVIDENCE_COUNT, True), (GENE_SYMBOL, False), (HGNC_ID, False)]


def layer_score_column(layer: str) -> str:
    """``constraint`` -> ``constraint_score``; a name that already ends in _score is kept."""
    return layer if layer.endswith(LAYER_SCORE_SUFFIX) else f"{layer}{LAYER_SCORE_SUFFIX}"


def layer_score_columns(frame: pl.DataFrame) -> list[str]:
    """The per-layer score columns of a frame (everything ending in _score but the two combined scores)."""
    return [c for c in frame.columns if c.endswith(LAYER_SCORE_SUFFIX) and c not in (COMPOSITE_SCORE, "ranking_score")]


def composite_scores(layers: pl.DataFrame, weights: dict[str, float]) -> pl.DataFrame:
    """Add ``composite_score`` and ``evidence_count`` to a frame of per-layer scores.

    ``weights`` maps layer names (``constraint`` or ``constraint_score``) to non-negative
    weights. A gene's composite is the weighted mean over the layers it has, with the
    weights re-normalised over its non-null layers, so missing evidence neither helps
    nor hurts; it is null when the gene has no weighted layer. Score columns without a
    weight are kept but not used (that is how a layer is left out).
    """
    if not weights:
        raise ValueError("composite_scores: expected at least one layer weight, found none")
    columns = {layer_score_column(name): float(w) for name, w in weights.items()}
    missing = [c for c in columns if c not in layers.columns]
    if missing:
        raise ValueError(f"composite_scores: weights name layers {missing} but the frame has only "
                         f"{layer_score_columns(layers)}; join that layer in or drop its weight")
    negative = {c: w for c, w in columns.items() if w < 0}
    if negative:
        raise ValueError(f"composite_scores: expected weights >= 0, found {negative}")
    present = {c: pl.col(c).is_not_null() for c in columns}
    weighted_sum = pl.sum_horizontal([pl.col(c).fill_null(0.0) * w for c, w in columns.items()])
    weight_sum = pl.sum_horizontal([present[c].cast(pl.Float64) * w for c, w in columns.items()])
    count = pl.sum_horizontal([present[c].cast(pl.Int32) for c in columns]).cast(pl.Int32)
    return layers.with_columns(
        pl.when(weight_sum > 0).then(weighted_sum / weight_sum).alias(COMPOSITE_SCORE),
        count.alias(EVIDENCE_COUNT),
    )


def assign_tiers(frame: pl.DataFrame, high: float, medium: float, score: str = COMPOSITE_SCORE) -> pl.DataFrame:
    """Add ``tier``: HIGH (score >= ``high``), MEDIUM (>= ``medium``) or LOW (below, or null).

    Tiers cut the score the rank follows, so no gene ranked above a HIGH gene is MEDIUM or LOW;
    thin evidence is shown by flag_thin_evidence instead of a demotion.
    """
    if not 0 <= medium <= high <= 1:
        raise ValueError(f"assign_tiers: expected 0 <= medium <= high <= 1, found medium={medium}, "
                         f"high={high}")
    value = pl.col(score)
    return frame.with_columns(
        pl.when(value >= high).then(pl.lit("HIGH"))
        .when(value >= medium).then(pl.lit("MEDIUM"))
        .otherwise(pl.lit("LOW"))
        .alias(TIER)
    )


def flag_thin_evidence(frame: pl.DataFrame, thin_evidence: int) -> pl.DataFrame:
    """Add ``thin_evidence``: true for a gene with at most ``thin_evidence`` layers."""
    if thin_evidence < 0:
        raise ValueError(f"flag_thin_evidence: expected thin_evidence >= 0, found {thin_evidence}")
    return frame.with_columns((pl.col(EVIDENCE_COUNT) <= thin_evidence).alias(THIN_EVIDENCE))


def rank_candidates(frame: pl.DataFrame, score: str = COMPOSITE_SCORE) -> pl.DataFrame:
    """Sort best first and add ``rank`` (1 = best) as the first column.

    Order: ``score`` descending (null last), evidence_count descending, gene_symbol ascending,
    hgnc_id ascending. Ranks are 1..n with no shared ranks.
    """
    columns, descending = zip(*[(score, True), *RANK_ORDER[1:]])
    ranked = frame.drop(RANK, strict=False).sort(list(columns), descending=list(descending), nulls_last=True)
    ranked = ranked.with_row_index(RANK, offset=1).with_columns(pl.col(RANK).cast(pl.Int64))
    return ranked.select(RANK, pl.exclude(RANK))


def candidate_table(frame: pl.DataFrame) -> pl.DataFrame:
    """The report's candidate columns, in order: rank, ids, score, tier, evidence, then the extras and layers.

    Extras, when present: thin_evidence, top_evidence, the weighted composite (the second view)
    and its rank.
    """
    score = "ranking_score" if "ranking_score" in frame.columns else COMPOSITE_SCORE
    fixed = [RANK, GENE_SYMBOL, HGNC_ID, ENSEMBL_GENE_ID, score, TIER, EVIDENCE_COUNT]
    missing = [c for c in fixed if c not in frame.columns]
    if missing:
        raise ValueError(f"candidate_table: expected columns {missing}, found {frame.columns}; "
                         "run composite_scores, assign_tiers and rank_candidates first")
    extras = [c for c in (THIN_EVIDENCE, "top_evidence", COMPOSITE_SCORE, "weighted_rank", "cilia_model_percentile")
              if c in frame.columns and c not in fixed]
    return frame.select(*fixed, *extras, *layer_score_columns(frame))
