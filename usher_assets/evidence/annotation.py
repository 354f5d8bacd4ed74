"""Annotation layer: GO cilia terms, cilia-related HGNC gene groups and annotation depth."""

import polars as pl

from usher_assets.evidence.go_graph import (
    CILIA_ROOT_TERMS,
    CILIUM_ROOT,
    cilia_scoring_terms,
    descendant_terms,
    disease_named_terms,
    sensory_function_terms,
)
from usher_assets.evidence.layer_tools import (
    attach_to_universe,
    map_source_to_universe,
    percentile_rank,
)
from usher_assets.schemas import ENTREZ_ID, GENE_GROUPS, HGNC_ID

ANNOTATION_SCORE = "annotation_score"
GO_CILIUM_ANNOTATED = "go_cilium_annotated"
# Any cilia signal from this layer: the strict discovery view leaves out exactly these genes,
# and the cilia model takes them as its positives.
CILIA_ANNOTATED = "cilia_annotated"
CILIA_SIGNAL = "cilia_signal"
GO_SENSORY_EVIDENCE = "go_sensory_evidence"
# The cilia model's guilt-by-association inputs: what GO and HGNC say about a gene outside cilia.
GO_CONTEXT_TERMS = "go_context_terms"
GO_CONTEXT_TERM_COUNT = "go_context_term_count"
CONTEXT_GENE_GROUPS = "context_gene_groups"

# Weight of a GO annotation by how it was made: experiments first, then reviewed
# inference (phylogeny, similarity), then author/curator statements, then electronic.
EVIDENCE_WEIGHTS = {
    **dict.fromkeys(["EXP", "IDA", "IPI", "IMP", "IGI", "IEP", "HTP", "HDA", "HMP", "HGI", "HEP"], 1.0),
    **dict.fromkeys(["IBA", "IBD", "IKR", "IRD", "ISS", "ISO", "ISA", "ISM", "IGC", "RCA"], 0.75),
    **dict.fromkeys(["TAS", "NAS", "IC"], 0.6),
    "IEA": 0.4,
    "ND": 0.0,  # "no biological data available"
}
UNKNOWN_EVIDENCE_WEIGHT = 0.4

# HGNC gene groups made of ciliary machinery (axoneme, IFT trains, IFT dynein,
# transition zone). Groups named after a disease (BBSome, MKS complex, NPHP complex)
# are left out on purpose: they restate ciliopathy genes, the validation labels.
CILIA_GENE_GROUP_PATTERN = (
    r"(?i)cilia|cilium|ciliogenesis|axonem|IFT-|intraflagellar|flagell|radial spoke"
    r"|dynein 2|dynein regulatory|dynein arm|tectonic"
)
DISEASE_GROUP_PATTERN = r"(?i)BBSome|Bardet|\bMKS\b|Meckel|\bNPHP\b|nephronophthisis|Usher|syndrome"
# A curated gene group is strong but not experimental evidence of ciliary function.
CILIA_GENE_GROUP_WEIGHT = 0.8

# Share of the score that rewards a well-annotated gene; the rest is the cilia signal.
DEPTH_SHARE = 0.15


def _go_per_gene(go: pl.DataFrame, scoring_terms: set[str], cilium_terms: set[str],
                 sensory_terms: set[str]) -> pl.DataFrame:
    evidence_weight = pl.col("evidence").replace_strict(
        EVIDENCE_WEIGHTS, default=UNKNOWN_EVIDENCE_WEIGHT, return_dtype=pl.Float64
    )
    in_scoring = pl.col("go_id").is_in(scoring_terms)
    in_sensory = pl.col("go_id").is_in(sensory_terms)
    return go.group_by(HGNC_ID).agg(
        # Signed counts: polars counts in UInt32, which a Delta table cannot hold (it would widen them).
        pl.col("go_id").n_unique().cast(pl.Int64).alias("go_term_count"),
        pl.col("go_id").filter(in_scoring).n_unique().cast(pl.Int64).alias("go_cilia_term_count"),
        evidence_weight.filter(in_scoring).max().fill_null(0.0).alias("go_cilia_evidence"),
        pl.col("go_id").is_in(cilium_terms).any().alias(GO_CILIUM_ANNOTATED),
        evidence_weight.filter(in_sensory).max().fill_null(0.0).alias(GO_SENSORY_EVIDENCE),
    )


