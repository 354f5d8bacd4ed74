"""The criterion the cilia model's features and the ranking's weights were chosen on: GO labels only.

Held-out GO cilia genes (each scored out of fold) must be found among the genes with no annotation
signal, as a discovery gene must; CiliaMiner and the Usher genes take no part, so the strict
discovery figures on them stay an independent check.
"""

import polars as pl

from usher_assets.scoring.combination import CILIA_MODEL, GO_SENSORY, HAIR_CELL, model_part
from usher_assets.scoring.discovery import STRICT_ANNOTATED, compare_on_labels

CRITERION = ("GO labels only: top-10 % enrichment and AUROC of the held-out GO cilia genes (out of fold) ranked "
             "among the genes without annotation signal, validation genes left out; for all of them, for the "
             "less-studied half (go_context_term_count at most the median), for those whose cilia terms are all "
             "electronic (IEA: not curated with the gene's other terms, so their GO context is no co-curation "
             "echo), and for the ranking score with the annotation part hidden (model + sensory). Features and "
             "combination weights were chosen on these figures, never on CiliaMiner.")
DEPTH = "go_context_term_count"
EVIDENCE = "go_cilia_evidence"
ELECTRONIC = 0.4  # annotation.EVIDENCE_WEIGHTS["IEA"]
SAMPLES = 200


def selection_figures(scores: pl.DataFrame, judged: set[str], combination) -> pl.DataFrame:
    """One row per view of the criterion (compare_on_labels columns plus ``view``)."""
    trainable = scores.filter(~pl.col("hgnc_id").is_in(list(judged)))
    positive = pl.col(STRICT_ANNOTATED).fill_null(False)
    labels = set(trainable.filter(positive)["hgnc_id"])
    weights = combination.model_dump()
    hidden = (weights["cilia_model"] * model_part(trainable) + weights["usher_sensory"]
              * pl.max_horizontal(pl.col(HAIR_CELL).fill_null(0.0), pl.col(GO_SENSORY).fill_null(0.0)))
    views = [("cilia model: all GO cilia genes", trainable, labels, pl.col(CILIA_MODEL)),
             ("ranking, annotation hidden: all GO cilia genes", trainable, labels, hidden)]
    if DEPTH in trainable.columns:
        median = trainable.filter(positive)[DEPTH].median()
        less = trainable.filter(~positive | (pl.col(DEPTH) <= median))
        views.insert(1, ("cilia model: less-studied half", less, set(less.filter(positive)["hgnc_id"]),
                         pl.col(CILIA_MODEL)))
    if EVIDENCE in trainable.columns:
        electronic = positive & pl.col(EVIDENCE).is_between(0.0, ELECTRONIC, closed="right")
        subset = trainable.filter(~positive | electronic)
        views.insert(-1, ("cilia model: electronic-only GO cilia genes", subset,
                          set(subset.filter(positive)["hgnc_id"]), pl.col(CILIA_MODEL)))
    rows = [compare_on_labels(frame, {view: score}, view_labels, samples=SAMPLES, seed=0)
            .drop("reference_minus", "difference_low", "difference_high", "reference_beats")
            .rename({"method": "view"})
            for view, frame, view_labels, score in views]
    return pl.concat(rows)
