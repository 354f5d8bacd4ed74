"""Validation of a ranking against labels it never saw: known Usher genes, controls, CiliaMiner."""

import polars as pl

from usher_assets.scoring.labels import (
    known_gene_metrics,
    known_usher_genes,
    label_positions,
    negative_control_genes,
    percentile_metrics,
    rank_layers,
)
from usher_assets.scoring.robustness import (
    ciliopathy_labels,
    discovery_view,
    layer_coverage,
    leave_one_layer_out,
    weight_sensitivity,
)


def validate_ranking(
    layers: pl.DataFrame,
    weights: dict[str, float],
    universe: pl.DataFrame,
    ciliaminer: pl.DataFrame | None = None,
) -> dict:
    """Every validation view of the ranking that ``weights`` gives over ``layers``.

    ``layers`` has hgnc_id, gene_symbol, one ``<layer>_score`` column per weighted layer
    and, for the discovery view, ``go_cilium_annotated``. Returns a dict of plain values
    and polars frames:

    - known_genes (frame: query_symbol, hgnc_id, group, gene_symbol, rank, percentile)
    - known_metrics ({all, core, atypical}: n_genes, median_percentile, top_count, top_share;
      unresolved_symbols)
    - negative_controls ({all, housekeeping, ribosomal}: the same metrics)
    - sensitivity (frame: layer, change, weight, spearman) and sensitivity_min_spearman
    - leave_one_layer_out (frame: left_out, then the known-gene metrics)
    - discovery (frame: left_out, n_subset_genes, then the CiliaMiner-label metrics), or
      None without ``ciliaminer``
    - coverage (frame: layer, genes_scored, share)
    """
    ranked = rank_layers(layers, weights)
    known = known_usher_genes(universe)
    controls = label_positions(ranked, negative_control_genes(universe))
    sensitivity = weight_sensitivity(layers, weights)
    discovery = None
    if ciliaminer is not None:
        discovery = discovery_view(layers, weights, ciliopathy_labels(ciliaminer, universe))
    return {
        "known_genes": label_positions(ranked, known),
        "known_metrics": known_gene_metrics(ranked, known),
        "negative_controls": {
            "all": percentile_metrics(controls),
            "housekeeping": percentile_metrics(controls.filter(pl.col("group") == "housekeeping")),
            "ribosomal": percentile_metrics(controls.filter(pl.col("group") == "ribosomal")),
        },
        "sensitivity": sensitivity,
        "sensitivity_min_spearman": float(sensitivity["spearman"].min()),
        "leave_one_layer_out": leave_one_layer_out(layers, weights, known),
        "discovery": discovery,
        "coverage": layer_coverage(layers, weights),
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
