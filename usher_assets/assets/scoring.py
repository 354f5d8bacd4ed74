"""Scoring and report assets: composite score, tiers and rank; validation; the candidate table and report."""

import polars as pl

from usher_assets.assets.declare import pipeline_asset
from usher_assets.assets.exports import export_candidates, exported_files
from usher_assets.schemas import CHROMOSOME, ENSEMBL_GENE_ID, GENE_SYMBOL, HGNC_ID

LAYER_ASSETS = {
    "constraint": "constraint_evidence",
    "expression": "expression_evidence",
    "localization": "localization_evidence",
    "annotation": "annotation_evidence",
    "sensory_expression": "sensory_expression_evidence",
    "cilia_proximity": "cilia_proximity_evidence",
}
EXTRA_LAYER_COLUMNS = ("go_cilium_annotated",)  # the discovery view needs it


def join_layers(universe: pl.DataFrame, layers: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per universe gene with every layer's score column (NULL where a layer has nothing)."""
    frame = universe.select(HGNC_ID, GENE_SYMBOL, ENSEMBL_GENE_ID, CHROMOSOME)
    for name, layer in layers.items():
        keep = [c for c in layer.columns if c == f"{name}_score" or c in EXTRA_LAYER_COLUMNS]
        frame = frame.join(layer.select(HGNC_ID, *keep), on=HGNC_ID, how="left", maintain_order="left")
    return frame


def active_weights(weights: dict[str, float], frame: pl.DataFrame) -> dict[str, float]:
    """The configured weights of the layers present, re-normalised to sum to 1."""
    present = {k: w for k, w in weights.items() if f"{k}_score" in frame.columns}
    total = sum(present.values())
    if total <= 0:
        raise ValueError(f"no configured layer weight applies to the layers present "
                         f"({[c for c in frame.columns if c.endswith('_score')]}); check scoring.weights")
    return {k: w / total for k, w in present.items()}


def _scores(gene_universe, pipeline, layer_frames: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, dict]:
    from usher_assets.scoring.composite import assign_tiers, composite_scores, rank_candidates

    names = {asset: layer for layer, asset in LAYER_ASSETS.items()}
    layers = join_layers(gene_universe, {names[a]: f for a, f in layer_frames.items()})
    weights = active_weights(pipeline.scoring.weights, layers)
    tiers = pipeline.scoring.tiers
    ranked = rank_candidates(assign_tiers(composite_scores(layers, weights), tiers.high, tiers.medium,
                                          tiers.min_evidence))
    counts = dict(ranked.group_by("tier").len().iter_rows())
    return ranked, {"genes_scored": ranked.filter(pl.col("composite_score").is_not_null()).height,
                    "weights_used": weights, "tiers": {str(k): int(v) for k, v in counts.items()}}


def validation_for(gene_scores: pl.DataFrame, pipeline, gene_universe, ciliaminer) -> dict:
    from usher_assets.scoring.validation import validate_ranking

    # Validation re-ranks from the layer scores itself (for sensitivity and leave-one-out).
    layers = gene_scores.drop(["rank", "composite_score", "evidence_count", "tier"], strict=False)
    weights = active_weights(pipeline.scoring.weights, layers)
    return validate_ranking(layers, weights, gene_universe, ciliaminer)


def build_scoring_assets(layer_assets: tuple[str, ...] = tuple(LAYER_ASSETS.values())):
    """Scoring reads the given evidence layers (by default every layer the pipeline defines)."""

    @pipeline_asset(group="scoring", code_version="1", config_sections=("scoring",),
                        upstream=("gene_universe", *layer_assets))
    def gene_scores(pipeline, **inputs):
        """One row per protein-coding gene: layer scores, NULL-aware weighted composite, evidence count, tier, rank."""
        universe = inputs.pop("gene_universe")
        return _scores(universe, pipeline, inputs)

    @pipeline_asset(group="scoring", code_version="1", config_sections=("scoring",))
    def ranking_validation(gene_scores, gene_universe, ciliaminer, pipeline):
        """One row per known Usher gene and negative control: its rank and percentile (validation, never a feature)."""
        from usher_assets.scoring.validation import validation_metadata

        validation = validation_for(gene_scores, pipeline, gene_universe, ciliaminer)
        known = validation["known_genes"]
        plain = validation_metadata(validation)
        metadata = {
            "known/median_percentile": plain["known_metrics"]["all"]["median_percentile"],
            "known/top10_count": plain["known_metrics"]["all"]["top_count"],
            "known/core_median_percentile": plain["known_metrics"]["core"]["median_percentile"],
            "controls/median_percentile": plain["negative_controls"]["all"]["median_percentile"],
            "sensitivity/min_spearman": plain["sensitivity_min_spearman"],
            "validation": plain,
        }
        return known, metadata

    # Not the storage section: where the exports go is checked by `outputs` (a missing file reruns it).
    @pipeline_asset(group="report", code_version="3", config_sections=("scoring",),
                        kinds=("polars", "duckdb", "html"), outputs=exported_files)
    def candidates(gene_scores, gene_universe, ciliaminer, pipeline):
        """One row per gene, best first: rank, IDs, composite score, tier, evidence count and layer scores."""
        return export_candidates(gene_scores, validation_for(gene_scores, pipeline, gene_universe, ciliaminer),
                                 pipeline)

    return [gene_scores, ranking_validation, candidates]
