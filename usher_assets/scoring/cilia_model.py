"""The out-of-fold cilia model: what in the non-annotation evidence predicts that GO calls a gene ciliary.

Positives are the genes the annotation layer calls ciliary; the validation genes (Usher genes,
CiliaMiner) are left out of training altogether, neither positive nor negative. No annotation
column is a feature: the cilia signal is the label, and GO term counts measure how studied a gene
is. Each gene is scored by the one model whose training folds did not hold it.

How the features were chosen (docs/cilia_model.md): only on the training labels, by out-of-fold
recovery of held-out GO cilia genes among the unannotated genes; never on CiliaMiner or the Usher genes.
"""

import hashlib

import numpy as np
import polars as pl

from usher_assets.schemas import HGNC_ID
from usher_assets.scoring.set_encoding import SET_FEATURES, fold_features, incidence

# Feature columns by the layer that makes them; the annotation layer is absent on purpose.
MODEL_FEATURES = {
    "constraint": ["exac_pli", "loftool_percentile", "gnomad_pli", "gnomad_loeuf"],
    "expression": ["te_hpa_ciliated_tpm_max", "te_hpa_ciliated_log2fc", "te_hpa_enrichment_rank",
                   "te_gtex_ciliated_tpm_max", "te_gtex_ciliated_log2fc", "te_gtex_enrichment_rank",
                   "gtex_v8_ciliated_tpm_max", "gtex_v8_ciliated_log2fc", "gtex_v8_enrichment_rank",
                   "hpa_ihc_ciliated_level"],
    "localization": ["localization_score"],
    "sensory_expression": ["hair_cell_log2fc", "hair_cell_groups_enriched", "hair_cell_groups_measured",
                           "ciliated_logfc"],
    "cilia_proximity": ["proteome_tier", "proteome_spectral_counts", "bioid_max_saint", "bioid_bait_count",
                        "screen_hit", "tap_ms_partners"],
    "cilia_association": ["network_partners", "network_cilia_partners", "network_cilia_fraction",
                          "coexpression_cilia"],
    # Conservation, the one phylogenetic signal the bundled data give: HGNC's mouse orthologs (MGI).
    # Cilia are ancient; young primate- or testis-specific families often have none, or many.
    "conservation": ["mouse_orthologs"],
    # What GO says about a gene outside cilia: study depth here, and (SET_FEATURES) the cilia rate of its
    # other terms, counted inside the folds. Not the label: every cilia-subtree term is left out.
    "go_context": ["go_context_term_count"],
    # HGNC gene families (not cilia machinery, not disease-named): SET_FEATURES only.
    "gene_family": [],
    # Pfam domains (org.Hs.eg.db): how often a domain of the gene is carried by GO cilia genes, in the folds.
    "protein_domain": [],
}
# Feature groups that feed only the model, not the weighted composite.
MODEL_ONLY_LAYERS = ("conservation", "go_context", "gene_family", "protein_domain")
# Off by default (scoring.model.protein_domains): validation gives them a row only when the model had them.
OPTIONAL_MODEL_LAYERS = ("protein_domain",)
CILIA_LABEL = "cilia_annotated"


def feature_columns(frame: pl.DataFrame, without: str | None = None) -> list[str]:
    """The model's feature columns present in ``frame`` with any value, less those of layer ``without``.

    A column with no value at all comes from a source that is not configured (gnomAD, GTEx v8).
    """
    return [c for layer, columns in MODEL_FEATURES.items() if layer != without for c in columns
            if c in frame.columns and frame[c].null_count() < frame.height]


def set_columns(frame: pl.DataFrame, without: str | None = None) -> list[str]:
    """The list columns encoded inside the folds (SET_FEATURES) present in ``frame``, less layer ``without``."""
    return [column for layer, column in SET_FEATURES.items() if layer != without and column in frame.columns]


def present_layers(frame: pl.DataFrame) -> list[str]:
    """The feature layers that give the model any feature in ``frame``."""
    static, sets = set(feature_columns(frame)), set(set_columns(frame))
    return [layer for layer, columns in MODEL_FEATURES.items()
            if set(columns) & static or SET_FEATURES.get(layer) in sets]


def fold_of(hgnc_ids: pl.Series, folds: int, seed: int) -> np.ndarray:
    """A fold per gene from a hash of its ID and the seed: independent of row order, the same every run."""
    return np.array([int(hashlib.sha256(f"{seed}:{gene}".encode()).hexdigest()[:8], 16) % folds
                     for gene in hgnc_ids.to_list()])


def _matrix(frame: pl.DataFrame, columns: list[str]) -> np.ndarray:
    return frame.select(pl.col(c).cast(pl.Float64) for c in columns).to_numpy()


