"""Ciliated-cell markers of the human lung atlas (Travaglini et al. 2020, Table S4, 10x data).

Also holds the strict worksheet reader the other spreadsheet parsers share.
"""

from collections.abc import Iterator, Sequence
from pathlib import Path

import polars as pl

from usher_assets.sources.formats import SourceFormatError

# Sheet -> the cell-type name its first line must carry.
CILIATED_SHEETS = {"Cluster 2": "Ciliated", "Cluster 3": "Proximal Ciliated"}
# Only the first six columns are read: the flags after them include OMIM and GWAS, curated
# disease annotations that must never become features.
MARKER_HEADER = ["Gene", "avg_logFC", "pct_in_cluster", "pct_out_cluster", "p_val", "p_val_adj"]
MARKER_COLUMNS = {"avg_logFC": "avg_logfc", "pct_in_cluster": "pct_in", "pct_out_cluster": "pct_out",
                  "p_val_adj": "p_val_adj"}


def read_sheet_rows(path: Path | str, sheet: str) -> list[list]:
    """All cells of one worksheet as Python values; row i of the list is spreadsheet row i + 1.

    Uses calamine, a cell-data reader, so workbooks naming a missing drawing part still open.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    path = Path(path)
    if not path.is_file():
        raise SourceFormatError(path, "file not found; check the configured data directory")
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except CalamineError as error:
        raise SourceFormatError(path, f"not a readable spreadsheet ({error}); expected an .xlsx workbook") from error
    if sheet not in workbook.sheet_names:
        raise SourceFormatError(path, f"expected a sheet named {sheet!r}, found {workbook.sheet_names[:10]}; "
                                      "is this the right workbook?")
    # Keep leading empty rows so list positions match spreadsheet row numbers.
    return workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def data_rows(rows: list[list], header_line: int, width: int) -> Iterator[tuple[int, list]]:
    """(spreadsheet line, row) for every row below `header_line` whose first `width` cells are not all blank."""
    for index, row in enumerate(rows[header_line:]):
        if not all(cell == "" for cell in row[:width]):
            yield index + header_line + 1, row


def check_header_cells(path: Path, sheet: str, rows: list[list], line: int, expected: Sequence[str]) -> None:
    """Raise unless spreadsheet row `line` starts with the `expected` cell texts (extra cells are ignored)."""
    found = [str(cell).strip() for cell in rows[line - 1][:len(expected)]] if len(rows) >= line else []
    if found != list(expected):
        raise SourceFormatError(path, f"sheet {sheet!r}: expected header cells {list(expected)}, found {found}",
                                line=line)


def cell_number(path: Path, sheet: str, value: object, line: int, column: str) -> float:
    """A numeric cell as float; text, blanks and booleans are errors."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SourceFormatError(path, f"sheet {sheet!r}: expected a number, found {value!r}", line=line, column=column)
    return float(value)


def cell_text(path: Path, sheet: str, value: object, line: int, column: str) -> str:
    """A non-empty text cell, stripped."""
    if not isinstance(value, str) or not value.strip():
        raise SourceFormatError(path, f"sheet {sheet!r}: expected non-empty text, found {value!r}",
                                line=line, column=column)
    return value.strip()


def _parse_marker_sheet(path: Path, sheet: str, cell_type: str) -> pl.DataFrame:
    rows = read_sheet_rows(path, sheet)
    check_header_cells(path, sheet, rows, 1, [cell_type])
    check_header_cells(path, sheet, rows, 2, MARKER_HEADER)
    records = []
    for line, row in data_rows(rows, 2, len(MARKER_HEADER)):
        record = {"gene_symbol": cell_text(path, sheet, row[0], line, "Gene"), "cell_type": cell_type}
        for source, target in MARKER_COLUMNS.items():
            record[target] = cell_number(path, sheet, row[MARKER_HEADER.index(source)], line, source)
        for fraction in ("pct_in_cluster", "pct_out_cluster", "p_val_adj"):
            value = record[MARKER_COLUMNS[fraction]]
            if not 0.0 <= value <= 1.0:
                raise SourceFormatError(path, f"sheet {sheet!r}: expected a fraction in [0, 1], found {value}",
                                        line=line, column=fraction)
        records.append(record)
    if not records:
        raise SourceFormatError(path, f"sheet {sheet!r} has a header but no marker rows")
    frame = pl.DataFrame(records, schema={"gene_symbol": pl.String, "cell_type": pl.String, "avg_logfc": pl.Float64,
                                          "pct_in": pl.Float64, "pct_out": pl.Float64, "p_val_adj": pl.Float64})
    repeated = frame["gene_symbol"].is_duplicated().arg_true()
    if len(repeated):
        index = int(repeated[-1])
        raise SourceFormatError(path, f"sheet {sheet!r}: gene {frame['gene_symbol'][index]!r} is listed twice; "
                                      "expected one row per gene", line=index + 3, column="Gene")
    return frame


def parse_ciliated_cell_markers(path: Path | str) -> pl.DataFrame:
    """One row per marker gene of the Ciliated and Proximal Ciliated lung cell types.

    Columns: gene_symbol (human, as published), cell_type ("Ciliated" | "Proximal Ciliated"),
    avg_logfc (natural log, >= 0.25 by the authors' cut), pct_in, pct_out, p_val_adj.
    Only enriched genes are listed, so a gene's absence says nothing about its expression.
    """
    path = Path(path)
    return pl.concat([_parse_marker_sheet(path, sheet, cell_type) for sheet, cell_type in CILIATED_SHEETS.items()])
