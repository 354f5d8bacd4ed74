"""The strict discovery view: CiliaMiner genes among the genes the annotation layer gives no cilia signal.

Here annotation cannot help, so this is where a ranking shows what it adds. The ranking is judged
beside naive baselines computed in the same run on the same genes, each with a bootstrap interval.
"""

import numpy as np
import polars as pl

from usher_assets.evidence.layer_tools import percentile_rank
from usher_assets.schemas import GENE_SYMBOL, HGNC_ID

STRICT_ANNOTATED = "cilia_annotated"
TOP_FRACTION = 0.10
INTERVAL = 0.95

# Naive baselines: one signal each, or the plain sum of their ranks (missing ranks last).
BASELINE_COLUMNS = ("exac_pli", "go_term_count", "ciliated_logfc", "proteome_spectral_counts")
BASELINES = {
    "pLI alone": pl.col("exac_pli"),
    "GO term count (study depth)": pl.col("go_term_count"),
    "ciliated-cell logFC": pl.col("ciliated_logfc"),
    "rank sum (ciliated logFC + pLI + cilia proteome)": pl.sum_horizontal(
        percentile_rank(c).fill_null(0.0) for c in ("ciliated_logfc", "exac_pli", "proteome_spectral_counts")),
}


def strict_subset(frame: pl.DataFrame) -> pl.DataFrame:
    """Genes with no cilia signal from the annotation layer (no GO cilia term of any scored subtree, no gene group)."""
    if STRICT_ANNOTATED not in frame.columns:
        raise ValueError(f"strict discovery view: expected a {STRICT_ANNOTATED!r} column from the annotation "
                         f"layer, found {frame.columns}")
    return frame.filter(~pl.col(STRICT_ANNOTATED).fill_null(False))


def _per_label_values(scores: np.ndarray, order_keys: list[np.ndarray], is_label: np.ndarray,
                      top_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """For each label gene: whether it is in the top fraction, and the share of non-labels it outranks.

    The top fraction takes ranks in score order (null last), ties broken by symbol then ID as the
    ranking does; AUROC counts a tie as half.
    """
    value = np.where(np.isnan(scores), -np.inf, scores)
    order = np.lexsort((*reversed(order_keys), -value))
    position = np.empty(len(value), dtype=np.int64)
    position[order] = np.arange(len(value))
    in_top = position < int(np.ceil(top_fraction * len(value)))
    negatives = np.sort(value[~is_label])
    below = np.searchsorted(negatives, value[is_label], side="left")
    tied = np.searchsorted(negatives, value[is_label], side="right") - below
    return in_top[is_label].astype(float), (below + 0.5 * tied) / max(len(negatives), 1)


def _interval(samples: np.ndarray) -> tuple[float, float]:
    low, high = np.quantile(samples, [(1 - INTERVAL) / 2, 1 - (1 - INTERVAL) / 2])
    return round(float(low), 4), round(float(high), 4)


def compare_on_labels(frame: pl.DataFrame, methods: dict[str, pl.Expr], labels: set[str], *,
                      samples: int, seed: int, top_fraction: float = TOP_FRACTION) -> pl.DataFrame:
    """One row per method: label genes in the top fraction, enrichment (share / fraction), AUROC, intervals.

    The first method is the reference: every other row also says how far the reference is above it
    (a paired bootstrap: the same resampled label genes for both) and whether the reference beats it
    by more than its interval (reference's lower bound above this method's estimate).
    """
    # Rows in ID order, so the resampled label genes (and every interval) do not depend on how the
    # caller sorted the frame: each method is judged on the same draws.
    frame = frame.sort(HGNC_ID)
    is_label = frame[HGNC_ID].is_in(list(labels)).to_numpy()
    n_labels = int(is_label.sum())
    if n_labels == 0:
        raise ValueError("strict discovery view: no label gene in the subset; check the CiliaMiner mapping")
    keys = [frame[GENE_SYMBOL].to_numpy(), frame[HGNC_ID].to_numpy()]
    # Resample the label genes (the negatives and the top-fraction cut stay fixed); the seed makes it repeatable.
    draws = np.random.default_rng(seed).integers(0, n_labels, size=(samples, n_labels))
    rows, reference = [], None
    for name, expression in methods.items():
        scores = frame.select(expression.cast(pl.Float64)).to_series().to_numpy()
        in_top, outranked = _per_label_values(scores, keys, is_label, top_fraction)
        enrichment = in_top[draws].mean(axis=1) / top_fraction
        auroc = outranked[draws].mean(axis=1)
        row = {"method": name, "n_subset_genes": frame.height, "n_labels": n_labels, "top_count": int(in_top.sum()),
               "enrichment": round(float(in_top.mean() / top_fraction), 4)}
        row["enrichment_low"], row["enrichment_high"] = _interval(enrichment)
        row["auroc"] = round(float(outranked.mean()), 4)
        row["auroc_low"], row["auroc_high"] = _interval(auroc)
        if reference is None:
            reference = (row, enrichment)
            row |= {"reference_minus": None, "difference_low": None, "difference_high": None, "reference_beats": None}
        else:
            difference = reference[1] - enrichment
            row["reference_minus"] = round(reference[0]["enrichment"] - row["enrichment"], 4)
            row["difference_low"], row["difference_high"] = _interval(difference)
            row["reference_beats"] = bool(reference[0]["enrichment_low"] > row["enrichment"])
        rows.append(row)
    return pl.DataFrame(rows)


def strict_discovery(frame: pl.DataFrame, methods: dict[str, pl.Expr], labels: set[str], *,
                     samples: int, seed: int) -> dict:
    """The strict view for ``methods`` (ranking first) and the naive baselines, with the verdict."""
    # A layer left out of the run leaves its baseline without signal (every gene tied), not an error.
    absent = [pl.lit(None, dtype=pl.Float64).alias(c) for c in BASELINE_COLUMNS if c not in frame.columns]
    subset = strict_subset(frame.with_columns(absent))
    table = compare_on_labels(subset, methods | BASELINES, labels, samples=samples, seed=seed)
    baselines = table.filter(pl.col("method").is_in(list(BASELINES)))
    beats = bool(baselines["reference_beats"].all())
    losers = baselines.filter(~pl.col("reference_beats"))["method"].to_list()
    verdict = ("The ranking beats every naive baseline by more than its interval." if beats else
               "The ranking does NOT beat every naive baseline by more than its interval: not beaten "
               + ", ".join(losers) + ".")
    return {"n_subset_genes": subset.height, "n_labels": int(table["n_labels"][0]), "bootstrap_samples": samples,
            "seed": seed, "top_fraction": TOP_FRACTION, "methods": table, "beats_every_baseline": beats,
            "verdict": verdict}