def _model(config):
    # Imported here: scikit-learn is only needed when the scoring assets run.
    if config.kind == "gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier

        # NaN is a value the trees split on: missing evidence is information, not zero.
        return HistGradientBoostingClassifier(max_iter=config.max_iter, learning_rate=config.learning_rate,
                                              max_leaf_nodes=config.max_leaf_nodes, l2_regularization=1.0,
                                              early_stopping=False, random_state=config.seed)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))


def _prepare(values: np.ndarray, kind: str) -> np.ndarray:
    if kind == "gradient_boosting":
        return values
    # Logistic regression: a missing value becomes 0 plus an indicator column saying it was missing.
    missing = np.isnan(values)
    return np.hstack([np.nan_to_num(values), missing.astype(float)])


def out_of_fold_scores(frame: pl.DataFrame, exclude_hgnc_ids: set[str], config,
                       without: str | None = None) -> np.ndarray:
    """P(cilia) for every row of ``frame``, each from the model trained on the other folds.

    ``frame`` has hgnc_id, ``cilia_annotated`` (the label) and the feature columns;
    ``exclude_hgnc_ids`` never enter training, nor the cilia rates of the SET_FEATURES list columns,
    which each fold recomputes from its own training genes. Rounded to 1e-9 so a rerun is byte-identical.
    """
    return _fit_folds(_training_inputs(frame, exclude_hgnc_ids, config, [without])[0])


def out_of_fold_variants(frame: pl.DataFrame, exclude_hgnc_ids: set[str], config,
                         variants: list[str | None], processes: int | None = None) -> list[np.ndarray]:
    """out_of_fold_scores for each ``without`` in ``variants``, the trainings spread over ``processes``.

    Each training is single-threaded and seeded, so the scores are the same bytes however many processes
    share the work (USHER_MODEL_PROCESSES, else every CPU, when None).
    """
    from usher_assets.scoring.training_pool import map_in_processes, processes_allowed

    inputs = _training_inputs(frame, exclude_hgnc_ids, config, variants)
    workers = min(len(inputs), processes_allowed() if processes is None else processes)
    if workers <= 1:
        return [_fit_folds(task) for task in inputs]
    return map_in_processes(_fit_folds, inputs, workers)


def _training_inputs(frame: pl.DataFrame, exclude_hgnc_ids: set[str], config, variants: list[str | None]
                     ) -> list[dict]:
    """Everything each variant's out-of-fold training needs, as numpy and scipy arrays.

    Labels, folds and the set matrices are built once and shared by every variant (pickle sends an object
    shared by several tasks once); each variant has its own feature columns.
    """
    shared = {"label": frame[CILIA_LABEL].fill_null(False).to_numpy(),
              "trainable": ~frame[HGNC_ID].is_in(list(exclude_hgnc_ids)).to_numpy(),
              "fold": fold_of(frame[HGNC_ID], config.folds, config.seed),
              "inner": fold_of(frame[HGNC_ID], config.folds, config.seed + 1), "config": config}
    matrices = {column: incidence(frame[column]) for column in set_columns(frame)}
    tasks = []
    for without in variants:
        columns, sets = feature_columns(frame, without), set_columns(frame, without)
        if not columns and not sets:
            raise ValueError(f"cilia model: no feature column present; expected some of {MODEL_FEATURES}")
        tasks.append(shared | {"values": _matrix(frame, columns), "matrices": [matrices[c] for c in sets]})
    return tasks


def _fit_folds(task: dict) -> np.ndarray:
    from threadpoolctl import threadpool_limits

    values, matrices, label, trainable = task["values"], task["matrices"], task["label"], task["trainable"]
    fold, inner, config = task["fold"], task["inner"], task["config"]
    scores = np.zeros(len(label))
    _model(config)  # loads scikit-learn's OpenMP runtime first: threadpool_limits only limits what is loaded
    # One thread: a fixed summation order, so the same inputs give the same trees on any machine.
    with threadpool_limits(limits=1):
        for k in range(config.folds):
            train = trainable & (fold != k)
            if label[train].all() or not label[train].any():
                raise ValueError(f"cilia model: fold {k} has only one class among {train.sum()} training genes")
            fit_sets, score_sets = fold_features(matrices, label, train, inner, config.association_prior)
            model = _model(config).fit(_prepare(np.hstack([values, fit_sets]), config.kind)[train], label[train])
            scored = fold == k
            scores[scored] = model.predict_proba(_prepare(np.hstack([values, score_sets]), config.kind)[scored])[:, 1]
    return np.round(scores, 9)


def percentile_of(scores: np.ndarray) -> np.ndarray:
    """Average rank / n in (0, 1]: the model's probabilities as a scale the combination can weigh."""
    from scipy.stats import rankdata

    return rankdata(scores, method="average") / len(scores)
