"""The gene universe (HGNC approved protein-coding genes) and mapping of symbols and IDs onto it.

Symbols change and collide, so IDs are tried first and symbols go through HGNC's
previous and alias symbols, never mapping one input row to two genes.
"""

import dataclasses
from collections.abc import Iterable

import polars as pl

from usher_assets.schemas import (
    ALIAS_SYMBOLS, CHROMOSOME, CHROMOSOMES, ENSEMBL_GENE_ID, ENTREZ_ID, GENE_GROUPS, GENE_SYMBOL,
    GENE_UNIVERSE_COLUMNS, HGNC_ID, MGD_IDS, PREV_SYMBOLS,
)

PROTEIN_CODING = "protein-coding gene"
MATCH_KINDS = ("symbol", "previous", "alias", "ambiguous", "unmatched")
# HGNC locations start with the chromosome: "11q13.5", "13cen", "Xp22.33 and Yp11.2",
# "12 alternate reference locus"; mitochondrial genes say "mitochondria".
_CHROMOSOME_PREFIX = r"^(\d{1,2}|X|Y)(?:[pq]|cen|\s|$)"


def chromosome_from_location(location: pl.Expr) -> pl.Expr:
    """HGNC cytogenetic location -> one of CHROMOSOMES, or null when it names none."""
    parsed = (
        pl.when(location.str.strip_chars() == "mitochondria").then(pl.lit("MT"))
        .otherwise(location.str.extract(_CHROMOSOME_PREFIX, 1))
    )
    return pl.when(parsed.is_in(CHROMOSOMES)).then(parsed).otherwise(None)


def build_gene_universe(hgnc: pl.DataFrame) -> pl.DataFrame:
    """One row per HGNC approved protein-coding gene, with GENE_UNIVERSE_COLUMNS, in HGNC ID order."""
    genes = hgnc.filter((pl.col("locus_group") == PROTEIN_CODING) & (pl.col("status") == "Approved"))
    return (
        genes.select(
            HGNC_ID,
            pl.col("symbol").alias(GENE_SYMBOL),
            ENSEMBL_GENE_ID,
            ENTREZ_ID,
            chromosome_from_location(pl.col("location")).alias(CHROMOSOME),
            ALIAS_SYMBOLS, PREV_SYMBOLS, GENE_GROUPS, MGD_IDS,
        )
        .sort(pl.col(HGNC_ID).str.extract(r"(\d+)$").cast(pl.Int64))
        .select(GENE_UNIVERSE_COLUMNS)
    )


class SymbolResolver:
    """Maps approved, previous and alias symbols (case-insensitive) to one hgnc_id.

    Precedence is approved symbol > previous symbol > alias: a name that is one gene's
    approved symbol always means that gene. A previous or alias symbol shared by several
    genes (at the highest tier where it occurs) is ambiguous and not mapped.

    Pass the full HGNC table (`parse_hgnc`) as `hgnc` so that symbols of genes outside the
    universe count too: without it, a pseudogene's approved symbol that is also an alias of
    a protein-coding gene (HLA-H, an alias of HFE) maps to that protein-coding gene. With it,
    names are resolved over all of HGNC and hits outside the universe are "unmatched".
    """

    def __init__(self, universe: pl.DataFrame, hgnc: pl.DataFrame | None = None):
        names = universe if hgnc is None else hgnc.rename({"symbol": GENE_SYMBOL})
        self._universe_ids = set(universe[HGNC_ID])
        self._lookup: dict[str, tuple[str | None, str]] = {}
        for column, kind in ((ALIAS_SYMBOLS, "alias"), (PREV_SYMBOLS, "previous")):
            pairs = names.select(HGNC_ID, pl.col(column).alias("name")).explode("name").drop_nulls("name")
            targets = (pairs.group_by(pl.col("name").str.to_uppercase())
                       .agg(pl.col(HGNC_ID).unique()))
            # Later (higher) tiers overwrite earlier ones.
            for name, ids in targets.iter_rows():
                self._lookup[name] = (ids[0], kind) if len(ids) == 1 else (None, "ambiguous")
        for hgnc_id, symbol in names.select(HGNC_ID, GENE_SYMBOL).iter_rows():
            self._lookup[symbol.upper()] = (hgnc_id, "symbol")
        for name, (hgnc_id, _) in list(self._lookup.items()):
            if hgnc_id is not None and hgnc_id not in self._universe_ids:
                self._lookup[name] = (None, "unmatched")

    def resolve(self, symbols: Iterable[str | None]) -> pl.DataFrame:
        """One row per input symbol, in input order: input_symbol, hgnc_id, match."""
        inputs = list(symbols)
        resolved = [self._lookup.get(s.strip().upper(), (None, "unmatched")) if s else (None, "unmatched")
                    for s in inputs]
        return pl.DataFrame(
            {"input_symbol": inputs, HGNC_ID: [r[0] for r in resolved], "match": [r[1] for r in resolved]},
            schema={"input_symbol": pl.String, HGNC_ID: pl.String, "match": pl.String},
        )


