"""Primary-cilium proteome of mouse IMCD3 cells by cilia-APEX (Mick et al. 2015, Table S1)."""

import re
from pathlib import Path

import polars as pl

from usher_assets.sources.formats import SourceFormatError
from usher_assets.sources.lung_atlas import cell_number, cell_text, check_header_cells, data_rows, read_sheet_rows

TIER_HEADERS = {
    1: ("Tier 1", ["Protein", "total spectral counts", "Identified in # experiments", "Uniprot accession number"]),
    2: ("Tier 2", ["Protein", "total spectral counts", "Uniprot accession number"]),
}
# The bait is NPHP3(1-200)-GFP-APEX itself, listed first in Tier 1 under a made-up accession.
BAIT_MARKER = "Fusion_Construct"
_GENE_NAME = re.compile(r"\bGN=(\S+)")
PROTEOME_SCHEMA = {"mouse_gene_symbol": pl.String, "uniprot_accession": pl.String, "tier": pl.Int8,
                   "spectral_counts": pl.Int64, "experiments": pl.Int64}


def _whole_number(path: Path, sheet: str, value: object, line: int, column: str, minimum: int) -> int:
    number = cell_number(path, sheet, value, line, column)
    if number != int(number) or number < minimum:
        raise SourceFormatError(path, f"sheet {sheet!r}: expected a whole number >= {minimum}, found {value!r}",
                                line=line, column=column)
    return int(number)


def _parse_tier(path: Path, tier: int, skipped: dict[str, int]) -> list[dict]:
    sheet, header = TIER_HEADERS[tier]
    rows = read_sheet_rows(path, sheet)
    check_header_cells(path, sheet, rows, 1, header)
    records = []
    for line, row in data_rows(rows, 1, len(header)):
        protein = cell_text(path, sheet, row[0], line, "Protein")
        if BAIT_MARKER in protein:
            skipped["bait_construct"] += 1
            continue
        gene = _GENE_NAME.search(protein)
        if gene is None:
            skipped["no_gene_name"] += 1
            continue
        records.append({
            "mouse_gene_symbol": gene.group(1).strip("'"),
            "uniprot_accession": cell_text(path, sheet, row[header.index("Uniprot accession number")], line,
                                           "Uniprot accession number"),
            "tier": tier,
            "spectral_counts": _whole_number(path, sheet, row[1], line, "total spectral counts", 1),
            "experiments": (_whole_number(path, sheet, row[2], line, "Identified in # experiments", 1)
                            if tier == 1 else None),
        })
    return records


def parse_cilia_proteome(path: Path | str) -> tuple[pl.DataFrame, dict[str, int]]:
    """One row per identified protein of both tiers, and the count of rows skipped by reason.

    Columns: mouse_gene_symbol (the FASTA header's GN= field), uniprot_accession, tier (1 = high
    confidence, 2 = lower), spectral_counts, experiments (Tier 1 only, null in Tier 2). The bait
    construct row and proteins whose header has no GN= field are skipped and counted under
    ``bait_construct`` and ``no_gene_name``. A gene can appear more than once (isoform entries).
    """
    path = Path(path)
    skipped = {"bait_construct": 0, "no_gene_name": 0}
    records = _parse_tier(path, 1, skipped) + _parse_tier(path, 2, skipped)
    if not records:
        raise SourceFormatError(path, "no protein with a GN= gene name in either tier; is this Mick et al. Table S1?")
    return pl.DataFrame(records, schema=PROTEOME_SCHEMA), skipped
