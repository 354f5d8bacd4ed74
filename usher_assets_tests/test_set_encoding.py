"""Guilt by shared GO term or gene group, inside the folds: smoothed rates, and no gene's label in its own feature."""

import numpy as np
import polars as pl
import pytest

from usher_assets.config import ModelConfig
from usher_assets.scoring.cilia_model import out_of_fold_scores, present_layers
from usher_assets.scoring.set_encoding import cilia_rates, fold_features, incidence

KEYS = pl.Series([["b", "a"], ["a"], ["a", "a"], [], None], dtype=pl.List(pl.String))


def test_incidence_has_sorted_keys_and_counts_a_key_once():
    matrix = incidence(KEYS).toarray()
    assert matrix.tolist() == [[1, 1], [1, 0], [1, 0], [0, 0], [0, 0]]  # columns a, b


def test_cilia_rates_are_smoothed_toward_the_base_rate_and_nan_without_keys():
    label = np.array([True, True, False, False, False])
    counted = np.array([True, True, True, True, False])
    rates = cilia_rates(incidence(KEYS), label, counted, prior_weight=2.0)
    base = 2 / 4
    rate_a, rate_b = (2 + 2 * base) / (3 + 2), (1 + 2 * base) / (1 + 2)
    assert rates[0].tolist() == pytest.approx([rate_b, (rate_a + rate_b) / 2])
    assert rates[1].tolist() == pytest.approx([rate_a, rate_a])
    assert np.isnan(rates[3]).all() and np.isnan(rates[4]).all()


def test_cilia_rates_ignore_the_labels_of_genes_not_counted():
    label = np.array([True, False, False, False, True])
    counted = np.array([False, True, True, True, True])
    flipped = label.copy()
    flipped[0] = False
    assert np.array_equal(cilia_rates(incidence(KEYS), label, counted, 5.0),
                          cilia_rates(incidence(KEYS), flipped, counted, 5.0), equal_nan=True)


def test_fold_features_never_use_a_training_genes_own_label():
    rng = np.random.default_rng(0)
    keys = pl.Series([[f"k{j}" for j in rng.choice(6, size=2, replace=False)] for _ in range(60)])
    label = rng.random(60) < 0.3
    train = np.arange(60) < 45
    inner = np.arange(60) % 3
    before, scoring = fold_features([incidence(keys)], label, train, inner, 5.0)
    for gene in (0, 7, 20):
        flipped = label.copy()
        flipped[gene] = ~flipped[gene]
        after, _ = fold_features([incidence(keys)], flipped, train, inner, 5.0)
        assert np.array_equal(after[gene], before[gene], equal_nan=True)
        assert not np.array_equal(after, before, equal_nan=True)  # other genes did count it
    flipped = label.copy()
    flipped[50] = ~flipped[50]  # a scored gene outside training: counts for nobody
    assert np.array_equal(fold_features([incidence(keys)], flipped, train, inner, 5.0)[1], scoring, equal_nan=True)


def set_frame(seed: int = 0, n: int = 200) -> pl.DataFrame:
    """The label is carried only by shared keys: genes holding key 'c0' are mostly cilia genes."""
    rng = np.random.default_rng(seed)
    label = rng.random(n) < 0.25
    terms = [(["c0"] if (is_cilia and rng.random() < 0.8) or rng.random() < 0.05 else []) + [f"n{rng.integers(20)}"]
             for is_cilia in label]
    return pl.DataFrame({"hgnc_id": [f"HGNC:{i}" for i in range(n)], "cilia_annotated": label,
                         "go_context_terms": terms, "exac_pli": rng.random(n)})


FAST = ModelConfig(max_iter=20, folds=4)


def _flip(frame: pl.DataFrame, genes: list[str], value=None) -> pl.DataFrame:
    new = ~pl.col("cilia_annotated") if value is None else pl.lit(value)
    return frame.with_columns(pl.when(pl.col("hgnc_id").is_in(genes)).then(new)
                              .otherwise(pl.col("cilia_annotated")).alias("cilia_annotated"))


def test_the_model_learns_from_shared_terms_and_scores_each_gene_without_its_label():
    frame = set_frame()
    assert present_layers(frame) == ["constraint", "go_context"]
    scores = out_of_fold_scores(frame, set(), FAST)
    label = frame["cilia_annotated"].to_numpy()
    assert scores[label].mean() > scores[~label].mean() + 0.3
    after = out_of_fold_scores(_flip(frame, ["HGNC:3"]), set(), FAST)
    assert after[3] == scores[3] and (after != scores).any()
    assert out_of_fold_scores(frame.reverse(), set(), FAST)[::-1].tobytes() == scores.tobytes()
    without = out_of_fold_scores(frame, set(), FAST, without="go_context")
    assert without[label].mean() < scores[label].mean() - 0.2


