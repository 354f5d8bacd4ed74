"""Cilia proximity layer: the cilium proteome, BioID and TAP-MS neighbours, and the ciliogenesis screen.

Interaction features are guilt by association, so every edge touching an excluded gene (the
validation labels) is removed before any feature is computed.
"""

from collections.abc import Iterable

import polars as pl

from usher_assets.evidence.sensory_expression import percentile_rank
from usher_assets.schemas import HGNC_ID

SCORE = "cilia_proximity_score"
LAYER_COLUMNS = [HGNC_ID, "proteome_tier", "proteome_spectral_counts", "bioid_max_saint", "bioid_bait_count",
                 "screen_hit", "tap_ms_partners", SCORE]
# Tier 1 is Mick et al.'s high-confidence ciliary set; Tier 2 is weaker evidence.
TIER_SCORES = {1: 1.0, 2: 0.5}


def _require(frame: pl.DataFrame, name: str, columns: list[str]) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} needs column(s) {missing}; it has {frame.columns}")


def drop_excluded_edges(edges: pl.DataFrame, first: str, second: str, exclude: set[str]) -> pl.DataFrame:
    """Edges with neither end in `exclude`, and no self-edges."""
    return edges.filter(~pl.col(first).is_in(exclude) & ~pl.col(second).is_in(exclude)
                        & (pl.col(first) != pl.col(second)))


def _proteome_features(proteome: pl.DataFrame) -> pl.DataFrame:
    # Best tier first, then most spectra: one row per gene even if isoforms were listed twice.
    return (proteome.drop_nulls(HGNC_ID).sort("tier", pl.col("spectral_counts"), descending=[False, True])
            .unique(HGNC_ID, keep="first")
            .select(HGNC_ID, pl.col("tier").cast(pl.Int8).alias("proteome_tier"),
                    pl.col("spectral_counts").cast(pl.Int64).alias("proteome_spectral_counts")))


def _bioid_features(bioid: pl.DataFrame, exclude: set[str]) -> pl.DataFrame:
    # Prey-centred: a bait was chosen for being a known centrosome/cilia protein, so it is a
    # neighbour here, not a measured gene. AvgSAINT is the replicate-averaged probability.
    edges = drop_excluded_edges(bioid, "bait_hgnc_id", "prey_hgnc_id", exclude)
    return edges.group_by("prey_hgnc_id").agg(
        pl.col("avg_saint").max().cast(pl.Float64).alias("bioid_max_saint"),
        pl.col("bait_hgnc_id").n_unique().cast(pl.Int64).alias("bioid_bait_count"),
    ).rename({"prey_hgnc_id": HGNC_ID})


def _tap_ms_features(tap_ms: pl.DataFrame, exclude: set[str]) -> pl.DataFrame:
    edges = drop_excluded_edges(tap_ms, "protein_a_hgnc_id", "protein_b_hgnc_id", exclude)
    both_ways = pl.concat([
        edges.select(pl.col("protein_a_hgnc_id").alias(HGNC_ID), pl.col("protein_b_hgnc_id").alias("partner")),
        edges.select(pl.col("protein_b_hgnc_id").alias(HGNC_ID), pl.col("protein_a_hgnc_id").alias("partner")),
    ])
    return both_ways.group_by(HGNC_ID).agg(pl.col("partner").n_unique().cast(pl.Int64).alias("tap_ms_partners"))


def _screen_features(screen_hits: pl.DataFrame) -> pl.DataFrame:
    # The cilia screen counts positive and negative ciliogenesis regulators; null = not screened.
    return (screen_hits.drop_nulls(HGNC_ID).group_by(HGNC_ID)
            .agg(pl.col("hit_cilia_screen").max().alias("screen_hit")))


def cilia_proximity_layer(
    universe: pl.DataFrame,
    proteome_human: pl.DataFrame,
    bioid: pl.DataFrame,
    screen_hits: pl.DataFrame,
    tap_ms: pl.DataFrame,
    exclude_hgnc_ids: Iterable[str],
) -> pl.DataFrame:
    """One row per universe gene: hgnc_id, proteome_tier (Int8), proteome_spectral_counts,
    bioid_max_saint (Float64), bioid_bait_count, screen_hit (Boolean), tap_ms_partners (Int64),
    cilia_proximity_score (Float64 in [0, 1]); null wherever the source says nothing.

    Inputs carry human IDs: proteome_human (hgnc_id, tier, spectral_counts), bioid
    (bait_hgnc_id, prey_hgnc_id, avg_saint), screen_hits (hgnc_id, hit_cilia_screen), tap_ms
    (protein_a_hgnc_id, protein_b_hgnc_id). Edges touching `exclude_hgnc_ids` are dropped first,
    so an excluded gene has null interaction features and its partners do not count it.

    Score: the mean of the components a gene has, each in [0, 1]: proteome tier (1 -> 1.0,
    2 -> 0.5); BioID (mean percentile rank of bait count and best SAINT among preys); TAP-MS
    (percentile rank of partner count among interactors); screen (hit 1.0, screened non-hit 0.0).
    """
    _require(proteome_human, "proteome_human", [HGNC_ID, "tier", "spectral_counts"])
    _require(bioid, "bioid", ["bait_hgnc_id", "prey_hgnc_id", "avg_saint"])
    _require(screen_hits, "screen_hits", [HGNC_ID, "hit_cilia_screen"])
    _require(tap_ms, "tap_ms", ["protein_a_hgnc_id", "protein_b_hgnc_id"])
    exclude = set(exclude_hgnc_ids)
    frame = universe.select(HGNC_ID)
    for features in (_proteome_features(proteome_human), _bioid_features(bioid, exclude),
                     _screen_features(screen_hits), _tap_ms_features(tap_ms, exclude)):
        frame = frame.join(features, on=HGNC_ID, how="left")
    components = [
        pl.col("proteome_tier").replace_strict(TIER_SCORES, default=None, return_dtype=pl.Float64),
        pl.mean_horizontal(percentile_rank("bioid_bait_count"), percentile_rank("bioid_max_saint")),
        percentile_rank("tap_ms_partners"),
        pl.col("screen_hit").cast(pl.Float64),
    ]
    return frame.with_columns(pl.mean_horizontal(components).cast(pl.Float64).alias(SCORE)).select(LAYER_COLUMNS)
