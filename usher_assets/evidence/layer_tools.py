"""Shared steps of the evidence layers: map a source onto the gene universe, rank, combine."""

import polars as pl

from usher_assets.schemas import ENSEMBL_GENE_ID, GENE_SYMBOL, HGNC_ID

LAYER_KEY_COLUMNS = [HGNC_ID, GENE_SYMBOL, ENSEMBL_GENE_ID]


def percentile_rank(column: str, *, higher_is_better: bool = True) -> pl.Expr:
    """Rank-based score in [0, 1] over the non-null values: worst 0, best 1, ties averaged.

    Ranks rather than raw values so a few extreme genes do not squeeze everyone else
    into a corner of the scale. A single non-null value scores 0.5 (no ordering known).
    """
    value = pl.col(column) if higher_is_better else -pl.col(column)
    count = pl.col(column).count()
    scaled = (value.rank("average") - 1) / (count - 1)
    return pl.when(count > 1).then(scaled).otherwise(pl.when(value.is_not_null()).then(0.5))


def mean_of_available(columns: list[str]) -> pl.Expr:
    """Mean of the non-null columns; null when all are null (missing is not negative)."""
    return pl.mean_horizontal(*[pl.col(c) for c in columns], ignore_nulls=True)


def map_source_to_universe(
    frame: pl.DataFrame,
    universe: pl.DataFrame,
    *,
    source: str,
    mapping_log: dict[str, dict] | None = None,
    symbol_column: str | None = None,
    ensembl_column: str | None = None,
    entrez_column: str | None = None,
) -> pl.DataFrame:
    """Add ``hgnc_id`` to every source row that resolves to a universe gene; drop the rest.

    Only the distinct identifier combinations go through the resolver, which keeps
    long tables (GO annotations, tissue x gene) cheap. Several rows may share an
    ``hgnc_id`` afterwards: callers aggregate so that each gene appears once.
    """
    from usher_assets.sources.universe import map_to_universe

    keys = [c for c in (symbol_column, ensembl_column, entrez_column) if c is not None]
    if not keys:
        raise ValueError(f"{source}: no identifier column given; pass symbol_column, "
                         "ensembl_column or entrez_column")
    missing = [c for c in keys if c not in frame.columns]
    if missing:
        raise ValueError(f"{source}: expected identifier column(s) {missing}, found columns "
                         f"{frame.columns}; check the parser output schema")
    if HGNC_ID in frame.columns:
        # The source asset already mapped its rows (with the full HGNC table): trust those IDs.
        mapped_rows = frame.filter(pl.col(HGNC_ID).is_in(universe[HGNC_ID].implode()))
        if mapping_log is not None:
            mapping_log[source] = {"rows_in": frame.height, "rows_with_gene": mapped_rows.height,
                                   "genes": mapped_rows[HGNC_ID].n_unique()}
        return mapped_rows
    distinct = frame.select(keys).unique(maintain_order=True)
    mapped, report = map_to_universe(
        distinct, universe, symbol_column=symbol_column, ensembl_column=ensembl_column,
        entrez_column=entrez_column,
    )
    if mapping_log is not None:
        mapping_log[source] = report.as_metadata()
    lookup = mapped.select([*keys, HGNC_ID]).filter(pl.col(HGNC_ID).is_not_null()).unique()
    source_columns = [c for c in frame.columns if c != HGNC_ID]
    return frame.select(source_columns).join(lookup, on=keys, how="inner", nulls_equal=True)


def attach_to_universe(universe: pl.DataFrame, per_gene: pl.DataFrame) -> pl.DataFrame:
    """One row per universe gene, in universe order; genes the source lacks get nulls."""
    duplicated = per_gene.filter(pl.col(HGNC_ID).is_duplicated())
    if duplicated.height:
        raise ValueError(f"expected one row per hgnc_id, found {duplicated.height} duplicated "
                         f"rows (e.g. {duplicated[HGNC_ID][0]}); aggregate before attaching")
    return universe.select(LAYER_KEY_COLUMNS).join(per_gene, on=HGNC_ID, how="left",
                                                   maintain_order="left")
