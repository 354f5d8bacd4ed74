"""Scoring and report assets: composite score, tiers and rank; validation; the candidate table and report."""

import polars as pl

from usher_assets.assets.declare import pipeline_asset
from usher_assets.assets.exports import export_candidates, exported_files
from usher_assets.column_docs import describe_table
from usher_assets.schemas import CHROMOSOME, ENSEMBL_GENE_ID, GENE_SYMBOL, HGNC_ID, MGD_IDS, RANK
from usher_assets.storage.table_checks import TableCheck, id_checks, range_checks

LAYER_ASSETS = {
    "constraint": "constraint_evidence",
    "expression": "expression_evidence",
    "localization": "localization_evidence",
    "annotation": "annotation_evidence",
    "sensory_expression": "sensory_expression_evidence",
    "cilia_proximity": "cilia_proximity_evidence",
    "cilia_association": "cilia_association_evidence",
}
# The discovery view and its baselines, the model's label and the ranking's annotation parts need these.
EXTRA_LAYER_COLUMNS = ("go_cilium_annotated", "cilia_annotated", "cilia_signal", "go_sensory_evidence",
                       "go_term_count", "go_cilia_evidence", "go_context_terms", "context_gene_groups",
                       # Ubiquity (the ranking's housekeeping discount) reads the lowest-tissue expression.
                       "te_hpa_min_log2_tpm", "te_gtex_min_log2_tpm")