def domain_frame(seed: int = 0, n: int = 200) -> pl.DataFrame:
    """Only Pfam domains carry the label: genes with domain 'PF00001' are mostly cilia genes."""
    rng = np.random.default_rng(seed)
    label = rng.random(n) < 0.25
    domains = [(["PF00001"] if (is_cilia and rng.random() < 0.8) or rng.random() < 0.05 else [])
               + ([f"PF1{rng.integers(20):04d}"] if rng.random() < 0.8 else []) for is_cilia in label]
    return pl.DataFrame({"hgnc_id": [f"HGNC:{i}" for i in range(n)], "cilia_annotated": label,
                         "protein_domains": [d or None for d in domains], "exac_pli": rng.random(n)})


def test_domain_cilia_rate_is_learned_without_the_genes_own_label():
    frame = domain_frame()
    assert present_layers(frame) == ["constraint", "protein_domain"]
    scores = out_of_fold_scores(frame, set(), FAST)
    label = frame["cilia_annotated"].to_numpy()
    assert scores[label].mean() > scores[~label].mean() + 0.3
    # A gene's own label reaches neither its domain rate nor the model that scores it.
    for gene in (3, 11, 42):
        after = out_of_fold_scores(_flip(frame, [f"HGNC:{gene}"]), set(), FAST)
        assert after[gene] == scores[gene] and (after != scores).any()
    without = out_of_fold_scores(frame, set(), FAST, without="protein_domain")
    assert without[label].mean() < scores[label].mean() - 0.2


def test_domain_rate_of_a_training_gene_never_counts_its_own_label():
    frame = domain_frame()
    matrix = incidence(frame["protein_domains"])
    label = frame["cilia_annotated"].to_numpy()
    train, inner = np.arange(frame.height) < 150, np.arange(frame.height) % 4
    training, scoring = fold_features([matrix], label, train, inner, 5.0)
    assert np.isnan(scoring[frame["protein_domains"].is_null().to_numpy()]).all()  # no domain: NaN, not 0
    for gene in (0, 5, 99):
        flipped = label.copy()
        flipped[gene] = ~flipped[gene]
        assert np.array_equal(fold_features([matrix], flipped, train, inner, 5.0)[0][gene], training[gene],
                              equal_nan=True)


def test_validation_genes_are_never_domain_positives():
    frame = domain_frame()
    judged = {f"HGNC:{i}" for i in range(0, frame.height, 4)}
    before = out_of_fold_scores(frame, judged, FAST)
    # Calling every validation gene ciliary (or none) changes no domain rate and no score.
    for value in (True, False):
        assert out_of_fold_scores(_flip(frame, sorted(judged), value), judged, FAST).tobytes() == before.tobytes()


def test_protein_domains_per_gene_and_off_by_default():
    from usher_assets.assets.scoring import protein_domains, with_protein_domains
    from usher_assets.config import PipelineConfig

    pfam = pl.DataFrame({"entrez_id": [1, 1, 2, 3, 3], "pfam_id": ["PF2", "PF1", "PF1", "PF9", "PF9"],
                         "hgnc_id": ["HGNC:1", "HGNC:1", None, "HGNC:3", "HGNC:3"]})
    per_gene = protein_domains(pfam).sort("hgnc_id")
    assert per_gene.to_dicts() == [{"hgnc_id": "HGNC:1", "protein_domains": ["PF1", "PF2"]},
                                   {"hgnc_id": "HGNC:3", "protein_domains": ["PF9"]}]
    assert protein_domains(pfam.clear()) is None  # source not configured: no domain column, no feature
    layers = pl.DataFrame({"hgnc_id": ["HGNC:3", "HGNC:2", "HGNC:1"]})
    joined = with_protein_domains(layers, per_gene)
    assert joined["hgnc_id"].to_list() == ["HGNC:3", "HGNC:2", "HGNC:1"]
    assert joined["protein_domains"].to_list() == [["PF9"], None, ["PF1", "PF2"]]
    config = PipelineConfig.load()
    assert config.scoring.model.protein_domains is False
    on = config.model_copy(update={"scoring": config.scoring.model_copy(
        update={"model": config.scoring.model.model_copy(update={"protein_domains": True})})})
    assert on.section_hash("scoring") != config.section_hash("scoring")  # part of gene_scores' fingerprint
