"""Evidence assets: one row per gene of the universe per layer, partitioned by chromosome.

Each layer is computed genome-wide (its ranks need every gene) and stored one chromosome slice
at a time; a slice whose content did not change is left untouched.
"""

import polars as pl

from usher_assets.assets.declare import pipeline_asset
from usher_assets.column_docs import describe_table
from usher_assets.schemas import CHROMOSOME, HGNC_ID
from usher_assets.storage.table_checks import id_checks, range_checks

EVIDENCE = {"group": "evidence", "partitioned": True}
CONTEXT_COLUMNS = ("context_gene_groups", "go_context_terms", "go_context_term_count")


def layer(name: str, *unit_columns: str, extra_checks: tuple = ()) -> dict:
    """pipeline_asset arguments of one evidence layer: partitioned, described, and checked for one row per
    gene (unique, non-NULL hgnc_id), a row count near the previous version, its score and `unit_columns`
    within [0, 1]."""
    return EVIDENCE | {"columns": describe_table(name),
                       "checks": (*id_checks(HGNC_ID), *range_checks(f"{name.removesuffix('_evidence')}_score",
                                                                    *unit_columns), *extra_checks)}


def _configured(pipeline, key: str, frame: pl.DataFrame) -> pl.DataFrame | None:
    """An optional source's table, or None when the source is not configured (its evidence stays NULL)."""
    return frame if pipeline.sources.get(key) is not None else None


def _by_chromosome(layer: pl.DataFrame, universe: pl.DataFrame, mapping: dict) -> tuple[pl.DataFrame, dict]:
    frame = layer.join(universe.select(HGNC_ID, CHROMOSOME), on=HGNC_ID, how="left")
    score = next(c for c in layer.columns if c.endswith("_score"))
    metadata = {"genes": frame.height, "genes_with_evidence": frame.filter(pl.col(score).is_not_null()).height,
                "genes_without_chromosome": frame.filter(pl.col(CHROMOSOME).is_null()).height}
    metadata |= {f"mapping/{source}": report for source, report in mapping.items()}
    return frame, metadata


@pipeline_asset(code_version="1", **layer("constraint_evidence", "exac_pli_rank", "loftool_rank", "gnomad_pli_rank",
                                          "gnomad_loeuf_rank"))
def constraint_evidence(gene_universe, exac_pli, loftool, gnomad_constraint, pipeline):
    """One row per gene: LoF constraint (ExAC pLI, LoFtool; gnomAD pLI/LOEUF when configured), rank-scored."""
    from usher_assets.evidence.constraint import constraint_layer

    mapping: dict = {}
    layer = constraint_layer(gene_universe, exac_pli, loftool,
                             _configured(pipeline, "gnomad_constraint", gnomad_constraint), mapping_log=mapping)
    return _by_chromosome(layer, gene_universe, mapping)


@pipeline_asset(code_version="2", **layer("expression_evidence"))
def expression_evidence(gene_universe, tissue_expression, gtex_median_tpm, hpa_normal_tissue, pipeline):
    """One row per gene: expression in ciliated and sensory tissues and tissue specificity (HPA, GTEx)."""
    from usher_assets.evidence.expression import expression_layer

    mapping: dict = {}
    layer = expression_layer(gene_universe, tissue_expression,
                             _configured(pipeline, "gtex_median_tpm", gtex_median_tpm),
                             _configured(pipeline, "hpa_normal_tissue", hpa_normal_tissue), mapping_log=mapping)
    return _by_chromosome(layer, gene_universe, mapping)


@pipeline_asset(code_version="1", **layer("localization_evidence"))
def localization_evidence(gene_universe, hpa_subcellular):
    """One row per gene: HPA subcellular locations at cilia or their base, weighted by reliability."""
    from usher_assets.evidence.localization import localization_layer

    mapping: dict = {}
    layer = localization_layer(gene_universe, hpa_subcellular, mapping_log=mapping)
    return _by_chromosome(layer, gene_universe, mapping)