def _cilia_gene_groups(universe: pl.DataFrame) -> pl.DataFrame:
    group = pl.element()
    return universe.select(
        HGNC_ID,
        pl.col(GENE_GROUPS)
        .list.filter(group.str.contains(CILIA_GENE_GROUP_PATTERN)
                     & ~group.str.contains(DISEASE_GROUP_PATTERN))
        .alias("cilia_gene_groups"),
        # Neither cilia machinery (that is the label) nor disease-named (that restates validation genes).
        pl.col(GENE_GROUPS)
        .list.filter(~group.str.contains(CILIA_GENE_GROUP_PATTERN) & ~group.str.contains(DISEASE_GROUP_PATTERN))
        .list.sort().alias(CONTEXT_GENE_GROUPS),
    )


def _go_context(go: pl.DataFrame, go_terms: pl.DataFrame, go_parents: pl.DataFrame) -> pl.DataFrame:
    """Per gene, its GO terms outside every cilia root subtree, disease-named and ND annotations left out.

    A strict-discovery gene has no cilia term by definition, so these are what GO can still say about it.
    """
    excluded = descendant_terms(go_parents, list(CILIA_ROOT_TERMS)) | disease_named_terms(go_terms)
    context = go.filter(~pl.col("go_id").is_in(excluded) & (pl.col("evidence") != "ND"))
    return context.group_by(HGNC_ID).agg(pl.col("go_id").unique().sort().alias(GO_CONTEXT_TERMS))


def annotation_layer(
    universe: pl.DataFrame,
    go_annotations: pl.DataFrame,
    go_terms: pl.DataFrame,
    go_parents: pl.DataFrame,
    *,
    mapping_log: dict[str, dict] | None = None,
) -> pl.DataFrame:
    """One row per universe gene: GO cilia annotation, cilia gene groups, depth and the layer score.

    ``annotation_score`` = (1 - DEPTH_SHARE) x cilia signal + DEPTH_SHARE x depth rank, where
    the cilia signal is the best evidence weight of a cilia GO term (disease-named terms
    excluded) or CILIA_GENE_GROUP_WEIGHT for a cilia gene group member. Null for a gene with
    no GO annotation and no cilia gene group. ``go_cilium_annotated`` is true for a gene with
    any annotation in the GO:0005929 subtree (disease-named terms included, so the discovery
    view really leaves out every gene GO already places in the cilium). ``cilia_annotated`` is
    true for a gene with any cilia signal here: that subtree, any scored cilia term (ND evidence
    included) or a cilia gene group. ``cilia_signal`` is the signal without depth (0 for an
    annotated gene with no cilia term); ``go_sensory_evidence`` the best evidence weight of a
    hearing or vision term (SENSORY_ROOT_TERMS), 0 for none. ``go_context_terms`` (and its length
    ``go_context_term_count``, study depth without the label's terms) and ``context_gene_groups`` are the
    gene's non-cilia, non-disease GO terms and HGNC gene groups: the cilia model's association inputs.
    """
    go = map_source_to_universe(
        go_annotations, universe, source="go_annotations", mapping_log=mapping_log,
        entrez_column=ENTREZ_ID, symbol_column="symbol",
    )
    per_gene = _go_per_gene(
        go, cilia_scoring_terms(go_terms, go_parents), descendant_terms(go_parents, [CILIUM_ROOT]),
        sensory_function_terms(go_terms, go_parents),
    )
    per_gene = (
        _cilia_gene_groups(universe)
        .join(per_gene, on=HGNC_ID, how="left")
        .join(_go_context(go, go_terms, go_parents), on=HGNC_ID, how="left")
        .with_columns(percentile_rank("go_term_count").alias("go_depth_rank"))
        .with_columns(
            pl.col(GO_CILIUM_ANNOTATED).fill_null(False),
            pl.max_horizontal(
                pl.col("go_cilia_evidence"),
                pl.when(pl.col("cilia_gene_groups").list.len() > 0)
                .then(CILIA_GENE_GROUP_WEIGHT)
                .otherwise(pl.when(pl.col("go_term_count").is_not_null()).then(0.0)),
            ).alias(CILIA_SIGNAL),
        )
        .with_columns(
            ((1 - DEPTH_SHARE) * pl.col(CILIA_SIGNAL)
             + DEPTH_SHARE * pl.col("go_depth_rank").fill_null(0.0)).alias(ANNOTATION_SCORE),
            (pl.col(GO_CILIUM_ANNOTATED) | (pl.col("go_cilia_term_count").fill_null(0) > 0)
             | (pl.col("cilia_gene_groups").list.len() > 0)).alias(CILIA_ANNOTATED),
            pl.col(GO_CONTEXT_TERMS).fill_null([]),
            pl.col(GO_CONTEXT_TERMS).list.len().fill_null(0).cast(pl.Int64).alias(GO_CONTEXT_TERM_COUNT),
        )
    )
    return attach_to_universe(universe, per_gene)
