"""Mouse inner-ear hair cells vs surrounding cells (Scheffer et al. 2015, GSE60019): CPM and enrichment."""

import warnings
from pathlib import Path

import polars as pl

from usher_assets.sources.formats import SourceFormatError

MOUSE_GENE_SYMBOL = "mouse_gene_symbol"
HAIR_CELL = "hair_cell"
SURROUNDING_CELL = "surrounding_cell"
# The sample sheet's vocabulary -> ours.
CELL_TYPES = {"sensory_hair_cell": HAIR_CELL, "surrounding_cell": SURROUNDING_CELL}
ORGANS = {"sensory_epithelium_of_spiral_organ": "cochlea", "epithelium_of_utricle": "utricle"}
DESIGN_COLUMNS = ["sample", "organism_part", "cell_type", "time_point"]
LONG_SCHEMA = {MOUSE_GENE_SYMBOL: pl.String, "sample": pl.String, "cell_type": pl.String, "organ": pl.String,
               "time_point": pl.String, "cpm": pl.Float64}

# Added to both means before the ratio. Values run down to 0.04 CPM, where 0.04 vs 0.4 would
# read as a 10-fold change on noise; 1 CPM (a few reads per sample here) keeps barely
# expressed genes near log2FC 0, while strong markers keep their size (Pou4f3: 244 vs 0.4 -> 7.5).
CPM_PSEUDOCOUNT = 1.0
# A stage/organ group counts as enriched at a 2-fold hair-cell excess.
ENRICHED_LOG2FC = 1.0


def read_rds_frame(path: Path | str) -> pl.DataFrame:
    """An R data.frame/tibble saved with saveRDS, as polars (factors become strings)."""
    import rdata

    path = Path(path)
    if not path.is_file():
        raise SourceFormatError(path, "file not found; check the configured data directory")
    try:
        with warnings.catch_warnings():
            # rdata warns that tibble classes fall back to data.frame and about the .RDS suffix; both harmless.
            warnings.simplefilter("ignore")
            value = rdata.read_rds(path)
    except Exception as error:  # rdata raises many unrelated types on a bad file; all mean the same here
        raise SourceFormatError(path, f"not a readable R .rds file ({type(error).__name__}: {error})") from error
    import pandas as pd

    if not isinstance(value, pd.DataFrame):
        raise SourceFormatError(path, f"expected an R data.frame, found {type(value).__name__}")
    frame = pl.from_pandas(value.reset_index(drop=True))
    return frame.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))


def _first_bad_row(path: Path, frame: pl.DataFrame, column: str, bad: pl.Series, message: str) -> None:
    rows = bad.fill_null(True).arg_true()
    if len(rows):
        index = int(rows[0])
        raise SourceFormatError(path, f"row {index + 1}: {message}, found {frame[column][index]!r}", column=column)


def _parse_design(path: Path) -> pl.DataFrame:
    design = read_rds_frame(path)
    missing = [name for name in DESIGN_COLUMNS if name not in design.columns]
    if missing:
        raise SourceFormatError(path, f"missing sample-sheet column(s) {missing}; found {design.columns}",
                                column=missing[0])
    for column in DESIGN_COLUMNS:
        if design.schema[column] != pl.String:
            raise SourceFormatError(path, f"expected text, found {design.schema[column]}", column=column)
    _first_bad_row(path, design, "sample", design["sample"].is_duplicated() | design["sample"].is_null(),
                   "expected one row per sample")
    _first_bad_row(path, design, "cell_type", ~design["cell_type"].is_in(list(CELL_TYPES)),
                   f"expected one of {sorted(CELL_TYPES)}")
    _first_bad_row(path, design, "organism_part", ~design["organism_part"].is_in(list(ORGANS)),
                   f"expected one of {sorted(ORGANS)}")
    _first_bad_row(path, design, "time_point", ~design["time_point"].str.contains(r"^[EP]\d+$"),
                   "expected an age like 'E16' or 'P7'")
    return design.select(
        "sample",
        pl.col("cell_type").replace_strict(CELL_TYPES),
        pl.col("organism_part").replace_strict(ORGANS).alias("organ"),
        "time_point",
    )


