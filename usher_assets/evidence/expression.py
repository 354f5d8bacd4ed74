"""Expression layer: expression in ciliated and sensory tissues, and specificity for them."""

import math

import polars as pl

from usher_assets.evidence.layer_tools import (
    attach_to_universe,
    map_source_to_universe,
    mean_of_available,
    percentile_rank,
)
from usher_assets.evidence.localization import RELIABILITY_WEIGHTS
from usher_assets.schemas import ENSEMBL_GENE_ID, GENE_SYMBOL, HGNC_ID

EXPRESSION_SCORE = "expression_score"

# Tissues rich in cilia, matched as whole words in the lower-cased tissue name, so
# "Brain - Cortex" (GTEx v8) and "Fallopian.Tube" (TissueEnrich) both match.
CILIATED_TISSUES = {
    "testis": "the sperm flagellum is a motile cilium; axonemal genes are testis-biased",
    "fallopian tube": "multiciliated epithelium moving the oocyte",
    "lung": "airway multiciliated cells",
    "bronchus": "airway multiciliated cells (HPA normal tissue)",
    "nasopharynx": "airway multiciliated cells (HPA normal tissue)",
    "brain": "ependymal motile cilia and neuronal primary cilia",
    "cerebral cortex": "neuronal primary cilia (HPA's brain sample)",
    "choroid plexus": "multiciliated epithelium producing cerebrospinal fluid",
    "pituitary": "neuroendocrine cells with primary cilia; the nearest sensory-like tissue in GTEx",
    "retina": "the photoreceptor outer segment is a modified cilium",
    "eye": "photoreceptors, where a source has no separate retina",
    "inner ear": "hair-cell kinocilium and stereocilia",
    "cochlea": "hair-cell kinocilium and stereocilia",
    "olfactory": "olfactory sensory neurons carry non-motile cilia",
}
# HPA normal tissue also names cell types; these point at ciliated cells directly.
CILIATED_CELL_TYPE_PATTERN = r"(?i)cilia|photoreceptor|hair cell|ependym"

# TissueEnrich / HPA specificity classes, strongest first (Uhlen et al. 2015).
SPECIFICITY_WEIGHTS = {"Tissue-Enriched": 1.0, "Group-Enriched": 0.75, "Tissue-Enhanced": 0.5}

# TPM at which a gene counts as fully expressed in a tissue. Saturating here keeps very
# abundant housekeeping genes (ACTB, ribosomal proteins) from outscoring ciliary genes
# on level alone; 10 TPM is well above the usual 1 TPM detection floor.
EXPRESSED_TPM = 10.0

# HPA immunohistochemistry staining levels, as a fraction of the strongest.
STAINING_LEVELS = {"not detected": 0.0, "low": 1 / 3, "medium": 2 / 3, "high": 1.0}

# Output column prefix of each expression table.
TISSUE_ENRICH_PREFIXES = {"HPA": "te_hpa", "GTEx": "te_gtex"}
GTEX_V8_PREFIX = "gtex_v8"
HPA_IHC_COLUMN = "hpa_ihc_ciliated_level"


def is_ciliated_tissue(tissue: pl.Expr) -> pl.Expr:
    """True when the tissue name contains one of CILIATED_TISSUES as whole words."""
    name = tissue.str.to_lowercase().str.replace_all(r"[^a-z0-9]+", " ").str.strip_chars()
    padded = pl.lit(" ") + name + pl.lit(" ")
    return pl.any_horizontal([padded.str.contains(f" {key} ", literal=True) for key in CILIATED_TISSUES])


def _with_ciliated_flag(rows: pl.DataFrame) -> pl.DataFrame:
    """Add ``ciliated``; names are matched once per distinct tissue, not once per row."""
    tissues = rows.select(pl.col("tissue").unique()).with_columns(
        is_ciliated_tissue(pl.col("tissue")).alias("ciliated")
    )
    return rows.join(tissues, on="tissue", how="left", nulls_equal=True)


def _tpm_signals(rows: pl.DataFrame, prefix: str, with_specificity: bool) -> pl.DataFrame:
    """Per gene: best TPM in a ciliated tissue, its log2 fold over the median other tissue, ranks."""
    # Several Ensembl ids of one gene: keep each tissue's highest value.
    per_tissue = rows.group_by(HGNC_ID, "tissue").agg(
        pl.col("tpm").cast(pl.Float64).max(),
        *([pl.col("specificity_group").drop_nulls().first()] if with_specificity else []),
    )
    ciliated = pl.col("ciliated")
    # Best ciliated tissue against the typical other tissue: a gene of one ciliated tissue
    # (testis-only axonemal genes) is not diluted by the other ciliated tissues.
    best_ciliated = pl.col("tpm").filter(ciliated).max()
    typical_other = pl.col("tpm").filter(~ciliated).median()
    aggs = [
        best_ciliated.alias(f"{prefix}_ciliated_tpm_max"),
        ((best_ciliated + 1).log(2) - (typical_other + 1).log(2)).alias(f"{prefix}_ciliated_log2fc"),
    ]
    if with_specificity:
        weight = pl.col("specificity_group").replace_strict(
            SPECIFICITY_WEIGHTS, default=0.0, return_dtype=pl.Float64
        )
        # A gene the table covers but does not mark for a ciliated tissue scores 0.
        aggs.append(weight.filter(ciliated).max().fill_null(0.0).alias(f"{prefix}_specificity"))
    # The lowest tissue: how ubiquitous the gene is (ACTB, GAPDH and ribosomal proteins are high in every tissue).
    aggs.append((pl.col("tpm").min() + 1).log(2).alias(f"{prefix}_min_log2_tpm"))
    expressed = (pl.col(f"{prefix}_ciliated_tpm_max") + 1).log(2) / math.log2(EXPRESSED_TPM + 1)
    return _with_ciliated_flag(per_tissue).group_by(HGNC_ID).agg(aggs).with_columns(
        expressed.clip(upper_bound=1.0).alias(f"{prefix}_expressed"),
        percentile_rank(f"{prefix}_ciliated_log2fc").alias(f"{prefix}_enrichment_rank"),
    )


