"""Ciliary interactomes: BioID proximity and siRNA screen (Gupta et al. 2015), TAP-MS (Boldt et al. 2016).

Only the consortia's own measurements are read: Gupta's literature "Reported" flag and Boldt's
BioPlex, BioGRID and IntAct columns are curated knowledge and are never loaded.
"""

from pathlib import Path

import polars as pl

from usher_assets.schemas import HGNC_ID
from usher_assets.sources.formats import SourceFormatError, check_allowed, check_range, read_delimited
from usher_assets.sources.lung_atlas import cell_number, cell_text, check_header_cells, data_rows, read_sheet_rows
from usher_assets.sources.universe import map_to_universe

BIOID_COLUMNS = {"Bait": "bait_symbol", "Prey": "prey_symbol", "Condition": "condition",
                 "AvgSAINT": "avg_saint", "MaxSAINT": "max_saint", "MaxSpec": "max_spectral_count",
                 "SpecSum": "spectral_count_sum"}
BIOID_CONDITIONS = {"Ciliated": "ciliated", "Non-ciliated": "non_ciliated"}

SCREEN_FLAGS = {
    "Hit-Any_screen (Fig4,7,S4)": "hit_any_screen",
    "Hit-Cilia negative_regulator (Fig4,7,S4)": "hit_cilia_negative_regulator",
    "Hit-Cilia positive_regulator (Fig4,7,S4)": "hit_cilia_positive_regulator",
    "Hit-Cilia screen (Fig4,7,S4)": "hit_cilia_screen",
    "Hit-Duplication_screen (Fig4,7,S4)": "hit_duplication_screen",
    "Hit-Satellite_screen (Fig4,7,S4)": "hit_satellite_screen",
}
SCREENED = "Screened (Fig4,7,S4)"
DETECTED = {"Detected in non-ciliated condition": "detected_non_ciliated",
            "Detected in ciliated condition": "detected_ciliated"}

TAP_MS_SHEET = "Supplementary Data file 3"
# Line 1 groups columns by data source; line 2 names them. Columns C-I are the Syscilia
# TAP-MS socioaffinity measurements; everything to their right is other studies or curation.
TAP_MS_GROUP_LINE = ["Protein A", "Protein B", "Syscilia"]
TAP_MS_HEADER = ["", "", "SAij", "Spoke ij", "Spoke ji", "Matrix ij", "FPR", "FDR", "Tagged"]
TAP_MS_NUMBERS = {"SAij": "sa_ij", "Spoke ij": "spoke_ij", "Spoke ji": "spoke_ji", "Matrix ij": "matrix_ij",
                  "FPR": "fpr", "FDR": "fdr"}
TAP_MS_TAGGED = {"both", "one", "none"}


def parse_bioid_interactions(path: Path | str) -> pl.DataFrame:
    """One row per bait-prey-condition BioID record, SAINT-scored.

    Columns: bait_symbol, prey_symbol (human symbols as published; "A/B" kept as "A"), condition ("ciliated" |
    "non_ciliated"), avg_saint, max_saint (probabilities in [0, 1]), max_spectral_count,
    spectral_count_sum (Int64).
    """
    raw = read_delimited(
        Path(path), list(BIOID_COLUMNS),
        types={"AvgSAINT": pl.Float64, "MaxSAINT": pl.Float64, "MaxSpec": pl.Int64, "SpecSum": pl.Int64},
        unique=["Bait", "Prey", "Condition"],
    )
    check_allowed(path, raw, "Condition", BIOID_CONDITIONS)
    for column in ("AvgSAINT", "MaxSAINT"):
        check_range(path, raw, column, 0.0, 1.0)
    for column in ("AvgSAINT", "MaxSAINT", "MaxSpec", "SpecSum"):
        missing = raw[column].is_null().arg_true()
        if len(missing):
            raise SourceFormatError(path, "expected a value in every record", line=int(missing[0]) + 2, column=column)
    # One bait is written "CENPJ/CPAP" (symbol/alias of one gene); the first name is the symbol.
    first_name = {name: pl.col(name).str.replace(r"^([^/\s]+)/[^/\s]+$", "$1") for name in ("Bait", "Prey")}
    return raw.with_columns(**first_name).select(
        *(pl.col(source).alias(target) for source, target in BIOID_COLUMNS.items() if source != "Condition"),
        pl.col("Condition").replace_strict(BIOID_CONDITIONS).alias("condition"),
    ).select(BIOID_COLUMNS.values())


def _yes_no(column: str) -> pl.Expr:
    return pl.col(column).replace_strict({"yes": True, "no": False}, default=None, return_dtype=pl.Boolean)