def join_layers(universe: pl.DataFrame, layers: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per universe gene: every layer's score column, the extras and the cilia model's features."""
    from usher_assets.scoring.cilia_model import MODEL_FEATURES

    features = {c for columns in MODEL_FEATURES.values() for c in columns}
    frame = universe.select(HGNC_ID, GENE_SYMBOL, ENSEMBL_GENE_ID, CHROMOSOME, mouse_orthologs())
    for name, layer in layers.items():
        keep = [c for c in layer.columns if c == f"{name}_score" or c in EXTRA_LAYER_COLUMNS or c in features]
        frame = frame.join(layer.select(HGNC_ID, *keep), on=HGNC_ID, how="left", maintain_order="left")
    return frame


def mouse_orthologs() -> pl.Expr:
    """MGI orthologs HGNC lists per gene (0 = none in mouse): the model's conservation feature."""
    return pl.col(MGD_IDS).list.len().cast(pl.Int64).alias("mouse_orthologs")


def active_weights(weights: dict[str, float], frame: pl.DataFrame) -> dict[str, float]:
    """The configured weights of the layers present, re-normalised to sum to 1."""
    present = {k: w for k, w in weights.items() if f"{k}_score" in frame.columns}
    total = sum(present.values())
    if total <= 0:
        raise ValueError(f"no configured layer weight applies to the layers present "
                         f"({[c for c in frame.columns if c.endswith('_score')]}); check scoring.weights")
    return {k: w / total for k, w in present.items()}


def judged_genes(gene_universe: pl.DataFrame, ciliaminer: pl.DataFrame) -> set[str]:
    """The validation genes (known Usher genes and CiliaMiner): never a training label."""
    from usher_assets.scoring.robustness import validation_gene_ids

    return validation_gene_ids(ciliaminer, gene_universe)


# What a broken release would break first: one row per gene, a total order, scores within [0, 1].
RANKING_CHECKS = (*id_checks(HGNC_ID), TableCheck("unique", (RANK,)), TableCheck("not_null", (RANK,)))
SCORES = ("ranking_score", "composite_score")


def protein_domains(pfam_domains: pl.DataFrame | None) -> pl.DataFrame | None:
    """One row per gene with Pfam domains: hgnc_id and its sorted distinct Pfam IDs (the model's domain input)."""
    from usher_assets.scoring.set_encoding import SET_FEATURES

    if pfam_domains is None or pfam_domains.height == 0:
        return None
    return (pfam_domains.drop_nulls(HGNC_ID).group_by(HGNC_ID)
            .agg(pl.col("pfam_id").unique().sort().alias(SET_FEATURES["protein_domain"])))


def with_protein_domains(layers: pl.DataFrame, domains: pl.DataFrame | None) -> pl.DataFrame:
    """``layers`` with the list column of Pfam domains (null for a gene without any), when there are domains."""
    if domains is None:
        return layers
    return layers.join(domains, on=HGNC_ID, how="left", maintain_order="left")


def _model_table(gene_universe, ciliaminer, pipeline, layer_frames: dict[str, pl.DataFrame],
                 pfam_domains: pl.DataFrame | None = None) -> tuple[pl.DataFrame, dict]:
    from usher_assets.scoring.gene_scores import cilia_model_table

    layers = join_layers(gene_universe, _by_layer(layer_frames))
    # Off (scoring.model.protein_domains) or not configured: no domain column, so no domain feature.
    if pipeline.scoring.model.protein_domains and pipeline.sources.get("pfam_domains") is not None:
        layers = with_protein_domains(layers, protein_domains(pfam_domains))
    excluded = judged_genes(gene_universe, ciliaminer)
    table = cilia_model_table(layers, excluded, pipeline.scoring.model)
    return table, {"genes_scored": table.height, "validation_genes_left_out": len(excluded),
                   "layers_left_out_one_by_one": [c.removeprefix("cilia_model_without_") for c in table.columns
                                                  if c.startswith("cilia_model_without_")]}


def _scores(gene_universe, cilia_model, pipeline, layer_frames: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, dict]:
    from usher_assets.scoring.gene_scores import score_genes

    layers = join_layers(gene_universe, _by_layer(layer_frames))
    weights = active_weights(pipeline.scoring.weights, layers)
    ranked = score_genes(layers, cilia_model, weights, pipeline.scoring)
    counts = dict(ranked.group_by("tier").len().iter_rows())
    # The ranking is the combination's weighted sum; the layer weights make only the weighted composite.
    return ranked, {"genes_scored": ranked.filter(pl.col("ranking_score").is_not_null()).height,
                    "ranking_combination": pipeline.scoring.combination.model_dump(),
                    "composite_weights": weights, "tiers": {str(k): int(v) for k, v in counts.items()},
                    "thin_evidence_in_top_50": int(ranked.head(50)["thin_evidence"].sum())}


def _by_layer(layer_frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Asset name -> frame as layer name -> frame."""
    names = {asset: layer for layer, asset in LAYER_ASSETS.items()}
    return {names[a]: f for a, f in layer_frames.items()}


def validation_for(gene_scores: pl.DataFrame, pipeline, gene_universe, ciliaminer) -> dict:
    from usher_assets.scoring.validation import validate_ranking

    weights = active_weights(pipeline.scoring.weights, gene_scores)
    return validate_ranking(gene_scores, weights, pipeline.scoring, gene_universe, ciliaminer)


def build_scoring_assets(layer_assets: tuple[str, ...] = tuple(LAYER_ASSETS.values())):
    """Scoring reads the given evidence layers (by default every layer the pipeline defines)."""

    # Its own asset, reading scoring.model only: reweighting the ranking reuses the trained model.
    @pipeline_asset(group="scoring", code_version="1", config_sections=("scoring.model",),
                    upstream=("gene_universe", "ciliaminer", "pfam_domains", *layer_assets),
                    columns=describe_table("cilia_model"),
                    checks=(*id_checks(HGNC_ID), *range_checks("cilia_model_percentile")))
    def cilia_model(pipeline, **inputs):
        """One row per protein-coding gene: its out-of-fold P(cilia) as a percentile, learnt from GO cilia genes
        (the validation genes never train it), and again with each feature layer left out in turn."""
        universe, ciliaminer, domains = inputs.pop("gene_universe"), inputs.pop("ciliaminer"), inputs.pop("pfam_domains")
        return _model_table(universe, ciliaminer, pipeline, inputs, domains)

    @pipeline_asset(group="scoring", code_version="6", config_sections=("scoring",),
                    upstream=("gene_universe", "cilia_model", *layer_assets),
                    columns=describe_table("gene_scores"),
                    checks=(*RANKING_CHECKS, *range_checks(*SCORES, "cilia_model_percentile",
                                                            *(f"{layer}_score" for layer in LAYER_ASSETS))))
    def gene_scores(pipeline, **inputs):
        """One row per protein-coding gene, ranked by the ranking score (out-of-fold cilia model + annotation +
        Usher sensory evidence): tier, thin-evidence flag, top evidence, the weighted composite and its rank."""
        universe, model = inputs.pop("gene_universe"), inputs.pop("cilia_model")
        return _scores(universe, model, pipeline, inputs)

    @pipeline_asset(group="scoring", code_version="5", config_sections=("scoring",),
                    columns=describe_table("ranking_validation"),
                    checks=(*id_checks("query_symbol"), TableCheck("not_null", (RANK,)),
                            *range_checks("percentile", bounds=(0.0, 100.0))))
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
            "discovery/beats_every_baseline": plain["strict_discovery"]["beats_every_baseline"],
            "validation": plain,
        }
        return known, metadata

    # Not the storage section: where the exports go is checked by `outputs` (a missing file reruns it).
    @pipeline_asset(group="report", code_version="7", config_sections=("scoring",),
                    kinds=("polars", "duckdb", "html"), outputs=exported_files, columns=describe_table("candidates"),
                    checks=(*RANKING_CHECKS, *range_checks(*SCORES)))
    def candidates(gene_scores, gene_universe, ciliaminer, pipeline):
        """One row per gene, best first: rank, IDs, composite score, tier, evidence count and layer scores."""
        return export_candidates(gene_scores, validation_for(gene_scores, pipeline, gene_universe, ciliaminer),
                                 pipeline)

    return [cilia_model, gene_scores, ranking_validation, candidates]