def _parse_matrix(path: Path) -> pl.DataFrame:
    matrix = read_rds_frame(path)
    if "gene" not in matrix.columns or matrix.schema["gene"] != pl.String:
        raise SourceFormatError(path, f"expected a text column 'gene' first, found columns {matrix.columns[:5]}",
                                column="gene")
    _first_bad_row(path, matrix, "gene", matrix["gene"].is_duplicated() | matrix["gene"].is_null(),
                   "expected one row per gene")
    samples = [name for name in matrix.columns if name != "gene"]
    if not samples:
        raise SourceFormatError(path, "has a gene column but no sample columns")
    for sample in samples:
        if not matrix.schema[sample].is_numeric():
            raise SourceFormatError(path, f"expected numeric CPM values, found {matrix.schema[sample]}",
                                    column=sample)
        values = matrix[sample].cast(pl.Float64)
        _first_bad_row(path, matrix, sample, values.is_nan() | (values < 0), "expected a CPM value >= 0")
    return matrix.with_columns(pl.col(samples).cast(pl.Float64))


def parse_hair_cell_expression(matrix_path: Path | str, design_path: Path | str) -> pl.DataFrame:
    """One row per mouse gene and sample: mouse_gene_symbol, sample, cell_type ("hair_cell" |
    "surrounding_cell"), organ ("cochlea" | "utricle"), time_point ("E16" ... "P7"), cpm.
    """
    matrix_path, design_path = Path(matrix_path), Path(design_path)
    design = _parse_design(design_path)
    matrix = _parse_matrix(matrix_path)
    samples = set(matrix.columns) - {"gene"}
    if samples != set(design["sample"]):
        raise SourceFormatError(
            matrix_path, f"samples differ from the sample sheet {design_path.name}: only in the matrix "
            f"{sorted(samples - set(design['sample']))}, only in the sheet {sorted(set(design['sample']) - samples)}")
    return (
        matrix.unpivot(index="gene", variable_name="sample", value_name="cpm")
        .rename({"gene": MOUSE_GENE_SYMBOL})
        .join(design, on="sample", how="left")
        .select(list(LONG_SCHEMA))
    )


def _log2_ratio(hair: pl.Expr, surrounding: pl.Expr) -> pl.Expr:
    return ((hair + CPM_PSEUDOCOUNT) / (surrounding + CPM_PSEUDOCOUNT)).log(2)


def hair_cell_enrichment(expression: pl.DataFrame) -> pl.DataFrame:
    """One row per mouse gene: how much more it is expressed in hair cells than in surrounding cells.

    Columns: mouse_gene_symbol, hair_cell_mean_cpm, surrounding_cell_mean_cpm (means over all
    samples of each cell type), hair_cell_log2fc (log2 of the ratio of those means, each plus
    CPM_PSEUDOCOUNT), hair_cell_groups_enriched (organ x time-point groups where the same ratio
    within the group reaches ENRICHED_LOG2FC), hair_cell_groups_measured (groups with both cell types).
    """
    by_cell_type = pl.col("cell_type")
    means = expression.group_by(MOUSE_GENE_SYMBOL).agg(
        pl.col("cpm").filter(by_cell_type == HAIR_CELL).mean().alias("hair_cell_mean_cpm"),
        pl.col("cpm").filter(by_cell_type == SURROUNDING_CELL).mean().alias("surrounding_cell_mean_cpm"),
    )
    groups = (
        expression.group_by(MOUSE_GENE_SYMBOL, "organ", "time_point")
        .agg(pl.col("cpm").filter(by_cell_type == HAIR_CELL).mean().alias("hair"),
             pl.col("cpm").filter(by_cell_type == SURROUNDING_CELL).mean().alias("surrounding"))
        .drop_nulls(["hair", "surrounding"])
        .group_by(MOUSE_GENE_SYMBOL)
        .agg((_log2_ratio(pl.col("hair"), pl.col("surrounding")) >= ENRICHED_LOG2FC).sum().cast(pl.Int64)
             .alias("hair_cell_groups_enriched"),
             pl.len().cast(pl.Int64).alias("hair_cell_groups_measured"))
    )
    return (
        means.with_columns(_log2_ratio(pl.col("hair_cell_mean_cpm"), pl.col("surrounding_cell_mean_cpm"))
                           .alias("hair_cell_log2fc"))
        .join(groups, on=MOUSE_GENE_SYMBOL, how="left")
        .with_columns(pl.col("hair_cell_groups_enriched", "hair_cell_groups_measured").fill_null(0))
        .sort(MOUSE_GENE_SYMBOL)
    )
