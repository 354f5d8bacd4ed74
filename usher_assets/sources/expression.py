"""Parsers for tissue expression: TissueEnrich's HPA and GTEx tables (.rda) and GTEx v8 median TPM (GCT)."""

from pathlib import Path

import polars as pl

from usher_assets.sources.formats import (
    SourceFormatError, cast_columns, check_range, check_unique, parse_rdata, read_delimited, read_lines,
)

# TissueEnrich list entry -> dataset label; the mouse "ENCODE Dataset" entry is skipped.
TISSUEENRICH_DATASETS = {"Protein-Atlas": "HPA", "GTEx-Combine": "GTEx"}
TISSUEENRICH_TABLES = {
    "expressionData": None,
    "tissueDetails": ["TissueName", "RName"],
    "tissueSpecificGenes": ["Gene", "Tissue", "Group"],
}
# Per-tissue classes of the HPA algorithm; the other classes (Expressed-In-All, Mixed,
# Not-Expressed) are listed with Tissue "All" and say nothing about one tissue.
SPECIFIC_GROUPS = ("Tissue-Enriched", "Group-Enriched", "Tissue-Enhanced")
ALL_GROUPS = (*SPECIFIC_GROUPS, "Expressed-In-All", "Mixed", "Not-Expressed")
_ENSG = r"^ENSG\d+$"


def _tissueenrich_entries(path: Path) -> dict[str, dict]:
    """The HPA and GTEx entries of the `dataset` list, converted to pandas; nothing else is converted."""
    import rdata  # slow to import; only this parser needs it

    try:
        parsed = parse_rdata(path)
    except Exception as error:  # rdata raises assorted ValueError/EOFError/lzma errors on bad input
        raise SourceFormatError(path, f"cannot be read as an R data file ({type(error).__name__}: {error}); "
                                "expected TissueEnrich's combine-expression.rda") from error
    node, dataset = parsed.object, None
    while node is not None and node.info.type == rdata.parser.RObjectType.LIST:
        if node.tag is not None and node.tag.value.value == b"dataset":
            dataset = node.value[0]
            break
        node = node.value[1] if len(node.value) > 1 else None
    if dataset is None or dataset.attributes is None:
        raise SourceFormatError(path, "has no named list `dataset`; expected TissueEnrich's combine-expression.rda")
    converter = rdata.conversion.SimpleConverter()
    names = [str(name) for name in converter.convert(dataset.attributes)["names"]]
    missing = [name for name in TISSUEENRICH_DATASETS if name not in names]
    if missing:
        raise SourceFormatError(path, f"`dataset` lacks entries {missing}; it has {names}")
    return {name: converter.convert(dataset.value[names.index(name)]) for name in TISSUEENRICH_DATASETS}


def _tissueenrich_long(path: Path, entry_name: str, entry: dict) -> pl.DataFrame:
    for table, columns in TISSUEENRICH_TABLES.items():
        found = entry.get(table) if isinstance(entry, dict) else None
        if found is None or not hasattr(found, "columns") or any(c not in found.columns for c in columns or []):
            raise SourceFormatError(path, f"entry {entry_name!r} lacks a data.frame {table} with columns {columns}")
    expression = entry["expressionData"]
    details = pl.from_pandas(entry["tissueDetails"][["RName", "TissueName"]])
    groups = pl.from_pandas(entry["tissueSpecificGenes"][["Gene", "Tissue", "Group"]])
    unknown = sorted(set(expression.columns) ^ set(details["RName"]))
    if unknown:
        raise SourceFormatError(path, f"entry {entry_name!r}: tissues {unknown} are not in both expressionData "
                                "and tissueDetails")
    wide = pl.from_pandas(expression.reset_index(names="ensembl_gene_id"))
    bad = (~wide["ensembl_gene_id"].str.contains(_ENSG)).fill_null(True).arg_true()
    if len(bad):
        raise SourceFormatError(path, f"entry {entry_name!r}: expected Ensembl gene IDs as row names, "
                                f"found {wide['ensembl_gene_id'][int(bad[0])]!r}")
    check_unique(path, wide, ["ensembl_gene_id"], first_line=None)
    check_unique(path, groups, ["Gene", "Tissue"], first_line=None)
    check_unique(path, details, ["TissueName"], first_line=None)
    bad_groups = sorted(set(groups["Group"].drop_nulls()) - set(ALL_GROUPS))
    if bad_groups:
        raise SourceFormatError(path, f"entry {entry_name!r}: unknown tissueSpecificGenes groups {bad_groups}; "
                                f"expected {list(ALL_GROUPS)}")
    long = wide.unpivot(index="ensembl_gene_id", variable_name="RName", value_name="tpm")
    if (long["tpm"].is_null() | long["tpm"].is_nan() | (long["tpm"] < 0)).any():
        raise SourceFormatError(path, f"entry {entry_name!r}: expected non-negative TPM values, found "
                                "missing or negative ones")
    specific = groups.filter(pl.col("Group").is_in(SPECIFIC_GROUPS)).rename(
        {"Gene": "ensembl_gene_id", "Tissue": "RName", "Group": "specificity_group"})
    return (
        long.join(details, on="RName", how="left")
        .join(specific, on=["ensembl_gene_id", "RName"], how="left")
        .select(
            pl.lit(TISSUEENRICH_DATASETS[entry_name]).alias("dataset"),
            "ensembl_gene_id",
            pl.col("TissueName").alias("tissue"),
            pl.col("tpm").cast(pl.Float64),
            "specificity_group",
        )
    )


