"""Mouse genes onto the human gene universe: MGI IDs, then one-to-one orthologs, then symbols.

The ortholog table is TissueEnrich's `mouseHumanOrthologs` (Ensembl v91, one-to-one only).
"""

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from usher_assets.schemas import ENSEMBL_GENE_ID, HGNC_ID, MGD_IDS
from usher_assets.sources.formats import SourceFormatError, parse_rdata
from usher_assets.sources.universe import SymbolResolver

ORTHOLOG_COLUMNS = {"Gene.stable.ID": "mouse_ensembl_gene_id", "Gene.name": "mouse_gene_symbol",
                    "Human.gene.stable.ID": "human_ensembl_gene_id", "Human.gene.name": "human_gene_symbol"}
# Routes in order of trust; a row takes the first route that names any universe gene.
ROUTES = ("mgi", "ortholog", "symbol")
ORTHOLOG_MATCH = "ortholog_match"
MOUSE_SYMBOLS = "mouse_symbols"


def parse_mouse_human_orthologs(rda_path: Path | str) -> pl.DataFrame:
    """One row per one-to-one mouse-human ortholog pair (15,187 in the bundled file).

    Columns: mouse_ensembl_gene_id, mouse_gene_symbol (UPPER-CASED by TissueEnrich),
    human_ensembl_gene_id, human_gene_symbol. Reading takes ~6 s: rdata must parse all
    ~400,000 R objects of TissueEnrich's workspace to reach this table; only the table is converted.
    """
    import rdata

    path = Path(rda_path)
    if not path.is_file():
        raise SourceFormatError(path, "file not found; check the configured data directory")
    try:
        parsed = parse_rdata(path)
    except Exception as error:  # rdata raises many unrelated types on a bad file; all mean the same here
        raise SourceFormatError(path, f"not a readable R .rda file ({type(error).__name__}: {error})") from error
    dataset = _workspace_object(parsed.object, b"dataset", rdata.parser.RObjectType.LIST)
    converter = rdata.conversion.SimpleConverter()
    names = [str(name) for name in converter.convert(dataset.attributes)["names"]] if dataset else []
    if "mouseHumanOrthologs" not in names:
        raise SourceFormatError(path, "expected object 'dataset' with entry 'mouseHumanOrthologs' (TissueEnrich "
                                      f"combine-expression.rda), found entries {names}")
    # Convert only this entry: converting the whole workspace costs another ~3 s.
    table = converter.convert(dataset.value[names.index("mouseHumanOrthologs")])
    missing = [name for name in ORTHOLOG_COLUMNS if name not in getattr(table, "columns", [])]
    if missing:
        raise SourceFormatError(path, f"mouseHumanOrthologs lacks column(s) {missing}", column=missing[0])
    frame = (pl.from_pandas(table[list(ORTHOLOG_COLUMNS)].reset_index(drop=True))
             .with_columns(pl.all().cast(pl.String)).rename(ORTHOLOG_COLUMNS))
    for column, prefix in (("mouse_ensembl_gene_id", "ENSMUSG"), ("human_ensembl_gene_id", "ENSG")):
        bad = (~frame[column].str.starts_with(prefix)).fill_null(True).arg_true()
        if len(bad):
            raise SourceFormatError(path, f"row {int(bad[0]) + 1}: expected an {prefix} ID, found "
                                          f"{frame[column][int(bad[0])]!r}", column=column)
    return frame.drop_nulls("mouse_gene_symbol")


def _workspace_object(node, name: bytes, pairlist_type):
    """The value bound to `name` in a parsed .rda workspace (a pairlist of tagged values), or None."""
    while node is not None and node.info.type == pairlist_type:
        if node.tag is not None and node.tag.value.value == name:
            return node.value[0]
        node = node.value[1] if len(node.value) > 1 else None
    return None


def _mgi_candidates(rows: pl.DataFrame, universe: pl.DataFrame) -> pl.DataFrame:
    # HGNC lists each human gene's mouse orthologs as MGI IDs; one MGI ID under two human genes
    # shows up as two candidates, i.e. one-to-many.
    by_mgi = universe.select(HGNC_ID, pl.col(MGD_IDS).alias("mgi")).explode("mgi").drop_nulls("mgi")
    return rows.drop_nulls("mgi").join(by_mgi, on="mgi").select("_row", HGNC_ID, pl.lit(False).alias("_ambiguous"))


def _ortholog_candidates(rows: pl.DataFrame, universe: pl.DataFrame, orthologs: pl.DataFrame,
                         resolver: SymbolResolver) -> pl.DataFrame:
    pairs = orthologs.select(pl.col("mouse_gene_symbol").str.to_uppercase().alias("key"),
                             "human_ensembl_gene_id", "human_gene_symbol")
    by_ensembl = universe.select(ENSEMBL_GENE_ID, HGNC_ID).drop_nulls(ENSEMBL_GENE_ID)
    pairs = pairs.join(by_ensembl, left_on="human_ensembl_gene_id", right_on=ENSEMBL_GENE_ID, how="left")
    # Ensembl v91 IDs that HGNC no longer lists fall back to the human symbol the table gives.
    by_symbol = resolver.resolve(pairs["human_gene_symbol"])[HGNC_ID]
    pairs = pairs.with_columns(pl.coalesce(HGNC_ID, by_symbol).alias(HGNC_ID)).drop_nulls(HGNC_ID)
    return rows.join(pairs.select("key", HGNC_ID), on="key").select("_row", HGNC_ID,
                                                                    pl.lit(False).alias("_ambiguous"))