def _hpa_ihc_signal(rows: pl.DataFrame) -> pl.DataFrame:
    """Per gene: strongest reliability-weighted staining in a ciliated tissue or cell type."""
    ciliated = pl.col("ciliated") | pl.col("cell_type").str.contains(
        CILIATED_CELL_TYPE_PATTERN
    ).fill_null(False)
    level = pl.col("level").str.to_lowercase().replace_strict(
        STAINING_LEVELS, default=None, return_dtype=pl.Float64
    )
    reliability = pl.col("reliability").str.to_lowercase().replace_strict(
        RELIABILITY_WEIGHTS, default=RELIABILITY_WEIGHTS["uncertain"], return_dtype=pl.Float64
    )
    # Genes stained only outside ciliated tissues score 0; unstained genes stay absent (null).
    return _with_ciliated_flag(rows).group_by(HGNC_ID).agg(
        (level * reliability).filter(ciliated).max().fill_null(0.0).alias(HPA_IHC_COLUMN)
    )


def expression_layer(
    universe: pl.DataFrame,
    tissue_expression: pl.DataFrame,
    gtex_median_tpm: pl.DataFrame | None = None,
    hpa_normal_tissue: pl.DataFrame | None = None,
    *,
    mapping_log: dict[str, dict] | None = None,
) -> pl.DataFrame:
    """One row per universe gene: ciliated-tissue expression per source and the layer score.

    Per expression table: ``<prefix>_expressed`` (best TPM in a ciliated tissue on a log
    scale, saturating at EXPRESSED_TPM), ``<prefix>_enrichment_rank`` (rank of the log2 fold of that TPM over the
    median TPM of the other tissues) and, for TissueEnrich, ``<prefix>_specificity`` (best specificity class in a
    ciliated tissue), and ``<prefix>_min_log2_tpm`` (log2(TPM + 1) in the gene's lowest tissue: how ubiquitous it
    is; not part of the score, the ranking's housekeeping discount reads it). ``expression_score`` is the mean of
    the available ones; null for a gene no table measured. Columns of absent optional tables are null.
    """
    signals = []
    te = map_source_to_universe(tissue_expression, universe, source="tissue_expression",
                                mapping_log=mapping_log, ensembl_column=ENSEMBL_GENE_ID)
    unknown = set(te["dataset"].unique()) - set(TISSUE_ENRICH_PREFIXES)
    if unknown:
        raise ValueError(f"tissue_expression: expected dataset in {sorted(TISSUE_ENRICH_PREFIXES)}, "
                         f"found {sorted(unknown)}; extend TISSUE_ENRICH_PREFIXES")
    for dataset, prefix in TISSUE_ENRICH_PREFIXES.items():
        signals.append(_tpm_signals(te.filter(pl.col("dataset") == dataset), prefix, True))
    if gtex_median_tpm is not None:
        gtex = map_source_to_universe(gtex_median_tpm, universe, source="gtex_median_tpm",
                                      mapping_log=mapping_log, ensembl_column=ENSEMBL_GENE_ID,
                                      symbol_column=GENE_SYMBOL)
        signals.append(_tpm_signals(gtex, GTEX_V8_PREFIX, False))
    if hpa_normal_tissue is not None:
        ihc = map_source_to_universe(hpa_normal_tissue, universe, source="hpa_normal_tissue",
                                     mapping_log=mapping_log, ensembl_column=ENSEMBL_GENE_ID,
                                     symbol_column=GENE_SYMBOL)
        signals.append(_hpa_ihc_signal(ihc))

    per_gene = universe.select(HGNC_ID)
    for signal in signals:
        per_gene = per_gene.join(signal, on=HGNC_ID, how="left")
    expected = _expected_columns()
    per_gene = per_gene.with_columns(
        [pl.lit(None, pl.Float64).alias(c) for c in expected if c not in per_gene.columns]
    ).select(HGNC_ID, *expected)
    score_inputs = [c for c in expected if c.endswith(("_expressed", "_rank", "_specificity"))
                    or c == HPA_IHC_COLUMN]
    per_gene = per_gene.with_columns(mean_of_available(score_inputs).alias(EXPRESSION_SCORE))
    return attach_to_universe(universe, per_gene)


def _expected_columns() -> list[str]:
    columns = []
    for prefix in [*TISSUE_ENRICH_PREFIXES.values(), GTEX_V8_PREFIX]:
        columns += [f"{prefix}_ciliated_tpm_max", f"{prefix}_ciliated_log2fc",
                    f"{prefix}_expressed", f"{prefix}_enrichment_rank"]
        if prefix != GTEX_V8_PREFIX:
            columns.append(f"{prefix}_specificity")
        columns.append(f"{prefix}_min_log2_tpm")
    return columns + [HPA_IHC_COLUMN]
