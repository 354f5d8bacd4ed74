"""Validation of the rankings against labels they never saw: known Usher genes, controls, CiliaMiner."""

import polars as pl

from usher_assets.schemas import RANK
from usher_assets.scoring.cilia_model import MODEL_ONLY_LAYERS, OPTIONAL_MODEL_LAYERS
from usher_assets.scoring.combination import RANKING_SCORE, ranking_score, without_column
from usher_assets.scoring.composite import EVIDENCE_COUNT, THIN_EVIDENCE, rank_candidates
from usher_assets.scoring.discovery import compare_on_labels, strict_discovery, strict_subset
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
    combination_sensitivity,
    layer_coverage,
    leave_one_layer_out,
    weight_sensitivity,
)

TOP_N = 50
RANKING = "ranking (cilia model + annotation + Usher sensory)"
WEIGHTED = "weighted composite (second view)"


def _controls(ranked: pl.DataFrame, universe: pl.DataFrame) -> dict:
    controls = label_positions(ranked, negative_control_genes(universe))
    return {"all": percentile_metrics(controls),
            "housekeeping": percentile_metrics(controls.filter(pl.col("group") == "housekeeping")),
            "ribosomal": percentile_metrics(controls.filter(pl.col("group") == "ribosomal"))}


def ranking_leave_one_layer_out(scores: pl.DataFrame, scoring, known: pl.DataFrame,
                                labels: set[str] | None) -> pl.DataFrame:
    """Known-gene metrics and, with labels, the strict discovery figures with each layer dropped from the ranking."""
    rows = []
    model_only = [layer for layer in MODEL_ONLY_LAYERS
                  if layer not in OPTIONAL_MODEL_LAYERS or without_column(layer) in scores.columns]
    for left_out in [None, *scoring.weights, *model_only]:
        frame = scores.with_columns(ranking_score(scores, scoring.combination, without=left_out))
        metrics = known_gene_metrics(add_percentiles(rank_candidates(frame, score=RANKING_SCORE)), known)
        row = {"left_out": left_out or "(none)", "known_median_percentile": metrics["all"]["median_percentile"],
               "core_median_percentile": metrics["core"]["median_percentile"],
               "known_top_count": metrics["all"]["top_count"]}
        if labels is not None:
            strict = compare_on_labels(strict_subset(frame), {"ranking": pl.col(RANKING_SCORE)}, labels,
                                       samples=scoring.bootstrap_samples, seed=scoring.model.seed).row(0, named=True)
            row |= {k: strict[k] for k in ("enrichment", "enrichment_low", "enrichment_high", "auroc")}
        rows.append(row)
    return pl.DataFrame(rows)


def validate_ranking(scores: pl.DataFrame, weights: dict[str, float], scoring, universe: pl.DataFrame,
                     ciliaminer: pl.DataFrame | None = None) -> dict:
    """Every validation view of gene_scores (ranked by the ranking score) and of its weighted composite.

    Returns plain values and polars frames: known_genes, known_metrics, negative_controls, top_thin_evidence,
    weighted_view (known and control metrics of the weighted composite), sensitivity (the combination's weights)
    and weighted_sensitivity, leave_one_layer_out (the ranking) and weighted_leave_one_layer_out, strict_discovery
    (None without ``ciliaminer``) and coverage.
    """
    ranked = add_percentiles(scores.sort(RANK))
    known = known_usher_genes(universe)
    layers = scores.drop([RANK, "composite_score", EVIDENCE_COUNT, "tier"], strict=False)
    weighted = rank_layers(layers, weights)
    sensitivity = combination_sensitivity(scores, scoring.combination)
    weighted_sensitivity = weight_sensitivity(layers, weights)
    labels = set(ciliopathy_labels(ciliaminer, universe)["hgnc_id"]) if ciliaminer is not None else None
    discovery = None
    if labels is not None:
        methods = {RANKING: pl.col(RANKING_SCORE), WEIGHTED: pl.col("composite_score")}
        discovery = strict_discovery(scores, methods, labels, samples=scoring.bootstrap_samples,
                                     seed=scoring.model.seed)
    top = ranked.head(TOP_N)
    return {
        "known_genes": label_positions(ranked, known),
        "known_metrics": known_gene_metrics(ranked, known),
        "negative_controls": _controls(ranked, universe),
        "top_thin_evidence": {"top_n": TOP_N, "thin_count": int(top[THIN_EVIDENCE].sum()),
                              "max_layers_counted_thin": scoring.tiers.thin_evidence},
        "weighted_view": {"known_metrics": known_gene_metrics(weighted, known),
                          "negative_controls": _controls(weighted, universe)},
        "sensitivity": sensitivity,
        "sensitivity_min_spearman": float(sensitivity["spearman"].min()),
        "weighted_sensitivity": weighted_sensitivity,
        "leave_one_layer_out": ranking_leave_one_layer_out(scores, scoring, known, labels),
        "weighted_leave_one_layer_out": leave_one_layer_out(layers, weights, known),
        "strict_discovery": discovery,
        "coverage": layer_coverage(layers, weights),
        "method": method_description(scoring) | {"cilia_model_check": model_check(scores, known, labels,
                                                                                         scoring.combination)},
    }


def model_check(scores: pl.DataFrame, known: pl.DataFrame, labels: set[str] | None, combination) -> dict:
    """The selection criterion's figures (GO labels only; see model_selection) for this run."""
    from usher_assets.scoring.model_selection import CRITERION, selection_figures

    judged = set(known["hgnc_id"].drop_nulls()) | (labels or set())
    figures = selection_figures(scores, judged, combination)
    first = figures.row(0, named=True)
    return {"criterion": CRITERION, "training_genes": scores.height - len(judged & set(scores["hgnc_id"])),
            "positives": first["n_labels"], "out_of_fold_auroc": first["auroc"],
            "out_of_fold_top10_enrichment": first["enrichment"], "views": figures.to_dicts()}


def method_description(scoring) -> dict:
    """What produced the ranking, in words and settings, for validation.json and the report."""
    return {
        "ranking_score": "weighted sum of: the out-of-fold cilia-model percentile, discounted for genes expressed "
                         "highly in every tissue (housekeeping_factor = 1 - penalty x ubiquity); the annotation "
                         "layer's cilia signal; Usher sensory evidence (the stronger of hair-cell enrichment and "
                         "GO hearing/vision function). Missing sensory or annotation evidence adds nothing.",
        "cilia_model": "positives: genes the annotation layer calls ciliary; the 17 known Usher genes and CiliaMiner "
                       "are out of training (and their interaction edges out of features); features: the raw columns "
                       "of every layer but annotation, mouse orthologs (conservation), study depth without cilia "
                       "terms, and guilt by shared annotation: the smoothed cilia rate (max, mean) of the gene's "
                       "non-cilia, non-disease GO terms (go_context), HGNC gene groups (gene_family) and, with "
                       "scoring.model.protein_domains, Pfam domains (protein_domain), counted "
                       "only over the training genes of the fold (nested folds for the training genes themselves); "
                       "each gene scored by the fold model that did not train on it.",
        "combination": scoring.combination.model_dump(),
        "housekeeping": scoring.housekeeping.model_dump(),
        "model": scoring.model.model_dump(),
        "tiers": scoring.tiers.model_dump(),
    }


def validation_metadata(validation: dict) -> dict:
    """The validation result as JSON-safe values (frames become lists of row dicts)."""
    def plain(value):
        if isinstance(value, pl.DataFrame):
            return value.to_dicts()
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        return value

    return plain(validation)
