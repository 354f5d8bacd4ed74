"""Parsers for gene loss-of-function constraint tables: ExAC pLI, LoFtool and gnomAD v4.1."""

from pathlib import Path

import polars as pl

from usher_assets.sources.formats import (
    SourceFormatError, check_allowed, check_range, read_delimited,
)

GNOMAD_REQUIRED = ["gene", "gene_id", "transcript", "canonical", "mane_select", "lof.pLI", "lof.oe_ci.upper"]
_BOOLEANS = {"true": True, "false": False, "TRUE": True, "FALSE": False}


def parse_exac_pli(path: Path) -> pl.DataFrame:
    """ExAC r0.3 pLI (the VEP ExACpLI plugin file): one row per gene_symbol, pli in [0, 1]."""
    raw = read_delimited(path, ["gene", "pLI"], types={"pLI": pl.Float64}, unique=["gene"])
    check_range(path, raw, "pLI", 0.0, 1.0)
    return raw.select(pl.col("gene").alias("gene_symbol"), pl.col("pLI").alias("pli"))


def parse_loftool(path: Path) -> pl.DataFrame:
    """LoFtool percentiles (the VEP LoFtool plugin file): one row per gene_symbol; lower is more intolerant."""
    raw = read_delimited(path, ["Gene", "LoFtool_percentile"], types={"LoFtool_percentile": pl.Float64},
                         unique=["Gene"])
    check_range(path, raw, "LoFtool_percentile", 0.0, 1.0)
    return raw.select(pl.col("Gene").alias("gene_symbol"), pl.col("LoFtool_percentile").alias("loftool_percentile"))


def parse_gnomad_constraint(path: Path) -> pl.DataFrame:
    """gnomAD v4.1 constraint_metrics.tsv -> one row per Ensembl gene, from its MANE Select transcript
    (else its canonical one): gene_symbol, ensembl_gene_id, pli, loeuf (lof.oe_ci.upper).

    The file has a row per transcript, Ensembl and RefSeq; RefSeq rows repeat the Ensembl
    MANE transcript's gene under an NCBI gene ID, so only ENSG rows are kept. Genes with
    neither a MANE Select nor a canonical transcript are dropped.
    """
    raw = read_delimited(path, GNOMAD_REQUIRED, types={"lof.pLI": pl.Float64, "lof.oe_ci.upper": pl.Float64},
                         null_values=("", "NA"))
    for flag in ("canonical", "mane_select"):
        check_allowed(path, raw, flag, _BOOLEANS)
    check_range(path, raw, "lof.pLI", 0.0, 1.0)
    check_range(path, raw, "lof.oe_ci.upper", 0.0, float("inf"))
    flags = raw.with_columns(
        pl.col("canonical", "mane_select").replace_strict(_BOOLEANS, default=False, return_dtype=pl.Boolean),
        # Strip the version; PAR copies on Y ("..._PAR_Y") are the X gene again and are dropped.
        pl.col("gene_id").str.extract(r"^(ENSG\d+)(?:\.\d+)?$", 1).alias("ensembl_gene_id"),
    )
    kept = (
        flags.filter(pl.col("ensembl_gene_id").is_not_null() & (pl.col("mane_select") | pl.col("canonical")))
        # Sort puts the MANE Select row of a gene first; a stable sort keeps file order among ties.
        .sort("ensembl_gene_id", pl.col("mane_select").not_(), maintain_order=True)
        .unique("ensembl_gene_id", keep="first", maintain_order=True)
    )
    if kept.is_empty():
        raise SourceFormatError(path, "has no Ensembl (ENSG) gene with a MANE Select or canonical transcript; "
                                "is this the gnomAD v4.1 constraint_metrics.tsv?")
    return kept.select(
        pl.col("gene").alias("gene_symbol"),
        "ensembl_gene_id",
        pl.col("lof.pLI").alias("pli"),
        pl.col("lof.oe_ci.upper").alias("loeuf"),
    )
