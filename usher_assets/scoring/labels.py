"""Known Usher genes and negative controls, and where they land in a ranking; labels only."""

import polars as pl

from usher_assets.schemas import GENE_SYMBOL, HGNC_ID, RANK
from usher_assets.scoring.composite import composite_scores, rank_candidates

# Known Usher genes (CiliaMiner/OMIM). HARS1 was HARS and WHRN was DFNB31: they resolve
# through HGNC previous symbols.
CORE_USHER_GENES = ("MYO7A", "USH1C", "CDH23", "PCDH15", "USH1G", "CIB2", "USH2A", "ADGRV1",
                    "WHRN", "CLRN1")
ATYPICAL_USHER_GENES = ("ARSG", "CEP78", "CEP250", "ABHD12", "ESPN", "HARS1", "PDZD7")

# Ubiquitous housekeeping genes with no known ciliary role; TUBB is a stricter control,
# since tubulin also builds the axoneme.
NEGATIVE_CONTROL_GENES = ("ACTB", "GAPDH", "TUBB")
# Cytosolic ribosomal proteins (RPL10A, RPS4X, RPLP0 ...) but not look-alikes such as
# RPL3L or the kinase RPS6KA1.
RIBOSOMAL_PATTERN = r"^(RP[LS]\d+[AXY]?\d?|RPLP[0-2])$"

TOP_FRACTION = 0.10
PERCENTILE = "percentile"


def resolve_genes(symbols: list[str], group: str, universe: pl.DataFrame) -> pl.DataFrame:
    """Map label symbols to universe genes: query_symbol, hgnc_id (null if unresolved), group."""
    from usher_assets.sources.universe import map_to_universe

    query = pl.DataFrame({"query_symbol": symbols}, schema={"query_symbol": pl.String})
    mapped, _ = map_to_universe(query, universe, symbol_column="query_symbol")
    hits = mapped.select("query_symbol", HGNC_ID).unique(subset="query_symbol", keep="first",
                                                           maintain_order=True)
    return query.join(hits, on="query_symbol", how="left", maintain_order="left").with_columns(
        pl.lit(group).alias("group")
    )


def known_usher_genes(universe: pl.DataFrame) -> pl.DataFrame:
    """The core and atypical Usher genes resolved to hgnc_id: query_symbol, hgnc_id, group."""
    return pl.concat([
        resolve_genes(list(CORE_USHER_GENES), "core", universe),
        resolve_genes(list(ATYPICAL_USHER_GENES), "atypical", universe),
    ])


def negative_control_genes(universe: pl.DataFrame) -> pl.DataFrame:
    """Housekeeping and ribosomal-protein genes of the universe: query_symbol, hgnc_id, group."""
    ribosomal = (
        universe.filter(pl.col(GENE_SYMBOL).str.contains(RIBOSOMAL_PATTERN))
        .select(pl.col(GENE_SYMBOL).alias("query_symbol"), HGNC_ID)
        .with_columns(pl.lit("ribosomal").alias("group"))
    )
    return pl.concat([resolve_genes(list(NEGATIVE_CONTROL_GENES), "housekeeping", universe),
                      ribosomal])


def add_percentiles(ranked: pl.DataFrame) -> pl.DataFrame:
    """Add ``percentile`` from ``rank``: 100 for rank 1, 0 for the last gene."""
    n = ranked.height
    if n == 1:
        return ranked.with_columns(pl.lit(100.0).alias(PERCENTILE))
    return ranked.with_columns((100.0 * (n - pl.col(RANK)) / (n - 1)).alias(PERCENTILE))


def label_positions(ranked: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """Rank and percentile of each resolved label gene; unresolved labels are dropped."""
    if PERCENTILE not in ranked.columns:
        ranked = add_percentiles(ranked)
    resolved = labels.filter(pl.col(HGNC_ID).is_not_null()).unique(subset=HGNC_ID, keep="first",
                                                                    maintain_order=True)
    return (
        resolved.join(ranked.select(HGNC_ID, GENE_SYMBOL, RANK, PERCENTILE), on=HGNC_ID, how="inner")
        .sort(RANK)
    )


def percentile_metrics(positions: pl.DataFrame, top_fraction: float = TOP_FRACTION) -> dict:
    """Count, median percentile and how many label genes sit in the top fraction."""
    n = positions.height
    cutoff = 100.0 * (1 - top_fraction)
    in_top = int(positions.filter(pl.col(PERCENTILE) >= cutoff).height)
    median = positions[PERCENTILE].median() if n else None
    return {
        "n_genes": n,
        "median_percentile": None if median is None else round(float(median), 2),
        "top_fraction": top_fraction,
        "top_count": in_top,
        "top_share": round(in_top / n, 4) if n else None,
    }


def rank_layers(layers: pl.DataFrame, weights: dict[str, float]) -> pl.DataFrame:
    """Composite score, rank and percentile of every gene under these weights."""
    return add_percentiles(rank_candidates(composite_scores(layers, weights)))


def known_gene_metrics(ranked: pl.DataFrame, known: pl.DataFrame) -> dict:
    """Percentile metrics of all known genes, and of the core and atypical groups apart."""
    positions = label_positions(ranked, known)
    metrics = {"all": percentile_metrics(positions)}
    for group in ("core", "atypical"):
        metrics[group] = percentile_metrics(positions.filter(pl.col("group") == group))
    unresolved = known.filter(pl.col(HGNC_ID).is_null())["query_symbol"].to_list()
    metrics["unresolved_symbols"] = unresolved
    return metrics
