"""Parsers for Human Protein Atlas downloads: subcellular_location.tsv and normal_tissue.tsv."""

from pathlib import Path

import polars as pl

from usher_assets.sources.formats import check_allowed, check_ids, read_delimited, split_list

RELIABILITIES = ("Enhanced", "Supported", "Approved", "Uncertain")
# Immunohistochemistry staining levels; the last three occur in some HPA releases.
STAINING_LEVELS = ("High", "Medium", "Low", "Not detected", "Ascending", "Descending", "Not representative")


def _check_ensembl_ids(path: Path, frame: pl.DataFrame, column: str) -> None:
    check_ids(path, frame, column, r"^ENSG\d+$", "an Ensembl gene ID like 'ENSG00000137474'")


def parse_hpa_subcellular(path: Path) -> pl.DataFrame:
    """HPA subcellular_location.tsv: one row per Ensembl gene.

    Columns: ensembl_gene_id, gene_symbol, reliability (Enhanced/Supported/Approved/Uncertain),
    main_locations and additional_locations (List(String), split on ";"; [] when empty).
    """
    raw = read_delimited(path, ["Gene", "Gene name", "Reliability", "Main location", "Additional location"],
                         unique=["Gene"])
    _check_ensembl_ids(path, raw, "Gene")
    check_allowed(path, raw, "Reliability", RELIABILITIES)
    return raw.select(
        pl.col("Gene").alias("ensembl_gene_id"),
        pl.col("Gene name").alias("gene_symbol"),
        pl.col("Reliability").alias("reliability"),
        split_list("Main location", ";").alias("main_locations"),
        split_list("Additional location", ";").alias("additional_locations"),
    )


def parse_hpa_normal_tissue(path: Path) -> pl.DataFrame:
    """HPA normal_tissue.tsv (immunohistochemistry): one row per gene, tissue and cell type as published.

    Columns: ensembl_gene_id, gene_symbol, tissue, cell_type, level, reliability. Uniqueness is
    not enforced, because releases that add an "IHC tissue name" column repeat tissue/cell type pairs.
    """
    raw = read_delimited(path, ["Gene", "Gene name", "Tissue", "Cell type", "Level", "Reliability"])
    _check_ensembl_ids(path, raw, "Gene")
    check_allowed(path, raw, "Level", STAINING_LEVELS)
    check_allowed(path, raw, "Reliability", RELIABILITIES)
    return raw.select(
        pl.col("Gene").alias("ensembl_gene_id"),
        pl.col("Gene name").alias("gene_symbol"),
        pl.col("Tissue").alias("tissue"),
        pl.col("Cell type").alias("cell_type"),
        pl.col("Level").alias("level"),
        pl.col("Reliability").alias("reliability"),
    )
