"""The ranking score: cilia-model percentile + annotation cilia signal + Usher-specific sensory evidence.

Every part is evidence a gene earns: a gene with no hair-cell data and no GO hearing or vision
term gets no sensory credit, instead of having the other parts re-weighted up as the weighted
composite does. The model part handles missing evidence itself (it sees NaN).
"""

import numpy as np
import polars as pl

from usher_assets.evidence.sensory_expression import percentile_rank
from usher_assets.scoring.cilia_model import MODEL_FEATURES

RANKING_SCORE = "ranking_score"
CILIA_MODEL = "cilia_model_percentile"
CILIA_SIGNAL = "cilia_signal"
HAIR_CELL = "hair_cell_evidence"
GO_SENSORY = "go_sensory_evidence"
TOP_EVIDENCE = "top_evidence"
UBIQUITY = "ubiquity"
HOUSEKEEPING = "housekeeping_factor"
# The expression columns ubiquity reads: log2(TPM + 1) in the gene's lowest tissue, per TissueEnrich atlas.
LOWEST_TISSUE_COLUMNS = ("te_hpa_min_log2_tpm", "te_gtex_min_log2_tpm")
MODEL_LAYERS = tuple(MODEL_FEATURES)


def without_column(layer: str) -> str:
    """The column holding the model percentile retrained without ``layer``'s features."""
    return f"cilia_model_without_{layer}"


def hair_cell_evidence(frame: pl.DataFrame) -> pl.Expr:
    """The hair_cell_log2fc percentile times the share of organ/age groups where the gene is enriched.

    A product, not a mean: a gene enriched in no group earns nothing however its fold change ranks.
    Null when unmeasured, and for every gene when the sensory expression layer is absent.
    """
    if not {"hair_cell_log2fc", "hair_cell_groups_enriched", "hair_cell_groups_measured"} <= set(frame.columns):
        return pl.lit(None, dtype=pl.Float64).alias(HAIR_CELL)
    fraction = (pl.when(pl.col("hair_cell_groups_measured") > 0)
                .then(pl.col("hair_cell_groups_enriched") / pl.col("hair_cell_groups_measured")))
    return (percentile_rank("hair_cell_log2fc") * fraction).cast(pl.Float64).alias(HAIR_CELL)


def housekeeping_columns(frame: pl.DataFrame, housekeeping) -> list[pl.Expr]:
    """``ubiquity`` in [0, 1] (how highly the gene is expressed in its lowest tissue) and the model part's factor.

    Ubiquitous high expression marks housekeeping machinery (ACTB, GAPDH, ribosomal proteins), which shares
    GO context and expression with cilia genes without being one. Null ubiquity (no atlas measured the gene,
    or no expression layer) gives factor 1: missing evidence is no discount.
    """
    present = [c for c in LOWEST_TISSUE_COLUMNS if c in frame.columns]
    if not present:
        ubiquity = pl.lit(None, dtype=pl.Float64)
    else:
        span = housekeeping.full_log2_tpm - housekeeping.floor_log2_tpm
        ubiquity = ((pl.mean_horizontal(present) - housekeeping.floor_log2_tpm) / span).clip(0.0, 1.0)
    return [ubiquity.cast(pl.Float64).alias(UBIQUITY),
            (1.0 - housekeeping.penalty * ubiquity.fill_null(0.0)).cast(pl.Float64).alias(HOUSEKEEPING)]


def model_part(frame: pl.DataFrame, model: str = CILIA_MODEL, without: str | None = None) -> pl.Expr:
    """The model percentile times the housekeeping factor (1 without it, or with the expression layer left out)."""
    if HOUSEKEEPING not in frame.columns or without == "expression":
        return pl.col(model)
    return pl.col(model) * pl.col(HOUSEKEEPING).fill_null(1.0)


def _parts(frame: pl.DataFrame, without: str | None) -> dict[str, pl.Expr]:
    # A layer that gave the model no feature leaves its percentile as it is.
    model = without_column(without) if without_column(str(without)) in frame.columns else CILIA_MODEL
    hair = pl.lit(0.0) if without == "sensory_expression" else pl.col(HAIR_CELL).fill_null(0.0)
    go_sensory = pl.lit(0.0) if without == "annotation" else pl.col(GO_SENSORY).fill_null(0.0)
    signal = pl.lit(0.0) if without == "annotation" else pl.col(CILIA_SIGNAL).fill_null(0.0)
    return {"cilia_model": model_part(frame, model, without), "cilia_annotation": signal,
            "usher_sensory": pl.max_horizontal(hair, go_sensory)}


def ranking_score(frame: pl.DataFrame, combination, without: str | None = None) -> pl.Expr:
    """The weighted sum of the three parts; ``without`` drops one layer from every part it feeds."""
    weights = combination.model_dump()
    return pl.sum_horizontal([weights[name] * part for name, part in _parts(frame, without).items()]
                             ).cast(pl.Float64).alias(RANKING_SCORE)


def _model_driver(frame: pl.DataFrame) -> pl.Series:
    """Per gene, the layer whose removal costs its model percentile the most."""
    present = [layer for layer in MODEL_LAYERS if without_column(layer) in frame.columns]
    if not present:
        return pl.Series(["its only layer"] * frame.height, dtype=pl.String)
    drops = np.column_stack([(frame[CILIA_MODEL] - frame[without_column(layer)]).to_numpy() for layer in present])
    return pl.Series([present[i] for i in np.argmax(drops, axis=1)], dtype=pl.String)


def top_evidence(frame: pl.DataFrame, combination) -> pl.Series:
    """The two parts that add most to each gene's ranking score, strongest first, in words."""
    weights = combination.model_dump()
    driver = _model_driver(frame)
    hair = frame[HAIR_CELL].fill_null(0.0)
    go_sensory = frame[GO_SENSORY].fill_null(0.0)
    contributions = {
        "cilia_model": (weights["cilia_model"] * frame.select(model_part(frame)).to_series()).to_numpy(),
        "cilia_annotation": (weights["cilia_annotation"] * frame[CILIA_SIGNAL].fill_null(0.0)).to_numpy(),
        "usher_sensory": (weights["usher_sensory"] * pl.Series(np.maximum(hair, go_sensory))).to_numpy(),
    }
    names = list(contributions)
    order = np.argsort(-np.column_stack(list(contributions.values())), axis=1, kind="stable")
    words = []
    for row, (best, second) in enumerate(order[:, :2]):
        words.append("; ".join(_describe(names[i], row, driver, hair, go_sensory) for i in (best, second)
                               if contributions[names[i]][row] > 0))
    return pl.Series(TOP_EVIDENCE, words, dtype=pl.String)


def _describe(part: str, row: int, driver: pl.Series, hair: pl.Series, go_sensory: pl.Series) -> str:
    if part == "cilia_model":
        return f"cilia model (most from {driver[row]})"
    if part == "cilia_annotation":
        return "GO/HGNC cilia annotation"
    return "hair-cell enrichment" if hair[row] >= go_sensory[row] else "GO hearing/vision function"