def parse_tissue_expression(path: Path) -> pl.DataFrame:
    """TissueEnrich's combine-expression.rda -> one row per dataset, gene and tissue.

    Columns: dataset ("HPA" or "GTEx"), ensembl_gene_id, tissue (human-readable name from
    tissueDetails), tpm (Float64), specificity_group (Tissue-Enriched / Group-Enriched /
    Tissue-Enhanced for that gene in that tissue, else null).
    """
    entries = _tissueenrich_entries(path)
    frames = [_tissueenrich_long(path, name, entry) for name, entry in entries.items()]
    return pl.concat(frames).sort("dataset", "ensembl_gene_id", "tissue")


def parse_gtex_median_tpm(path: Path) -> pl.DataFrame:
    """GTEx median TPM per tissue (GCT 1.2, e.g. v8 ..._gene_median_tpm.gct.gz) -> one row per gene and tissue.

    Columns: ensembl_gene_id (version stripped), gene_symbol, tissue, tpm (Float64). The Y copies
    of pseudoautosomal genes (IDs ending "_PAR_Y") repeat the X gene's ID and are dropped.
    """
    lines = read_lines(path)
    if not lines or lines[0].strip() != "#1.2":
        raise SourceFormatError(path, f"expected a GCT file starting '#1.2', found {(lines or [''])[0][:40]!r}", line=1)
    dims = lines[1].split("\t") if len(lines) > 1 else []
    if len(dims) < 2 or not all(d.strip().isdigit() for d in dims[:2]):
        raise SourceFormatError(path, "expected GCT dimensions '<genes>\\t<tissues>'", line=2)
    raw = read_delimited(path, ["Name", "Description"], lines=lines, skip_lines=2)
    tissues = [column for column in raw.columns if column not in ("Name", "Description")]
    genes_declared, tissues_declared = int(dims[0]), int(dims[1])
    if (raw.height, len(tissues)) != (genes_declared, tissues_declared):
        raise SourceFormatError(path, f"GCT header declares {genes_declared} genes x {tissues_declared} tissues, "
                                f"found {raw.height} x {len(tissues)}; the file may be truncated", line=2)
    raw = cast_columns(path, raw, dict.fromkeys(tissues, pl.Float64), first_line=4)
    for tissue in tissues:
        check_range(path, raw, tissue, 0.0, float("inf"), first_line=4)
    ids = raw.with_columns(
        pl.col("Name").str.extract(r"^(ENSG\d+)(?:\.\d+)?$", 1).alias("ensembl_gene_id"),
        pl.col("Name").str.ends_with("_PAR_Y").alias("par_y"),
    )
    bad = (ids["ensembl_gene_id"].is_null() & ~ids["par_y"]).arg_true()
    if len(bad):
        raise SourceFormatError(path, f"expected a versioned Ensembl gene ID, found {raw['Name'][int(bad[0])]!r}",
                                line=4 + int(bad[0]), column="Name")
    # PAR_Y rows keep their full name here, so they never collide with the X gene.
    keys = ids.select(pl.coalesce(pl.when(~pl.col("par_y")).then("ensembl_gene_id"), "Name").alias("Name"))
    check_unique(path, keys, ["Name"], first_line=4)
    return (
        ids.filter(~pl.col("par_y"))
        .unpivot(index=["ensembl_gene_id", "Description"], on=tissues, variable_name="tissue", value_name="tpm")
        .select("ensembl_gene_id", pl.col("Description").alias("gene_symbol"), "tissue", "tpm")
    )
