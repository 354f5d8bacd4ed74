"""Cilia association layer: guilt by association with GO cilia genes, in the interactomes and in tissue expression.

The seeds are the genes the annotation layer calls ciliary, minus every gene the validation judges,
and every interaction edge touching a judged gene is dropped first, so the labels never vote.
"""

from collections.abc import Iterable

import numpy as np
import polars as pl

from usher_assets.evidence.cilia_proximity import drop_excluded_edges
from usher_assets.evidence.layer_tools import mean_of_available, percentile_rank
from usher_assets.schemas import HGNC_ID

SCORE = "cilia_association_score"
LAYER_COLUMNS = [HGNC_ID, "network_partners", "network_cilia_partners", "network_cilia_fraction",
                 "coexpression_cilia", SCORE]
# Tissues measured in fewer datasets than this leave a gene without a co-expression value.
MIN_TISSUES = 10


def _partners(bioid: pl.DataFrame, tap_ms: pl.DataFrame, exclude: set[str]) -> pl.DataFrame:
    """Undirected partner pairs (hgnc_id, partner) of both interactomes, judged genes removed."""
    edges = pl.concat([
        drop_excluded_edges(bioid, "bait_hgnc_id", "prey_hgnc_id", exclude)
        .select(pl.col("bait_hgnc_id").alias("a"), pl.col("prey_hgnc_id").alias("b")),
        drop_excluded_edges(tap_ms, "protein_a_hgnc_id", "protein_b_hgnc_id", exclude)
        .select(pl.col("protein_a_hgnc_id").alias("a"), pl.col("protein_b_hgnc_id").alias("b")),
    ]).drop_nulls()
    return pl.concat([edges.rename({"a": HGNC_ID, "b": "partner"}),
                      edges.rename({"b": HGNC_ID, "a": "partner"}).select(HGNC_ID, "partner")]).unique()


def network_features(bioid: pl.DataFrame, tap_ms: pl.DataFrame, seeds: set[str], exclude: set[str]) -> pl.DataFrame:
    """Per gene with a partner: partners, partners that are seeds, and their fraction."""
    pairs = _partners(bioid, tap_ms, exclude)
    return pairs.group_by(HGNC_ID).agg(
        pl.col("partner").n_unique().cast(pl.Int64).alias("network_partners"),
        pl.col("partner").is_in(list(seeds)).sum().cast(pl.Int64).alias("network_cilia_partners"),
    ).with_columns((pl.col("network_cilia_partners") / pl.col("network_partners")).alias("network_cilia_fraction"))


def coexpression_features(tissue_expression: pl.DataFrame, seeds: set[str]) -> pl.DataFrame:
    """Per gene with a tissue profile: Pearson correlation of its profile with the seeds' mean profile.

    A profile is log2(TPM + 1) over every (dataset, tissue), centred and scaled per gene so that a
    highly expressed gene is not alike just by level. A seed is correlated with the mean of the
    other seeds (its own profile left out), so a positive never sees itself.
    """
    wide = (tissue_expression.drop_nulls(HGNC_ID)
            .group_by(HGNC_ID, "dataset", "tissue").agg(pl.col("tpm").cast(pl.Float64).max())
            .with_columns((pl.col("dataset") + ":" + pl.col("tissue")).alias("key"),
                          (pl.col("tpm") + 1.0).log(2).alias("value"))
            .pivot(on="key", index=HGNC_ID, values="value")
            .sort(HGNC_ID))
    keys = sorted(c for c in wide.columns if c != HGNC_ID)
    values = wide.select(keys).to_numpy().astype(float)
    measured = np.isfinite(values).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (values - np.nanmean(values, axis=1, keepdims=True)) / np.nanstd(values, axis=1, keepdims=True)
    z = np.nan_to_num(z)  # an unmeasured tissue, or a flat profile, says nothing
    is_seed = wide[HGNC_ID].is_in(list(seeds)).to_numpy()
    if is_seed.sum() < 2:
        raise ValueError(f"co-expression needs at least two seed genes with a tissue profile, found {is_seed.sum()}")
    total = z[is_seed].sum(axis=0)
    centroid = np.where(is_seed[:, None], (total - z) / (is_seed.sum() - 1), total / is_seed.sum())
    centroid = (centroid - centroid.mean(axis=1, keepdims=True)) / centroid.std(axis=1, keepdims=True)
    correlation = np.where(measured >= MIN_TISSUES, (z * centroid).mean(axis=1), np.nan)
    return pl.DataFrame({HGNC_ID: wide[HGNC_ID], "coexpression_cilia": correlation}).with_columns(
        pl.col("coexpression_cilia").fill_nan(None))


def cilia_association_layer(
    universe: pl.DataFrame,
    cilia_annotated: pl.DataFrame,
    bioid: pl.DataFrame,
    tap_ms: pl.DataFrame,
    tissue_expression: pl.DataFrame,
    exclude_hgnc_ids: Iterable[str],
) -> pl.DataFrame:
    """One row per universe gene: network_partners, network_cilia_partners (Int64), network_cilia_fraction,
    coexpression_cilia, cilia_association_score (Float64 in [0, 1]); null where a source says nothing.

    ``cilia_annotated`` is the annotation layer's (hgnc_id, cilia_annotated); its true genes less
    ``exclude_hgnc_ids`` are the seeds. Score: the mean of the components a gene has, the
    percentile rank of network_cilia_fraction among genes with partners, and of coexpression_cilia
    among genes with a tissue profile.
    """
    exclude = set(exclude_hgnc_ids)
    seeds = set(cilia_annotated.filter(pl.col("cilia_annotated"))[HGNC_ID]) - exclude
    frame = universe.select(HGNC_ID)
    for features in (network_features(bioid, tap_ms, seeds, exclude), coexpression_features(tissue_expression, seeds)):
        frame = frame.join(features, on=HGNC_ID, how="left", maintain_order="left")
    score = mean_of_available(["_network", "_coexpression"])
    return (frame.with_columns(percentile_rank("network_cilia_fraction").alias("_network"),
                               percentile_rank("coexpression_cilia").alias("_coexpression"))
            .with_columns(score.cast(pl.Float64).alias(SCORE))
            .select(LAYER_COLUMNS))
