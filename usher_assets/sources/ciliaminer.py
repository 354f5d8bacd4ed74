"""Parser for CiliaMiner's disease-gene JSON export (secondarylist.json): labels for validation only."""

import json
import math
from pathlib import Path

import polars as pl

from usher_assets.sources.formats import SourceFormatError, check_unique, read_text

REQUIRED_FIELDS = ("Ciliopathy", "Abbreviation", "Human Gene Name", "Human Gene ID")


def _entrez(path: Path, record_number: int, value: object) -> int | None:
    # The export writes NCBI Gene IDs as JSON floats (4647.0) and NaN when there is none.
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value <= 0:
        raise SourceFormatError(path, f"record {record_number}: expected a positive whole NCBI Gene ID in "
                                f"'Human Gene ID', found {value!r}", column="Human Gene ID")
    return int(value)


def _text(path: Path, record_number: int, record: dict, field: str) -> str | None:
    value = record[field]
    if value is not None and not isinstance(value, str):
        raise SourceFormatError(path, f"record {record_number}: expected text in {field!r}, found {value!r}",
                                column=field)
    return (value or "").strip() or None


def parse_ciliaminer(path: Path) -> pl.DataFrame:
    """One row per disease subtype and gene: disease, abbreviation, gene_symbol, entrez_id (Int64 | null).

    Records without a gene (subtypes whose gene is unknown) are dropped.
    """
    text = read_text(path)
    try:
        records = json.loads(text)
    except json.JSONDecodeError as error:
        raise SourceFormatError(path, f"not valid JSON ({error.msg}, character {error.colno})",
                                line=error.lineno) from error
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise SourceFormatError(path, "expected a JSON list of records (objects), as CiliaMiner exports")
    if not records:
        raise SourceFormatError(path, "holds an empty list; expected disease-gene records")
    rows = []
    for number, record in enumerate(records, start=1):
        missing = [field for field in REQUIRED_FIELDS if field not in record]
        if missing:
            raise SourceFormatError(path, f"record {number} lacks field(s) {missing}; it has {sorted(record)}",
                                    column=missing[0])
        symbol = _text(path, number, record, "Human Gene Name")
        if symbol is None:
            continue
        disease = _text(path, number, record, "Ciliopathy")
        if disease is None:
            raise SourceFormatError(path, f"record {number} (gene {symbol}) has no disease name", column="Ciliopathy")
        rows.append((disease, _text(path, number, record, "Abbreviation"), symbol,
                     _entrez(path, number, record["Human Gene ID"])))
    frame = pl.DataFrame(rows, schema={"disease": pl.String, "abbreviation": pl.String,
                                       "gene_symbol": pl.String, "entrez_id": pl.Int64}, orient="row")
    check_unique(path, frame, ["disease", "abbreviation", "gene_symbol"], nullable=["abbreviation"],
                 first_line=None)
    return frame
