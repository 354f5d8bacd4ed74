"""Parser for HGNC's complete set (hgnc_complete_set.txt, optionally gzipped)."""

from pathlib import Path

import polars as pl

from usher_assets.sources.formats import SourceFormatError, read_delimited, split_list

# HGNC column -> our column, for the multi-valued `|`-separated fields.
LIST_COLUMNS = {
    "alias_symbol": "alias_symbols",
    "prev_symbol": "prev_symbols",
    "gene_group": "gene_groups",
    "mgd_id": "mgd_ids",
    "uniprot_ids": "uniprot_ids",
}
TEXT_COLUMNS = ["hgnc_id", "symbol", "name", "locus_group", "locus_type", "status", "location",
                "ensembl_gene_id"]
HGNC_COLUMNS = TEXT_COLUMNS + ["entrez_id", *LIST_COLUMNS.values()]


def parse_hgnc(path: Path) -> pl.DataFrame:
    """One row per HGNC gene record, keyed by a unique ``hgnc_id``.

    Columns: hgnc_id, symbol, name, locus_group, locus_type, status, location,
    ensembl_gene_id (version stripped), entrez_id (Int64), and List(String) columns
    alias_symbols, prev_symbols, gene_groups, mgd_ids, uniprot_ids ([] when empty).
    """
    raw = read_delimited(
        path,
        required=[*TEXT_COLUMNS, "entrez_id", *LIST_COLUMNS],
        types={"entrez_id": pl.Int64},
        unique=["hgnc_id"],
        strip_quotes=True,
    )
    bad_ids = (~raw["hgnc_id"].str.contains(r"^HGNC:\d+$")).arg_true()
    if len(bad_ids):
        index = int(bad_ids[0])
        raise SourceFormatError(path, f"expected an ID like 'HGNC:7606', found {raw['hgnc_id'][index]!r}",
                                line=index + 2, column="hgnc_id")
    if raw["symbol"].null_count():
        index = int(raw["symbol"].is_null().arg_true()[0])
        raise SourceFormatError(path, "every HGNC record needs an approved symbol", line=index + 2, column="symbol")
    return raw.select(
        *TEXT_COLUMNS[:-1],
        pl.col("ensembl_gene_id").str.replace(r"\.\d+$", ""),
        "entrez_id",
        *(split_list(source).alias(target) for source, target in LIST_COLUMNS.items()),
    )