@pipeline_asset(code_version="3", **layer("annotation_evidence", "go_depth_rank", "cilia_signal"))
def annotation_evidence(gene_universe, go_annotations, go_terms, go_parents):
    """One row per gene: Gene Ontology cilia annotation (graph-propagated), cilia gene groups, annotation depth."""
    from usher_assets.evidence.annotation import annotation_layer

    mapping: dict = {}
    layer = annotation_layer(gene_universe, go_annotations, go_terms, go_parents, mapping_log=mapping)
    frame, metadata = _by_chromosome(layer, gene_universe, mapping)
    # The cilia model's inputs came in version 2: after chromosome, as the store appends new columns.
    return frame.select(pl.exclude(*CONTEXT_COLUMNS), *CONTEXT_COLUMNS), metadata


@pipeline_asset(code_version="1", **layer("sensory_expression_evidence"))
def sensory_expression_evidence(gene_universe, hair_cell_expression, ciliated_cell_markers):
    """One row per gene: enrichment in inner-ear hair cells over surrounding cells, and in lung ciliated cells."""
    from usher_assets.evidence.sensory_expression import sensory_expression_layer

    layer = sensory_expression_layer(gene_universe, hair_cell_expression,
                                     ciliated_cell_markers.drop_nulls(HGNC_ID))
    return _by_chromosome(layer, gene_universe, {})


@pipeline_asset(code_version="1", **layer("cilia_proximity_evidence", "bioid_max_saint"))
def cilia_proximity_evidence(gene_universe, cilia_proteome, centrosome_cilium_interactome,
                             centrosome_cilium_screen, ciliary_interactome, ciliaminer):
    """One row per gene: cilia proteome membership, BioID proximity to cilium-interface baits, screen hits
    and TAP-MS partners. Edges to or from any gene the validation judges are dropped first."""
    from usher_assets.evidence.cilia_proximity import cilia_proximity_layer
    from usher_assets.scoring.labels import known_usher_genes

    # Interactions with the labels themselves would be guilt by association with the answer.
    judged = set(known_usher_genes(gene_universe)[HGNC_ID].drop_nulls()) | set(ciliaminer[HGNC_ID].drop_nulls())
    layer = cilia_proximity_layer(gene_universe, cilia_proteome, centrosome_cilium_interactome,
                                  centrosome_cilium_screen.drop_nulls(HGNC_ID), ciliary_interactome, judged)
    frame, metadata = _by_chromosome(layer, gene_universe, {})
    return frame, metadata | {"excluded_label_genes": len(judged)}


@pipeline_asset(code_version="1", **layer("cilia_association_evidence", "network_cilia_fraction",
                                          extra_checks=range_checks("coexpression_cilia", bounds=(-1.0, 1.0))))
def cilia_association_evidence(gene_universe, go_annotations, go_terms, go_parents, centrosome_cilium_interactome,
                               ciliary_interactome, tissue_expression, ciliaminer):
    """One row per gene: interactome partners and tissue co-expression shared with GO cilia genes (the seeds).
    Validation genes are neither seeds nor edges."""
    from usher_assets.evidence.annotation import annotation_layer
    from usher_assets.evidence.cilia_association import cilia_association_layer
    from usher_assets.scoring.robustness import validation_gene_ids

    judged = validation_gene_ids(ciliaminer, gene_universe)
    annotated = annotation_layer(gene_universe, go_annotations, go_terms, go_parents)
    layer = cilia_association_layer(gene_universe, annotated.select(HGNC_ID, "cilia_annotated"),
                                    centrosome_cilium_interactome, ciliary_interactome, tissue_expression, judged)
    frame, metadata = _by_chromosome(layer, gene_universe, {})
    return frame, metadata | {"excluded_label_genes": len(judged)}


evidence_assets = [constraint_evidence, expression_evidence, localization_evidence, annotation_evidence,
                   sensory_expression_evidence, cilia_proximity_evidence, cilia_association_evidence]
