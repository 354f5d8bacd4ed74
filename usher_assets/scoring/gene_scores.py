"""The scoring transforms: the out-of-fold cilia model (cilia_model), and gene_scores: the weighted view, the
ranking score over the model and the evidence, tiers."""

import polars as pl

from usher_assets.schemas import COMPOSITE_SCORE, HGNC_ID, RANK
from usher_assets.scoring.cilia_model import out_of_fold_variants, percentile_of, present_layers, set_columns
from usher_assets.scoring.combination import (
    CILIA_MODEL,
    RANKING_SCORE,
    TOP_EVIDENCE,
    hair_cell_evidence,
    housekeeping_columns,
    ranking_score,
    top_evidence,
    without_column,
)
from usher_assets.scoring.composite import assign_tiers, composite_scores, flag_thin_evidence, rank_candidates

WEIGHTED_RANK = "weighted_rank"


def cilia_model_table(layers: pl.DataFrame, exclude: set[str], model_config) -> pl.DataFrame:
    """hgnc_id, the model percentile, and one percentile per feature layer with that layer's features left out.

    ``layers`` is join_layers output; ``exclude`` are the validation genes, kept out of the model's training.
    Each gene's scores depend on the features and the model settings only, never on the row order or the
    ranking's weights, so the model is an asset of its own that a reweighting does not retrain.
    """
    present = present_layers(layers)
    # Retraining without each layer gives its leave-one-out row and each gene's strongest layer.
    left_out = [name for name in present if len(present) > 1]
    scores = out_of_fold_variants(layers, exclude, model_config, [None, *left_out])
    columns = {CILIA_MODEL: percentile_of(scores[0])}
    for layer, values in zip(left_out, scores[1:]):
        columns[without_column(layer)] = percentile_of(values)
    return layers.select(HGNC_ID).with_columns(pl.Series(name, values, dtype=pl.Float64)
                                               for name, values in columns.items())


def score_genes(layers: pl.DataFrame, cilia_model: pl.DataFrame, weights: dict[str, float], scoring) -> pl.DataFrame:
    """Every gene ranked by the ranking score, with the weighted composite and its rank beside it.

    ``layers`` is join_layers output (layer scores, model features, the annotation columns);
    ``cilia_model`` is cilia_model_table output for the same genes.
    """
    weighted = rank_candidates(composite_scores(layers, weights)).rename({RANK: WEIGHTED_RANK})
    scored = (weighted.with_columns(hair_cell_evidence(weighted))
              .join(cilia_model, on=HGNC_ID, how="left", maintain_order="left"))
    scored = scored.with_columns(housekeeping_columns(scored, scoring.housekeeping))
    scored = scored.with_columns(ranking_score(scored, scoring.combination))
    scored = scored.with_columns(top_evidence(scored, scoring.combination))
    tiers = scoring.tiers
    tiered = assign_tiers(scored, tiers.high, tiers.medium, score=RANKING_SCORE)
    tiered = flag_thin_evidence(tiered, tiers.thin_evidence)
    ranked = rank_candidates(tiered, score=RANKING_SCORE)
    # The model's list inputs stay in annotation_evidence; gene_scores holds one value per cell.
    return ranked.select(RANK, RANKING_SCORE, COMPOSITE_SCORE, WEIGHTED_RANK, TOP_EVIDENCE,
                         pl.exclude(RANK, RANKING_SCORE, COMPOSITE_SCORE, WEIGHTED_RANK, TOP_EVIDENCE,
                                    *set_columns(ranked)))
