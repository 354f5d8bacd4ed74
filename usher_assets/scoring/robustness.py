"""How much the rankings depend on their weights and on each layer; the CiliaMiner labels."""

import polars as pl

from usher_assets.schemas import ENTREZ_ID, HGNC_ID, RANK
from usher_assets.scoring.composite import layer_score_column
from usher_assets.scoring.labels import known_gene_metrics, rank_layers

WEIGHT_DELTA = 0.20


def spearman_of_ranks(baseline: pl.DataFrame, other: pl.DataFrame) -> float:
    """Spearman correlation of two complete rankings (``rank`` 1..n) of the same genes."""
    joined = baseline.select(HGNC_ID, RANK).join(other.select(HGNC_ID, pl.col(RANK).alias("other")),
                                                 on=HGNC_ID, how="inner")
    n = joined.height
    if n != baseline.height or n != other.height:
        raise ValueError(f"spearman_of_ranks: expected the same genes in both rankings, found "
                         f"{baseline.height} and {other.height} genes with {n} shared")
    if n < 2:
        return 1.0
    # Ranks are a permutation of 1..n, so the textbook formula is exact.
    d2 = joined.select(((pl.col(RANK) - pl.col("other")).cast(pl.Float64) ** 2).sum()).item()
    return 1.0 - 6.0 * d2 / (n * (n * n - 1))


def normalised(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    if total <= 0:
        raise ValueError(f"expected weights with a positive sum, found {weights}")
    return {layer: w / total for layer, w in weights.items()}


def weight_sensitivity(layers: pl.DataFrame, weights: dict[str, float],
                       delta: float = WEIGHT_DELTA) -> pl.DataFrame:
    """One row per (layer, direction): that weight moved by +-delta, all re-normalised.

    Columns: layer, change (+0.2 / -0.2), weight (the moved layer's new normalised weight),
    spearman (new ranking vs baseline).
    """
    baseline = rank_layers(layers, weights)
    rows = []
    for layer in weights:
        for change in (delta, -delta):
            moved = normalised({**weights, layer: weights[layer] * (1 + change)})
            spearman = spearman_of_ranks(baseline, rank_layers(layers, moved))
            rows.append({"layer": layer, "change": change, "weight": moved[layer],
                         "spearman": spearman})
    return pl.DataFrame(rows, schema={"layer": pl.String, "change": pl.Float64,
                                      "weight": pl.Float64, "spearman": pl.Float64})


def _without(weights: dict[str, float], layer: str) -> dict[str, float]:
    return {name: w for name, w in weights.items() if name != layer}


def leave_one_layer_out(layers: pl.DataFrame, weights: dict[str, float],
                        known: pl.DataFrame) -> pl.DataFrame:
    """Known-gene metrics with each layer dropped in turn (first row: nothing dropped)."""
    rows = []
    for left_out in [None, *weights]:
        kept = weights if left_out is None else _without(weights, left_out)
        if not kept:
            continue
        metrics = known_gene_metrics(rank_layers(layers, kept), known)["all"]
        rows.append({"left_out": left_out or "(none)", **metrics})
    return pl.DataFrame(rows)


def ciliopathy_labels(ciliaminer: pl.DataFrame, universe: pl.DataFrame) -> pl.DataFrame:
    """Distinct universe genes named by CiliaMiner: hgnc_id. Labels only, never a feature."""
    from usher_assets.sources.universe import map_to_universe

    genes = ciliaminer.select("gene_symbol", ENTREZ_ID).filter(
        pl.col("gene_symbol").is_not_null() | pl.col(ENTREZ_ID).is_not_null()
    ).unique()
    mapped, _ = map_to_universe(genes, universe, symbol_column="gene_symbol", entrez_column=ENTREZ_ID)
    return mapped.select(HGNC_ID).drop_nulls().unique().sort(HGNC_ID)


def validation_gene_ids(ciliaminer: pl.DataFrame, universe: pl.DataFrame) -> set[str]:
    """Every gene the validation judges (known Usher genes and CiliaMiner): never a seed, label or edge."""
    from usher_assets.scoring.labels import known_usher_genes

    known = set(known_usher_genes(universe)[HGNC_ID].drop_nulls())
    return known | set(ciliopathy_labels(ciliaminer, universe)[HGNC_ID])


def combination_sensitivity(frame: pl.DataFrame, combination, delta: float = WEIGHT_DELTA) -> pl.DataFrame:
    """The ranking score's weights moved by +-delta one at a time, re-normalised: Spearman against the ranking."""
    from usher_assets.scoring.combination import ranking_score
    from usher_assets.scoring.composite import rank_candidates

    base = rank_candidates(frame.with_columns(ranking_score(frame, combination)), score="ranking_score")
    weights = combination.model_dump()
    rows = []
    for part in weights:
        for change in (delta, -delta):
            moved = normalised({**weights, part: weights[part] * (1 + change)})
            other = rank_candidates(frame.with_columns(ranking_score(frame, type(combination)(**moved))),
                                    score="ranking_score")
            rows.append({"layer": part, "change": change, "weight": moved[part],
                         "spearman": spearman_of_ranks(base, other)})
    return pl.DataFrame(rows, schema={"layer": pl.String, "change": pl.Float64, "weight": pl.Float64,
                                      "spearman": pl.Float64})


def layer_coverage(layers: pl.DataFrame, weights: dict[str, float]) -> pl.DataFrame:
    """Per layer: genes with a score, and their share of all genes."""
    rows = []
    for layer in weights:
        column = layer_score_column(layer)
        covered = layers[column].is_not_null().sum()
        rows.append({"layer": layer, "genes_scored": int(covered),
                     "share": round(covered / layers.height, 4) if layers.height else 0.0})
    return pl.DataFrame(rows)

