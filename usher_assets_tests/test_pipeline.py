"""The whole pipeline on the bundled data, through the real `dagster asset materialize` CLI."""

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from conftest import build_env, clone_build, write_config
from usher_assets.config import PROJECT_ROOT
from usher_assets.schemas import CHROMOSOMES
from usher_assets.config import PipelineConfig
from usher_assets.storage import ProvenanceTracker
from pipeline_runs import reused_tables

pytestmark = pytest.mark.slow
DAGSTER = Path(sys.executable).parent / "dagster"


def materialize(env: dict, select: str = "*", *extra: str) -> subprocess.CompletedProcess:
    args = [str(DAGSTER), "asset", "materialize", "-m", "usher_assets.definitions", "--select", select, *extra]
    if "--partition" not in extra:
        args += ["--partition-range", "1...MT"]
    return subprocess.run(args, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)


def run_ids(directory: Path) -> dict[str, str]:
    """Table (or slice) label -> run id of the run that last computed it."""
    with store_in(directory) as store:
        return {f"{c.schema_name}.{c.table_name}[{c.partition_key or ''}]": c.run_id for c in store.list_checkpoints()}


@pytest.fixture(params=["duckdb", "delta"])
def backend_build(request) -> tuple[str, Path]:
    """(backend, the session's clean CLI build on it): every test here runs on both storage backends."""
    return request.param, request.getfixturevalue("golden_build" if request.param == "duckdb" else "golden_delta_build")


@pytest.fixture
def built(backend_build, tmp_path):
    """A copy of the session's clean CLI build of this test's own, which it may change.

    Each test starts from the clean build whatever ran before it (any order, any subset).
    """
    backend, golden = backend_build
    directory = tmp_path / "pipeline"
    clone_build(golden, directory)
    return directory, build_env(directory, write_config(directory, backend=backend))


@pytest.fixture
def golden(backend_build) -> Path:
    """The session's clean build itself, for tests that only read it."""
    return backend_build[1]


def store_in(directory: Path):
    """The store of the build in `directory`, on whichever backend its config names."""
    return PipelineConfig.load(directory / "usher.yaml").open_store()


