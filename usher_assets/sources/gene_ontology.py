"""Parsers for the Gene Ontology (and Pfam domain) exports of Bioconductor org.Hs.eg.db and GO.db (see data/SOURCES.md)."""

from pathlib import Path

import polars as pl

from usher_assets.sources.formats import (
    check_allowed, check_ids, check_unique, read_delimited, split_list,
)

ONTOLOGIES = ("BP", "CC", "MF")
# GO.db's artificial root above the three ontologies has id "all" and ontology "universal".
GO_ROOT = "all"


def _check_go_ids(path: Path, frame: pl.DataFrame, column: str) -> None:
    check_ids(path, frame, column, r"^GO:\d{7}$", "a GO ID like 'GO:0005929'", also=(GO_ROOT,))


def parse_go_annotations(path: Path) -> pl.DataFrame:
    """Direct gene -> GO annotations (orghs_gene_go.tsv.gz): one row per entrez_id, go_id and evidence.

    Columns: entrez_id (Int64), symbol, ensembl_gene_ids (List(String)), go_id, evidence, ontology.
    """
    raw = read_delimited(path, ["entrez_id", "symbol", "ensembl_gene_ids", "go_id", "evidence", "ontology"],
                         types={"entrez_id": pl.Int64}, unique=["entrez_id", "go_id", "evidence"])
    _check_go_ids(path, raw, "go_id")
    check_allowed(path, raw, "ontology", ONTOLOGIES)
    return raw.select("entrez_id", "symbol", split_list("ensembl_gene_ids", "|"), "go_id", "evidence", "ontology")


def parse_go_gene_info(path: Path) -> pl.DataFrame:
    """Human Entrez genes (orghs_gene_info.tsv.gz): one row per gene and Ensembl ID (null when it has none).

    Columns: entrez_id (Int64), symbol, gene_name, gene_type, chromosomes (List(String); X|Y
    pseudoautosomal genes have two), ensembl_gene_id.
    """
    raw = read_delimited(path, ["entrez_id", "symbol", "gene_name", "gene_type", "chromosome", "ensembl_gene_id"],
                         types={"entrez_id": pl.Int64})
    check_unique(path, raw, ["entrez_id", "ensembl_gene_id"], nullable=["ensembl_gene_id"])
    return raw.select("entrez_id", "symbol", "gene_name", "gene_type",
                      split_list("chromosome", "|").alias("chromosomes"), "ensembl_gene_id")


def parse_go_terms(path: Path) -> pl.DataFrame:
    """GO terms (go_terms.tsv.gz): one row per go_id, with term, ontology and definition (null if none).

    Includes GO.db's artificial root ``all`` (ontology ``universal``).
    """
    raw = read_delimited(path, ["go_id", "term", "ontology", "definition"], unique=["go_id"])
    _check_go_ids(path, raw, "go_id")
    check_allowed(path, raw, "ontology", (*ONTOLOGIES, "universal"))
    return raw.select("go_id", "term", "ontology", "definition")


def parse_go_parents(path: Path) -> pl.DataFrame:
    """Direct GO child -> parent edges (go_parents.tsv.gz): one row per edge and relationship type.

    relationship_type keeps GO.db's spellings: isa, part of, regulates, positively/negatively regulates.
    """
    raw = read_delimited(path, ["child_go_id", "parent_go_id", "relationship_type", "ontology"],
                         unique=["child_go_id", "parent_go_id", "relationship_type"])
    for column in ("child_go_id", "parent_go_id"):
        _check_go_ids(path, raw, column)
    check_allowed(path, raw, "ontology", ONTOLOGIES)
    return raw.select("child_go_id", "parent_go_id", "relationship_type", "ontology")


def parse_pfam_domains(path: Path) -> pl.DataFrame:
    """Gene -> Pfam domain (orghs_gene_pfam.tsv.gz, org.Hs.eg.db's UniProt-derived ``pfam`` map): one row per
    entrez_id and pfam_id.

    Columns: entrez_id (Int64), symbol, ensembl_gene_ids (List(String)), pfam_id (``PF`` and five digits).
    """
    raw = read_delimited(path, ["entrez_id", "symbol", "ensembl_gene_ids", "pfam_id"],
                         types={"entrez_id": pl.Int64}, unique=["pfam_id", "entrez_id"])
    check_ids(path, raw, "pfam_id", r"^PF\d{5}$", "a Pfam ID like 'PF00069'")
    return raw.select("entrez_id", "symbol", split_list("ensembl_gene_ids", "|"), "pfam_id")
