"""The out-of-fold cilia model and the ranking score on small synthetic frames: no leak, no reward for absence."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from usher_assets.config import CombinationConfig, ModelConfig
from usher_assets.scoring.cilia_model import feature_columns, fold_of, out_of_fold_scores, out_of_fold_variants
from usher_assets.scoring.training_pool import processes_allowed
from usher_assets.scoring.combination import hair_cell_evidence, ranking_score, top_evidence, without_column

N = 240
FAST = ModelConfig(max_iter=20, folds=4)


def synthetic(seed: int = 0) -> pl.DataFrame:
    """Half the genes carry a cilia-like proximity signal; the label follows it with noise; pLI is noise with gaps."""
    rng = np.random.default_rng(seed)
    signal = rng.random(N)
    label = (signal + 0.3 * rng.random(N)) > 0.8
    pli = np.where(rng.random(N) < 0.3, np.nan, rng.random(N))
    return pl.DataFrame({
        "hgnc_id": [f"HGNC:{i}" for i in range(N)],
        "gene_symbol": [f"G{i:03d}" for i in range(N)],
        "bioid_max_saint": signal,
        "exac_pli": pli,
        "cilia_annotated": label,
        # Annotation columns must never be features, however predictive.
        "annotation_score": label.astype(float),
        "go_term_count": label.astype(float) * 10,
    }).with_columns(pl.col("exac_pli").fill_nan(None))


def test_feature_columns_leave_out_annotation_and_empty_columns():
    frame = synthetic().with_columns(pl.lit(None, dtype=pl.Float64).alias("gnomad_pli"))
    assert feature_columns(frame) == ["exac_pli", "bioid_max_saint"]
    assert feature_columns(frame, without="constraint") == ["bioid_max_saint"]


def test_fold_of_is_fixed_by_id_and_seed_not_by_row_order():
    ids = synthetic()["hgnc_id"]
    folds = fold_of(ids, 5, seed=0)
    assert list(fold_of(ids.reverse(), 5, seed=0)) == list(folds[::-1])
    assert set(folds) == set(range(5)) and min(np.bincount(folds)) > N / 10
    assert list(fold_of(ids, 5, seed=1)) != list(folds)


def test_out_of_fold_scores_are_byte_identical_on_a_rerun_and_in_any_row_order():
    frame = synthetic()
    first = out_of_fold_scores(frame, set(), FAST)
    assert first.tobytes() == out_of_fold_scores(frame, set(), FAST).tobytes()
    reversed_scores = out_of_fold_scores(frame.reverse(), set(), FAST)
    assert list(reversed_scores[::-1]) == list(first)


def test_a_gene_is_scored_by_a_model_that_never_saw_its_label():
    frame = synthetic()
    before = out_of_fold_scores(frame, set(), FAST)
    flipped = frame.with_columns(pl.when(pl.col("hgnc_id") == "HGNC:7").then(~pl.col("cilia_annotated"))
                                 .otherwise(pl.col("cilia_annotated")).alias("cilia_annotated"))
    after = out_of_fold_scores(flipped, set(), FAST)
    assert after[7] == before[7]  # its own fold's model did not train on it
    assert (after != before).any()  # but the other folds' models did


def test_excluded_genes_never_train_the_model():
    frame = synthetic()
    excluded = {f"HGNC:{i}" for i in range(0, N, 3)}
    before = out_of_fold_scores(frame, excluded, FAST)
    relabelled = frame.with_columns(pl.when(pl.col("hgnc_id").is_in(list(excluded))).then(True)
                                    .otherwise(pl.col("cilia_annotated")).alias("cilia_annotated"))
    assert out_of_fold_scores(relabelled, excluded, FAST).tobytes() == before.tobytes()


@pytest.mark.parametrize("kind", ["gradient_boosting", "logistic"])
def test_the_model_learns_the_signal_despite_missing_values(kind):
    frame = synthetic()
    scores = out_of_fold_scores(frame, set(), ModelConfig(kind=kind, max_iter=30, folds=4))
    label = frame["cilia_annotated"].to_numpy()
    assert scores[label].mean() > scores[~label].mean() + 0.2


def test_out_of_fold_scores_need_features_and_both_classes():
    frame = synthetic()
    with pytest.raises(ValueError, match="no feature column"):
        out_of_fold_scores(frame.select("hgnc_id", "cilia_annotated"), set(), FAST)
    with pytest.raises(ValueError, match="only one class"):
        out_of_fold_scores(frame.with_columns(pl.lit(False).alias("cilia_annotated")), set(), FAST)


def test_trainings_in_worker_processes_give_the_same_bytes_as_in_this_process():
    frame = synthetic()
    variants = [None, "constraint", "cilia_proximity"]
    spread = out_of_fold_variants(frame, set(), FAST, variants, processes=2)
    assert [s.tobytes() for s in spread] == [out_of_fold_scores(frame, set(), FAST, without=w).tobytes()
                                             for w in variants]


def test_a_training_error_in_a_worker_process_reaches_the_caller():
    one_class = synthetic().with_columns(pl.lit(False).alias("cilia_annotated"))
    with pytest.raises(ValueError, match="only one class"):
        out_of_fold_variants(one_class, set(), FAST, [None, "constraint"], processes=2)


def test_the_number_of_training_processes_follows_the_environment(monkeypatch):
    monkeypatch.setenv("USHER_MODEL_PROCESSES", "3")
    assert processes_allowed() == 3
    for bad in ("two", "0"):
        monkeypatch.setenv("USHER_MODEL_PROCESSES", bad)
        with pytest.raises(ValueError, match="USHER_MODEL_PROCESSES"):
            processes_allowed()
    monkeypatch.delenv("USHER_MODEL_PROCESSES")
    assert processes_allowed() >= 1


def test_every_training_runs_on_one_thread_in_a_fresh_interpreter():
    # threadpool_limits only limits libraries already loaded: scikit-learn's OpenMP runtime must be loaded
    # before the limit, or the first training of a process (each worker's first) runs on every core.
    code = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from threadpoolctl import threadpool_info
import usher_assets.scoring.cilia_model as cilia_model
from test_cilia_model import FAST, synthetic
assert "sklearn" not in sys.modules
seen = []
prepare = cilia_model._prepare
def spy(values, kind):
    seen.append(max((i["num_threads"] for i in threadpool_info() if i["internal_api"] == "openmp"), default=1))
    return prepare(values, kind)
cilia_model._prepare = spy
cilia_model.out_of_fold_scores(synthetic(), set(), FAST)
print(sorted(set(seen)))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["[1]"]


def parts_frame() -> pl.DataFrame:
    return pl.DataFrame({
        "gene_symbol": ["NOHAIR", "ZEROHAIR", "HAIR", "GOSENSE"],
        "cilia_model_percentile": [0.5, 0.5, 0.5, 0.2],
        without_column("cilia_proximity"): [0.1, 0.5, 0.5, 0.2],
        "cilia_signal": [None, 0.0, 0.0, 1.0],
        "hair_cell_log2fc": [None, 1.0, 3.0, 2.0],
        "hair_cell_groups_enriched": [None, 0, 2, 1],
        "hair_cell_groups_measured": [None, 2, 2, 2],
        "go_sensory_evidence": [0.0, 0.0, 0.0, 1.0],
    }).with_columns(pl.col("hair_cell_groups_enriched", "hair_cell_groups_measured").cast(pl.Int64))


def test_hair_cell_evidence_is_earned_only_where_enriched():
    frame = parts_frame()
    assert frame.select(hair_cell_evidence(frame)).to_series().to_list() == [None, 0.0, 1.0, pytest.approx(1 / 3)]
    assert frame.drop("hair_cell_log2fc").select(hair_cell_evidence(frame.drop("hair_cell_log2fc"))).item(0, 0) is None


def test_missing_evidence_earns_nothing_rather_than_being_re_weighted_away():
    frame = parts_frame()
    frame = frame.with_columns(hair_cell_evidence(frame))
    combination = CombinationConfig(cilia_model=0.4, cilia_annotation=0.25, usher_sensory=0.35)
    scores = frame.select(ranking_score(frame, combination)).to_series().to_list()
    assert scores[0] == pytest.approx(0.4 * 0.5) == scores[1]  # unmeasured = measured and not enriched
    assert scores[2] == pytest.approx(0.4 * 0.5 + 0.35 * 1.0)
    assert scores[3] == pytest.approx(0.4 * 0.2 + 0.25 + 0.35)
    without = frame.select(ranking_score(frame, combination, without="annotation")).to_series().to_list()
    assert without[3] == pytest.approx(0.4 * 0.2 + 0.35 / 3)  # hair cells still count, GO terms do not
    proximity = frame.select(ranking_score(frame, combination, without="cilia_proximity")).to_series().to_list()
    assert proximity[0] == pytest.approx(0.4 * 0.1)


def test_top_evidence_names_the_strongest_parts_and_the_model_layer_behind_them():
    frame = parts_frame()
    frame = frame.with_columns(hair_cell_evidence(frame))
    words = top_evidence(frame, CombinationConfig(cilia_model=0.4, cilia_annotation=0.25, usher_sensory=0.35)).to_list()
    assert words[0] == "cilia model (most from cilia_proximity)"
    assert words[2] == "hair-cell enrichment; cilia model (most from cilia_proximity)"
    assert words[3].startswith("GO hearing/vision function; GO/HGNC cilia annotation")


def test_combination_weights_must_sum_to_one():
    with pytest.raises(ValueError, match="sum to 1"):
        CombinationConfig(cilia_model=0.5, cilia_annotation=0.5, usher_sensory=0.5)


def test_join_layers_adds_mouse_orthologs_as_the_conservation_feature():
    from usher_assets.assets.scoring import join_layers

    universe = pl.DataFrame({"hgnc_id": ["HGNC:1", "HGNC:2"], "gene_symbol": ["OLD", "YOUNG"],
                             "ensembl_gene_id": [None, None], "chromosome": ["1", "2"],
                             "mgd_ids": [["MGI:1"], []]}, schema_overrides={"ensembl_gene_id": pl.String})
    layer = pl.DataFrame({"hgnc_id": ["HGNC:1"], "constraint_score": [0.5], "exac_pli": [0.9], "unrelated": [1]})
    frame = join_layers(universe, {"constraint": layer})
    assert frame.columns == ["hgnc_id", "gene_symbol", "ensembl_gene_id", "chromosome", "mouse_orthologs",
                             "constraint_score", "exac_pli"]
    assert frame["mouse_orthologs"].to_list() == [1, 0]
    assert "mouse_orthologs" in feature_columns(frame.with_columns(pl.lit(False).alias("cilia_annotated")))


def test_housekeeping_discount_scales_only_the_model_part_and_missing_expression_is_no_discount():
    from usher_assets.config import HousekeepingConfig
    from usher_assets.scoring.combination import housekeeping_columns

    frame = pl.DataFrame({
        "cilia_model_percentile": [0.8, 0.8, 0.8, 0.8],
        "cilia_signal": [0.0, 0.0, 0.0, 1.0],
        "hair_cell_evidence": [None, None, None, None],
        "go_sensory_evidence": [0.0, 0.0, 1.0, 0.0],
        # log2(TPM + 1) in the lowest tissue: unmeasured, low everywhere, ubiquitous, half-way in one atlas only.
        "te_hpa_min_log2_tpm": [None, 1.0, 9.0, 6.5],
        "te_gtex_min_log2_tpm": [None, 2.0, 8.0, None],
    }, schema_overrides={"hair_cell_evidence": pl.Float64})
    housekeeping = HousekeepingConfig(penalty=1.0, floor_log2_tpm=5.0, full_log2_tpm=8.0)
    frame = frame.with_columns(housekeeping_columns(frame, housekeeping))
    assert frame["ubiquity"].to_list() == [None, 0.0, 1.0, pytest.approx(0.5)]
    assert frame["housekeeping_factor"].to_list() == [1.0, 1.0, 0.0, pytest.approx(0.5)]
    combination = CombinationConfig(cilia_model=0.6, cilia_annotation=0.3, usher_sensory=0.1)
    scores = frame.select(ranking_score(frame, combination)).to_series().to_list()
    # Only the model part is discounted: annotation and sensory evidence still count in full.
    assert scores == [pytest.approx(0.48), pytest.approx(0.48), pytest.approx(0.1), pytest.approx(0.24 + 0.3)]
    # Leaving the expression layer out drops the discount with it.
    without = frame.select(ranking_score(frame, combination, without="expression")).to_series().to_list()
    assert without[2] == pytest.approx(0.48 + 0.1)
    # A half penalty takes half the model part of a fully ubiquitous gene; no expression columns, no discount.
    half = frame.with_columns(housekeeping_columns(frame, HousekeepingConfig(penalty=0.5, floor_log2_tpm=5.0,
                                                                             full_log2_tpm=8.0)))
    assert half["housekeeping_factor"][2] == pytest.approx(0.5)
    bare = frame.drop("te_hpa_min_log2_tpm", "te_gtex_min_log2_tpm", "ubiquity", "housekeeping_factor")
    assert bare.with_columns(housekeeping_columns(bare, housekeeping))["housekeeping_factor"].to_list() == [1.0] * 4


def test_housekeeping_config_needs_an_ordered_ramp():
    from usher_assets.config import HousekeepingConfig

    with pytest.raises(ValueError, match="must exceed"):
        HousekeepingConfig(floor_log2_tpm=6.0, full_log2_tpm=6.0)