def parse_screen_hits(path: Path | str) -> pl.DataFrame:
    """One row per BioID interactor with its siRNA screen outcome.

    Columns: gene_symbol, entrez_id (Int64), screened (Boolean), then hit_any_screen,
    hit_cilia_negative_regulator, hit_cilia_positive_regulator, hit_cilia_screen,
    hit_duplication_screen, hit_satellite_screen (Boolean; null when the gene was not screened
    or the flag was left blank),
    detected_non_ciliated, detected_ciliated (Boolean).
    """
    path = Path(path)
    raw = read_delimited(path, ["name", "ENTREZ gene ID", SCREENED, *SCREEN_FLAGS, *DETECTED],
                         types={"ENTREZ gene ID": pl.Int64}, unique=["name"])
    check_allowed(path, raw, SCREENED, ["yes"])
    for column in SCREEN_FLAGS:
        check_allowed(path, raw, column, ["yes", "no"])
        # A hit flag is a result only for screened genes. The reverse does not hold: PLK4 was
        # screened but its two regulator flags are blank, which reads as "not reported" (null).
        broken = (raw[SCREENED].is_null() & raw[column].is_not_null()).arg_true()
        if len(broken):
            raise SourceFormatError(path, f"expected a blank, since {SCREENED!r} is blank (gene not screened)",
                                    line=int(broken[0]) + 2, column=column)
    for column in DETECTED:
        check_allowed(path, raw, column, ["True", "False"])
    return raw.select(
        pl.col("name").alias("gene_symbol"),
        pl.col("ENTREZ gene ID").alias("entrez_id"),
        pl.col(SCREENED).is_not_null().alias("screened"),
        *(_yes_no(source).alias(target) for source, target in SCREEN_FLAGS.items()),
        *((pl.col(source) == "True").alias(target) for source, target in DETECTED.items()),
    )


def parse_tap_ms_interactions(path: Path | str) -> pl.DataFrame:
    """One row per significant TAP-MS interaction (FDR/FPR <= 0.1), undirected.

    Columns: protein_a_symbol, protein_b_symbol (human symbols as published), sa_ij, spoke_ij,
    spoke_ji, matrix_ij (socioaffinity terms), fpr, fdr, tagged ("both" | "one" | "none": how
    many of the two proteins were tagged baits).
    """
    path = Path(path)
    rows = read_sheet_rows(path, TAP_MS_SHEET)
    check_header_cells(path, TAP_MS_SHEET, rows, 1, TAP_MS_GROUP_LINE)
    check_header_cells(path, TAP_MS_SHEET, rows, 2, TAP_MS_HEADER)
    records = []
    for line, row in data_rows(rows, 2, len(TAP_MS_HEADER)):
        record = {"protein_a_symbol": cell_text(path, TAP_MS_SHEET, row[0], line, "Protein A"),
                  "protein_b_symbol": cell_text(path, TAP_MS_SHEET, row[1], line, "Protein B")}
        for source, target in TAP_MS_NUMBERS.items():
            record[target] = cell_number(path, TAP_MS_SHEET, row[TAP_MS_HEADER.index(source)], line, source)
        tagged = row[TAP_MS_HEADER.index("Tagged")]
        if tagged not in TAP_MS_TAGGED:
            raise SourceFormatError(path, f"expected one of {sorted(TAP_MS_TAGGED)}, found {tagged!r}",
                                    line=line, column="Tagged")
        record["tagged"] = tagged
        records.append(record)
    if not records:
        raise SourceFormatError(path, f"sheet {TAP_MS_SHEET!r} has its two header lines but no interactions")
    return pl.DataFrame(records, schema={"protein_a_symbol": pl.String, "protein_b_symbol": pl.String,
                                         **{name: pl.Float64 for name in TAP_MS_NUMBERS.values()},
                                         "tagged": pl.String})


def map_partners_to_universe(
    frame: pl.DataFrame, universe: pl.DataFrame, first: str, second: str, *, hgnc: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Add `<first>_hgnc_id` and `<second>_hgnc_id` from the `<first>_symbol`/`<second>_symbol` columns.

    Use ("bait", "prey") for BioID and ("protein_a", "protein_b") for TAP-MS. An edge whose
    either end does not map to exactly one gene is dropped, and so is an edge whose two ends
    turn out to be one gene (a symbol and its old alias); both are counted in the report.
    `hgnc` (the full HGNC table) is passed on to `map_to_universe`.
    """
    mapped = frame
    report: dict[str, int] = {"rows_in": frame.height}
    for end in (first, second):
        mapped, mapping = map_to_universe(mapped, universe, symbol_column=f"{end}_symbol", hgnc=hgnc)
        mapped = mapped.rename({HGNC_ID: f"{end}_{HGNC_ID}"})
        for key, value in mapping.as_metadata().items():
            if key not in ("rows_in", "duplicate_genes"):
                report[f"{end}_{key}"] = value
    self_edges = mapped.filter(pl.col(f"{first}_{HGNC_ID}") == pl.col(f"{second}_{HGNC_ID}")).height
    mapped = mapped.filter(pl.col(f"{first}_{HGNC_ID}") != pl.col(f"{second}_{HGNC_ID}"))
    report["self_edges_dropped"] = self_edges
    report["rows_out"] = mapped.height
    return mapped, report