def test_pipeline_exports_candidates_and_report_with_sidecars(golden):
    directory = golden
    outputs = directory / "outputs"
    for name in ("candidates.parquet", "candidates.tsv", "report.html"):
        record = ProvenanceTracker.load_sidecar(outputs / name)
        assert record["pipeline_version"] and record["config_hash"]
        assert set(record["library_versions"]) >= {"dagster", "duckdb", "polars", "pyarrow"}
        assert record["source_releases"]["hgnc"] == "2024-10-18"
    candidates = pl.read_parquet(outputs / "candidates.parquet")
    assert candidates.columns[:10] == ["rank", "gene_symbol", "hgnc_id", "ensembl_gene_id", "ranking_score", "tier",
                                       "evidence_count", "thin_evidence", "top_evidence", "composite_score"]
    assert candidates["hgnc_id"].is_unique().all() and candidates["rank"].to_list() == list(range(1, candidates.height + 1))
    assert 19_000 < candidates.height < 19_500
    assert set(candidates["tier"].unique()) <= {"HIGH", "MEDIUM", "LOW"}
    html = (outputs / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 4


def test_pipeline_validation_ranks_known_usher_genes_high(golden):
    directory = golden
    with store_in(directory) as store:
        known = store.load_dataframe("ranking_validation", schema="scoring")
    core = known.filter(pl.col("group") == "core")
    assert core.height == 10
    # The bar: the core Usher genes stay near the top (median percentile >= 95).
    assert core["percentile"].median() >= 95


def test_pipeline_validation_json_meets_the_bars_and_reports_every_baseline(built):
    directory, _ = built
    validation = json.loads((directory / "outputs" / "validation.json").read_text())
    assert validation["negative_controls"]["all"]["median_percentile"] < 50
    # The bar for each control group: housekeeping (ACTB, GAPDH, TUBB) and ribosomal proteins both stay in
    # the lower half, however well studied they are.
    assert validation["negative_controls"]["housekeeping"]["median_percentile"] < 50
    assert validation["negative_controls"]["ribosomal"]["median_percentile"] < 50
    assert validation["top_thin_evidence"]["thin_count"] <= 5
    strict = validation["strict_discovery"]
    assert [m["method"] for m in strict["methods"]][2:] == ["pLI alone", "GO term count (study depth)",
                                                             "ciliated-cell logFC",
                                                             "rank sum (ciliated logFC + pLI + cilia proteome)"]
    assert 80 <= strict["n_labels"] <= 130 and strict["n_subset_genes"] > 18_000
    assert strict["verdict"] in (directory / "outputs" / "report.html").read_text()
    rows = {row["left_out"] for row in validation["leave_one_layer_out"]}
    assert {"cilia_association", "cilia_proximity", "annotation", "sensory_expression"} <= rows
    candidates = pl.read_parquet(directory / "outputs" / "candidates.parquet")
    # Tiers follow the ranking: nothing above the last HIGH gene is MEDIUM or LOW.
    last_high = candidates.filter(pl.col("tier") == "HIGH")["rank"].max()
    assert candidates.filter((pl.col("rank") < last_high) & (pl.col("tier") != "HIGH")).height == 0
    assert candidates.head(50)["top_evidence"].str.len_chars().min() > 0


def test_pipeline_rerun_reuses_every_checkpoint(built):
    # `built` is a copy of another build: fingerprints hold contents, not paths, so it is as good.
    directory, env = built
    before = run_ids(directory)
    result = materialize(env)
    assert result.returncode == 0, result.stderr[-4000:]
    assert run_ids(directory) == before
    assert "computing" not in result.stderr
    assert len(reused_tables(result.stderr)) >= 20


def test_pipeline_validation_metadata_is_json(golden):
    directory = golden
    data = json.loads((directory / "outputs" / "validation.json").read_text())
    assert {"known_metrics", "negative_controls", "sensitivity"} <= set(data)


def test_pipeline_interrupted_backfill_reuses_partitions_done(built):
    directory, env = built
    done, lost = CHROMOSOMES[:7], CHROMOSOMES[7:]
    with store_in(directory) as store:
        # As if the backfill had been killed after chromosomes 1-7 were written.
        for key in lost:
            store.delete_checkpoint("constraint_evidence", schema="evidence", partition_key=key)
    before = run_ids(directory)
    result = materialize(env, "constraint_evidence")
    assert result.returncode == 0, result.stderr[-4000:]
    after = run_ids(directory)
    slices = {k: after[f"evidence.constraint_evidence[{k}]"] for k in CHROMOSOMES}
    assert all(slices[k] == before[f"evidence.constraint_evidence[{k}]"] for k in done)
    assert len({slices[k] for k in lost}) == 1 and slices[lost[0]] not in set(before.values())


def test_pipeline_single_partition_run(built):
    directory, env = built
    with store_in(directory) as store:
        store.delete_checkpoint("localization_evidence", schema="evidence", partition_key="7")
    result = materialize(env, "localization_evidence", "--partition", "7")
    assert result.returncode == 0, result.stderr[-4000:]
    with store_in(directory) as store:
        seven = store.load_dataframe("localization_evidence", schema="evidence", partition_key="7")
        universe = store.load_dataframe("gene_universe", schema="sources")
    assert seven.height == universe.filter(pl.col("chromosome") == "7").height > 800


def test_pipeline_weight_change_recomputes_scoring_only(built, tmp_path):
    directory, env = built
    raw = yaml.safe_load(Path(env["USHER_CONFIG"]).read_text())
    weights = raw["scoring"]["weights"]
    weights["constraint"], weights["annotation"] = weights["constraint"] + 0.05, weights["annotation"] - 0.05
    changed = tmp_path / "weights.yaml"
    changed.write_text(yaml.safe_dump(raw, sort_keys=False))
    before = run_ids(directory)
    result = materialize(env | {"USHER_CONFIG": str(changed)})
    assert result.returncode == 0, result.stderr[-4000:]
    after = run_ids(directory)
    recomputed = {label.split("[")[0] for label in after if after[label] != before.get(label)}
    # Not scoring.cilia_model: it reads scoring.model only, so a reweighting does not retrain it.
    assert recomputed == {"scoring.gene_scores", "scoring.ranking_validation", "report.candidates"}