def _symbol_candidates(rows: pl.DataFrame, resolver: SymbolResolver) -> pl.DataFrame:
    resolved = resolver.resolve(rows["key"])
    return (rows.select("_row").with_columns(resolved[HGNC_ID], (resolved["match"] == "ambiguous").alias("_ambiguous"))
            .filter(pl.col(HGNC_ID).is_not_null() | pl.col("_ambiguous")))


def map_mouse_to_human(
    frame: pl.DataFrame,
    mouse_symbol_column: str,
    universe: pl.DataFrame,
    orthologs: pl.DataFrame,
    *,
    best_by: Sequence[str] = (),
    descending: bool | Sequence[bool] = True,
    mgi_column: str | None = None,
    hgnc: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Give each mouse row one human hgnc_id; keep one row per human gene.

    Each row takes the first route that names a universe gene: its MGI ID in the universe's
    mgd_ids (only with `mgi_column`), the one-to-one ortholog table (mouse symbol, case-insensitive,
    -> human Ensembl ID), then the upper-cased mouse symbol through the HGNC resolver. If that
    route names more than one human gene (one-to-many), the row is dropped: no later, weaker
    route overrides the ambiguity. When several rows reach one human gene, the row from the most
    trusted route wins, then the best `best_by` value (`descending` like `DataFrame.sort`), then
    the first mouse symbol; the gene is counted once. Pass the full HGNC table as `hgnc` so a
    symbol of a non-coding human gene is not read as a protein-coding gene's alias.

    Returns the kept rows plus hgnc_id, ortholog_match ("mgi" | "ortholog" | "symbol") and
    mouse_symbols (every input symbol that reached the gene), and a report with rows_in,
    one_to_one, by_mgi, by_symbol, one_to_many, unmapped, merged_rows and genes_out.
    """
    if HGNC_ID in frame.columns:
        raise ValueError(f"frame already has an {HGNC_ID!r} column; drop or rename it first")
    resolver = SymbolResolver(universe, hgnc)
    rows = frame.with_row_index("_row").select(
        "_row",
        pl.col(mouse_symbol_column).cast(pl.String).str.strip_chars().str.to_uppercase().alias("key"),
        (pl.col(mgi_column).cast(pl.String) if mgi_column else pl.lit(None, pl.String)).alias("mgi"),
    )
    with_symbol = rows.drop_nulls("key")
    candidates = pl.concat([
        _mgi_candidates(rows, universe).with_columns(_route=pl.lit(0, pl.Int8)),
        _ortholog_candidates(with_symbol, universe, orthologs, resolver).with_columns(_route=pl.lit(1, pl.Int8)),
        _symbol_candidates(with_symbol, resolver).with_columns(_route=pl.lit(2, pl.Int8)),
    ])
    chosen = (
        candidates.filter(pl.col("_route") == pl.col("_route").min().over("_row"))
        .group_by("_row")
        .agg(pl.col("_route").first(), pl.col(HGNC_ID).drop_nulls().unique().alias("_genes"),
             pl.col("_ambiguous").any())
        .with_columns(_one_to_many=(pl.col("_genes").list.len() != 1) | pl.col("_ambiguous"))
    )
    mapped = (
        frame.with_row_index("_row")
        .join(chosen.filter(~pl.col("_one_to_many")), on="_row")
        .with_columns(pl.col("_genes").list.first().alias(HGNC_ID),
                      pl.col("_route").replace_strict(dict(enumerate(ROUTES)), return_dtype=pl.String)
                      .alias(ORTHOLOG_MATCH))
    )
    order = ["_route", *best_by, mouse_symbol_column]
    flags = [descending] * len(best_by) if isinstance(descending, bool) else list(descending)
    kept = (
        mapped.sort(order, descending=[False, *flags, False], nulls_last=True)
        .with_columns(pl.col(mouse_symbol_column).cast(pl.String).unique().sort().over(HGNC_ID, mapping_strategy="join")
                      .alias(MOUSE_SYMBOLS))
        .unique(HGNC_ID, keep="first", maintain_order=True)
        .drop("_row", "_genes", "_route", "_ambiguous", "_one_to_many")
    )
    routes = dict(chosen.filter(~pl.col("_one_to_many"))["_route"].value_counts().iter_rows())
    report = {
        "rows_in": frame.height,
        "one_to_one": routes.get(1, 0),
        "by_mgi": routes.get(0, 0),
        "by_symbol": routes.get(2, 0),
        "one_to_many": int(chosen["_one_to_many"].sum()),
        "unmapped": frame.height - chosen.height,
        "merged_rows": mapped.height - kept.height,
        "genes_out": kept.height,
    }
    return kept, report
