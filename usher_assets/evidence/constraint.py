"""Constraint layer: how intolerant a gene is to loss of function (ExAC pLI, LoFtool, gnomAD)."""

import polars as pl

from usher_assets.evidence.layer_tools import (
    attach_to_universe,
    map_source_to_universe,
    mean_of_available,
    percentile_rank,
)
from usher_assets.schemas import ENSEMBL_GENE_ID, GENE_SYMBOL, HGNC_ID

CONSTRAINT_SCORE = "constraint_score"

# (raw column, rank column, True when a higher raw value means more constrained)
CONSTRAINT_SIGNALS = [
    ("exac_pli", "exac_pli_rank", True),
    ("loftool_percentile", "loftool_rank", False),  # LoFtool: lower = more intolerant
    ("gnomad_pli", "gnomad_pli_rank", True),
    ("gnomad_loeuf", "gnomad_loeuf_rank", False),  # LOEUF: lower = more constrained
]


def _per_gene(frame: pl.DataFrame, value_columns: dict[str, str]) -> pl.DataFrame:
    """Collapse rows that resolved to one gene (old and new symbol both listed) by their mean."""
    return frame.group_by(HGNC_ID).agg(
        [pl.col(src).cast(pl.Float64).mean().alias(dst) for src, dst in value_columns.items()]
    )


def constraint_layer(
    universe: pl.DataFrame,
    exac_pli: pl.DataFrame,
    loftool: pl.DataFrame,
    gnomad_constraint: pl.DataFrame | None = None,
    *,
    mapping_log: dict[str, dict] | None = None,
) -> pl.DataFrame:
    """One row per universe gene: raw constraint values, their percentile ranks and the layer score.

    Each signal is ranked over the universe genes that have it (1 = most constrained);
    ``constraint_score`` is the mean of the available ranks, null when no source has the gene.
    gnomAD columns stay null when ``gnomad_constraint`` is None.
    """
    exac = map_source_to_universe(exac_pli, universe, source="exac_pli",
                                  mapping_log=mapping_log, symbol_column=GENE_SYMBOL)
    lof = map_source_to_universe(loftool, universe, source="loftool",
                                 mapping_log=mapping_log, symbol_column=GENE_SYMBOL)
    per_gene = universe.select(HGNC_ID)
    per_gene = per_gene.join(_per_gene(exac, {"pli": "exac_pli"}), on=HGNC_ID, how="left")
    per_gene = per_gene.join(_per_gene(lof, {"loftool_percentile": "loftool_percentile"}),
                             on=HGNC_ID, how="left")
    if gnomad_constraint is not None:
        gnomad = map_source_to_universe(
            gnomad_constraint, universe, source="gnomad_constraint", mapping_log=mapping_log,
            symbol_column=GENE_SYMBOL, ensembl_column=ENSEMBL_GENE_ID,
        )
        gnomad = _per_gene(gnomad, {"pli": "gnomad_pli", "loeuf": "gnomad_loeuf"})
        per_gene = per_gene.join(gnomad, on=HGNC_ID, how="left")
    else:
        per_gene = per_gene.with_columns(
            pl.lit(None, pl.Float64).alias("gnomad_pli"),
            pl.lit(None, pl.Float64).alias("gnomad_loeuf"),
        )
    per_gene = per_gene.with_columns(
        [percentile_rank(raw, higher_is_better=up).alias(rank) for raw, rank, up in CONSTRAINT_SIGNALS]
    ).with_columns(
        mean_of_available([rank for _, rank, _ in CONSTRAINT_SIGNALS]).alias(CONSTRAINT_SCORE)
    )
    return attach_to_universe(universe, per_gene)
