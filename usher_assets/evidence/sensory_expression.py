"""Sensory expression layer: enrichment in inner-ear hair cells (mouse) and lung ciliated cells (human)."""

import polars as pl

from usher_assets.schemas import HGNC_ID

SCORE = "sensory_expression_score"
HAIR_COLUMNS = ["hair_cell_log2fc", "hair_cell_groups_enriched", "hair_cell_groups_measured"]
LAYER_COLUMNS = [HGNC_ID, *HAIR_COLUMNS, "ciliated_logfc", SCORE]


def percentile_rank(column: str) -> pl.Expr:
    """Rank / count among non-null values, in (0, 1]; ties share their average rank; null stays null.

    Ranks ignore how far apart values are, so one extreme gene cannot squash the rest.
    """
    return pl.col(column).rank("average") / pl.col(column).count()


def _require(frame: pl.DataFrame, name: str, columns: list[str]) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} needs column(s) {missing}; it has {frame.columns}")


def sensory_expression_layer(
    universe: pl.DataFrame, hair_cell_enrichment_human: pl.DataFrame, ciliated_markers_human: pl.DataFrame
) -> pl.DataFrame:
    """One row per universe gene: hgnc_id, hair_cell_log2fc, hair_cell_groups_enriched,
    hair_cell_groups_measured (Int64), ciliated_logfc, sensory_expression_score (Float64 in [0, 1]).

    `hair_cell_enrichment_human` is `hair_cell_enrichment` output after `map_mouse_to_human`
    (one row per hgnc_id); `ciliated_markers_human` is `parse_ciliated_cell_markers` output
    after `map_to_universe` (ciliated_logfc is a gene's best avg_logfc over both ciliated types).

    Score: the stronger of two cell-type signals, each a rank among the universe genes the
    source measured.
    - Hair cells: mean of the percentile rank of hair_cell_log2fc and the fraction of
      organ/age groups enriched. Every measured gene gets a value, so a measured gene that is
      not enriched scores low (near 0), not null.
    - Lung ciliated cells: 0.5 + 0.5 x percentile rank of ciliated_logfc among listed markers.
      The table lists only significantly enriched genes, so any listed gene sits in the upper
      half; an unlisted gene is null (no statement), not low.
    A gene neither source measured is null.
    """
    _require(hair_cell_enrichment_human, "hair_cell_enrichment_human", [HGNC_ID, *HAIR_COLUMNS])
    _require(ciliated_markers_human, "ciliated_markers_human", [HGNC_ID, "avg_logfc"])
    repeated = hair_cell_enrichment_human.filter(pl.col(HGNC_ID).is_duplicated())[HGNC_ID].unique().sort()
    if len(repeated):
        raise ValueError(f"hair_cell_enrichment_human has several rows for {repeated.head(5).to_list()}; "
                         "map it with map_mouse_to_human, which keeps one row per human gene")
    ciliated = (ciliated_markers_human.drop_nulls(HGNC_ID).group_by(HGNC_ID)
                .agg(pl.col("avg_logfc").max().alias("ciliated_logfc")))
    groups_fraction = (pl.when(pl.col("hair_cell_groups_measured") > 0)
                       .then(pl.col("hair_cell_groups_enriched") / pl.col("hair_cell_groups_measured")))
    return (
        universe.select(HGNC_ID)
        .join(hair_cell_enrichment_human.select(HGNC_ID, *HAIR_COLUMNS), on=HGNC_ID, how="left")
        .join(ciliated, on=HGNC_ID, how="left")
        .with_columns(
            pl.col("hair_cell_log2fc").cast(pl.Float64),
            pl.col("hair_cell_groups_enriched", "hair_cell_groups_measured").cast(pl.Int64),
            pl.col("ciliated_logfc").cast(pl.Float64),
        )
        .with_columns(
            pl.mean_horizontal(percentile_rank("hair_cell_log2fc"), groups_fraction).alias("_hair"),
            (0.5 + 0.5 * percentile_rank("ciliated_logfc")).alias("_ciliated"),
        )
        .with_columns(pl.max_horizontal("_hair", "_ciliated").cast(pl.Float64).alias(SCORE))
        .select(LAYER_COLUMNS)
    )
