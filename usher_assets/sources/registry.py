"""Source parsers keyed by their config name, and the columns each parser guarantees unique."""

from collections.abc import Callable
from pathlib import Path

import polars as pl

from usher_assets.sources.ciliaminer import parse_ciliaminer
from usher_assets.sources.constraint import parse_exac_pli, parse_gnomad_constraint, parse_loftool
from usher_assets.sources.expression import parse_gtex_median_tpm, parse_tissue_expression
from usher_assets.sources.gene_ontology import (
    parse_go_annotations, parse_go_gene_info, parse_go_parents, parse_go_terms, parse_pfam_domains,
)
from usher_assets.sources.hgnc import parse_hgnc
from usher_assets.sources.hpa import parse_hpa_normal_tissue, parse_hpa_subcellular

SOURCE_PARSERS: dict[str, Callable[[Path], pl.DataFrame]] = {
    "hgnc": parse_hgnc,
    "exac_pli": parse_exac_pli,
    "loftool": parse_loftool,
    "hpa_subcellular": parse_hpa_subcellular,
    "go_annotations": parse_go_annotations,
    "go_gene_info": parse_go_gene_info,
    "go_terms": parse_go_terms,
    "go_parents": parse_go_parents,
    "pfam_domains": parse_pfam_domains,
    "tissue_expression": parse_tissue_expression,
    "ciliaminer": parse_ciliaminer,
    "gnomad_constraint": parse_gnomad_constraint,
    "gtex_median_tpm": parse_gtex_median_tpm,
    "hpa_normal_tissue": parse_hpa_normal_tissue,
}

# Output columns that are unique together in each parser's result; the parser raises a
# SourceFormatError naming the line of the first duplicate. Nulls count as one value
# (go_gene_info has one row per gene without an Ensembl ID).
UNIQUE_KEYS: dict[str, list[str]] = {
    "hgnc": ["hgnc_id"],
    "exac_pli": ["gene_symbol"],
    "loftool": ["gene_symbol"],
    "hpa_subcellular": ["ensembl_gene_id"],
    "go_annotations": ["entrez_id", "go_id", "evidence"],
    "go_gene_info": ["entrez_id", "ensembl_gene_id"],
    "go_terms": ["go_id"],
    "go_parents": ["child_go_id", "parent_go_id", "relationship_type"],
    "pfam_domains": ["pfam_id", "entrez_id"],
    "tissue_expression": ["dataset", "ensembl_gene_id", "tissue"],
    "ciliaminer": ["disease", "abbreviation", "gene_symbol"],
    "gnomad_constraint": ["ensembl_gene_id"],
    "gtex_median_tpm": ["ensembl_gene_id", "tissue"],
    # Not enforced: releases with an "IHC tissue name" column repeat tissue/cell-type pairs.
    "hpa_normal_tissue": [],
}
