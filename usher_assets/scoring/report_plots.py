"""The report's matplotlib figures, each returned as base64-encoded PNG text."""

import polars as pl

from usher_assets.schemas import GENE_SYMBOL, TIER
from usher_assets.scoring.report_about import NO_EVIDENCE_GREY

SCORE = "ranking_score"

TOP_N = 50
TIER_COLOURS = {"HIGH": "#b2182b", "MEDIUM": "#ef8a62", "LOW": "#999999"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display on servers or in CI
    import matplotlib.pyplot as plt

    return plt


def _encode(figure) -> str:
    import base64
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def score_distribution(candidates: pl.DataFrame, known_genes: pl.DataFrame) -> str:
    """Histogram of the ranking scores (else composite scores) with each known Usher gene marked where it falls."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(9, 4))
    score_column = SCORE if SCORE in candidates.columns else "composite_score"
    scores = candidates[score_column].drop_nulls().to_list()
    axis.hist(scores, bins=60, color="#4d7ea8")
    known = (known_genes.join(candidates.select("hgnc_id", score_column), on="hgnc_id", how="inner")
             .drop_nulls(score_column).sort(score_column))
    top = axis.get_ylim()[1]
    middle = sum(axis.get_xlim()) / 2
    # In score order, each label a step lower than the last: genes with close scores do not print over each other.
    for index, (symbol, score) in enumerate(known.select(GENE_SYMBOL, score_column).iter_rows()):
        axis.axvline(score, color="#b2182b", linewidth=0.8, alpha=0.7)
        axis.text(score, top * (0.95 - 0.06 * (index % 12)), f" {symbol} ", fontsize=7, color="#b2182b",
                  ha="left" if score < middle else "right")
    axis.set_xlabel(score_column.replace("_", " "))
    axis.set_ylabel("genes")
    axis.set_title("Score distribution (red: known Usher genes)")
    return _encode(figure)


def layer_coverage(coverage: pl.DataFrame) -> str:
    """Bar chart of how many genes each layer scores."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 3.5))
    axis.barh(coverage["layer"].to_list(), coverage["genes_scored"].to_list(), color="#4d7ea8")
    axis.invert_yaxis()
    axis.set_xlabel("genes with a score (the rest are null, not zero)")
    return _encode(figure)


def top_candidates(candidates: pl.DataFrame, layer_columns: list[str], top_n: int = TOP_N) -> str:
    """Heat map of the layer scores of the top genes; grey cells are missing evidence."""
    import numpy as np

    plt = _pyplot()
    top = candidates.head(top_n)
    columns = [*layer_columns, *[c for c in ("cilia_model_percentile", SCORE) if c in top.columns]]
    values = np.array(top.select(columns).to_numpy(), dtype=float)
    figure, axis = plt.subplots(figsize=(1.2 * len(columns) + 3, 0.22 * top.height + 1.5))
    colormap = plt.get_cmap("viridis").with_extremes(bad=NO_EVIDENCE_GREY)
    image = axis.imshow(np.ma.masked_invalid(values), aspect="auto", cmap=colormap, vmin=0, vmax=1)
    labels = [f"{rank}. {symbol} ({tier[0]})" for rank, symbol, tier
              in top.select("rank", GENE_SYMBOL, TIER).iter_rows()]
    axis.set_yticks(range(top.height), labels, fontsize=7)
    axis.set_xticks(range(len(columns)), [c.removesuffix("_score") for c in columns],
                    rotation=40, ha="right", fontsize=8)
    figure.colorbar(image, ax=axis, fraction=0.04, label="score, in [0, 1]")
    _no_evidence_key(axis)
    return _encode(figure)


def _no_evidence_key(axis) -> None:
    """A grey key for NULL cells above the heat map (the report's own heading names the figure)."""
    from matplotlib.patches import Patch

    axis.legend(handles=[Patch(facecolor=NO_EVIDENCE_GREY, edgecolor="#999999", label="no evidence (NULL, not 0)")],
                loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, fontsize=8)


def sensitivity(table: pl.DataFrame) -> str:
    """The weight-sensitivity chart (sensitivity_figure) as PNG."""
    return _encode(sensitivity_figure(table))


def sensitivity_figure(table: pl.DataFrame):
    """1 - Spearman of each +-20 % weight change against the baseline ranking, each bar labelled.

    The rankings agree closely (Spearman near 1), so bars of Spearman itself all look the same; their
    distance from 1 is what differs, on an axis from 0 that says so.
    """
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(8, 4))
    labels = [f"{layer} {change:+.0%}" for layer, change in table.select("layer", "change").iter_rows()]
    distances = [1.0 - value for value in table["spearman"].to_list()]
    bars = axis.barh(labels, distances, color=["#4d7ea8" if c > 0 else "#ef8a62" for c in table["change"]])
    axis.bar_label(bars, labels=[f"{d:.4f}" for d in distances], padding=3, fontsize=8)
    axis.invert_yaxis()
    axis.set_xlim(0, max(max(distances, default=0.0), 1e-4) * 1.25)
    axis.set_xlabel("1 - Spearman vs baseline ranking (0 = same order; longer = weight matters more)")
    return figure


def discovery(methods: pl.DataFrame) -> str:
    """Strict discovery enrichment of each method with its bootstrap interval; the dashed line is chance."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(8, 0.5 * methods.height + 1.2))
    names = methods["method"].to_list()
    value = methods["enrichment"].to_numpy()
    error = [value - methods["enrichment_low"].to_numpy(), methods["enrichment_high"].to_numpy() - value]
    axis.barh(names, value, xerr=error, color=["#b2182b"] + ["#4d7ea8"] * (len(names) - 1), capsize=3)
    axis.axvline(1.0, color="#444444", linestyle="--", linewidth=0.8)
    axis.invert_yaxis()
    axis.set_xlabel("top-10 % enrichment of CiliaMiner genes (95 % bootstrap interval)")
    axis.set_title("Strict discovery view")
    return _encode(figure)