@dataclasses.dataclass(frozen=True)
class MappingReport:
    """How the rows of one source frame landed on the gene universe."""

    rows_in: int
    matched_by_id: int
    matched_by_symbol: int
    matched_by_previous: int
    matched_by_alias: int
    unmatched: int
    ambiguous: int
    duplicate_genes: int = 0
    """Genes that more than one kept input row mapped to; callers aggregate them."""

    def as_metadata(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def _id_lookup(universe: pl.DataFrame, column: str, value: pl.Expr) -> pl.Expr:
    # An ID shared by two genes identifies neither.
    keys = universe.select(pl.col(column).alias("key"), HGNC_ID).drop_nulls("key").filter(pl.col("key").is_unique())
    return value.replace_strict(dict(keys.iter_rows()), default=None, return_dtype=pl.String)


def map_to_universe(
    frame: pl.DataFrame,
    universe: pl.DataFrame,
    *,
    symbol_column: str | None = None,
    ensembl_column: str | None = None,
    entrez_column: str | None = None,
    hgnc_column: str | None = None,
    hgnc: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, MappingReport]:
    """Add an hgnc_id column to `frame`, keeping only rows that map to exactly one gene.

    Stable IDs are tried first (HGNC, then Ensembl, then Entrez), resolved symbols last.
    Each input row gives at most one output row; rows that share a gene are kept and
    counted in ``duplicate_genes``, for the caller to aggregate. Pass the full HGNC table as
    `hgnc` to keep symbols of non-coding genes off protein-coding ones (see `SymbolResolver`).
    """
    if not any((symbol_column, ensembl_column, entrez_column, hgnc_column)):
        raise ValueError("map_to_universe needs at least one of symbol/ensembl/entrez/hgnc_column")
    if HGNC_ID in frame.columns and hgnc_column != HGNC_ID:
        raise ValueError(f"frame already has an {HGNC_ID!r} column; pass it as hgnc_column or rename it")
    id_hits = []
    if hgnc_column:
        hgnc = pl.col(hgnc_column).cast(pl.String).str.strip_chars().str.replace(r"^(\d+)$", "HGNC:$1")
        id_hits.append(_id_lookup(universe, HGNC_ID, hgnc))
    if ensembl_column:
        ensembl = pl.col(ensembl_column).cast(pl.String).str.strip_chars().str.replace(r"\.\d+$", "")
        id_hits.append(_id_lookup(universe, ENSEMBL_GENE_ID, ensembl))
    if entrez_column:
        entrez = (pl.col(entrez_column).cast(pl.String).str.strip_chars().str.replace(r"\.0$", "")
                  .cast(pl.Int64, strict=False))
        id_hits.append(_id_lookup(universe, ENTREZ_ID, entrez))
    no_hits = pl.Series("by_id", [None] * frame.height, dtype=pl.String)
    by_id = frame.select(pl.coalesce(id_hits)).to_series() if id_hits else no_hits
    if symbol_column:
        symbols = SymbolResolver(universe, hgnc).resolve(frame[symbol_column].cast(pl.String))
    else:
        symbols = pl.DataFrame({HGNC_ID: [None] * frame.height, "match": ["unmatched"] * frame.height},
                               schema={HGNC_ID: pl.String, "match": pl.String})
    how = pl.DataFrame({"by_id": by_id, "by_symbol": symbols[HGNC_ID], "match": symbols["match"]})
    how = how.with_columns(
        pl.coalesce("by_id", "by_symbol").alias(HGNC_ID),
        pl.when(pl.col("by_id").is_not_null()).then(pl.lit("id")).otherwise("match").alias("match"),
    )
    counts = dict(how["match"].value_counts().iter_rows())
    mapped = frame.drop(HGNC_ID, strict=False).with_columns(how[HGNC_ID]).filter(pl.col(HGNC_ID).is_not_null())
    report = MappingReport(
        rows_in=frame.height,
        matched_by_id=counts.get("id", 0),
        matched_by_symbol=counts.get("symbol", 0),
        matched_by_previous=counts.get("previous", 0),
        matched_by_alias=counts.get("alias", 0),
        unmatched=counts.get("unmatched", 0),
        ambiguous=counts.get("ambiguous", 0),
        duplicate_genes=mapped[HGNC_ID].value_counts().filter(pl.col("count") > 1).height,
    )
    return mapped, report
