"""Guilt by shared annotation, computed inside the model's folds: how often a gene's GO terms or gene groups
belong to GO cilia genes (and its Pfam domains), counted only over genes whose labels the scoring model may see.

Nested: a training gene's value comes from the other inner folds of the training genes, a scored gene's
from all training genes, so no gene's own label ever reaches its own feature.
"""

import numpy as np
import polars as pl
import scipy.sparse as sp

# Feature layer -> list column of keys it encodes (see evidence/annotation.py).
SET_FEATURES = {"go_context": "go_context_terms", "gene_family": "context_gene_groups",
                "protein_domain": "protein_domains"}
SUFFIXES = ("max_cilia_rate", "mean_cilia_rate")


def incidence(keys: pl.Series) -> sp.csr_matrix:
    """Genes x distinct keys, 1 where the gene has the key; columns in sorted key order, so the same every run."""
    exploded = pl.DataFrame({"row": np.arange(len(keys)), "key": keys}).explode("key").drop_nulls("key")
    vocabulary = sorted(set(exploded["key"].to_list()))
    column = {key: j for j, key in enumerate(vocabulary)}
    cols = np.array([column[k] for k in exploded["key"].to_list()], dtype=np.int64)
    matrix = sp.csr_matrix((np.ones(len(cols)), (exploded["row"].to_numpy(), cols)),
                           shape=(len(keys), len(vocabulary)))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def cilia_rates(matrix: sp.csr_matrix, label: np.ndarray, counted: np.ndarray, prior_weight: float) -> np.ndarray:
    """Per gene, the max and the mean over its keys of the key's smoothed cilia rate among ``counted`` genes.

    Rate = (cilia genes with the key + prior_weight x base rate) / (counted genes with the key + prior_weight):
    a key two genes share says little. NaN for a gene without keys (missing, not zero).
    """
    positives = (label & counted).astype(float)
    base = positives.sum() / max(counted.sum(), 1)
    rate = (matrix.T @ positives + prior_weight * base) / (matrix.T @ counted.astype(float) + prior_weight)
    weighted = matrix.multiply(rate[None, :]).tocsr()
    keys = np.diff(matrix.indptr)
    best = np.asarray(weighted.max(axis=1).todense()).ravel()
    mean = np.asarray(weighted.sum(axis=1)).ravel() / np.maximum(keys, 1)
    return np.column_stack([np.where(keys > 0, best, np.nan), np.where(keys > 0, mean, np.nan)])


def fold_features(matrices: list[sp.csr_matrix], label: np.ndarray, train: np.ndarray, inner_fold: np.ndarray,
                  prior_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """(features for training the fold model, features for scoring with it), one pair of columns per matrix.

    Scoring features count every training gene; a training gene's count only the training genes of
    the other inner folds.
    """
    if not matrices:
        empty = np.empty((len(label), 0))
        return empty, empty
    scoring = np.hstack([cilia_rates(m, label, train, prior_weight) for m in matrices])
    training = np.full_like(scoring, np.nan)
    for j in np.unique(inner_fold[train]):
        part = train & (inner_fold == j)
        counted = train & (inner_fold != j)
        training[part] = np.hstack([cilia_rates(m, label, counted, prior_weight) for m in matrices])[part]
    return training, scoring
