"""Smoke run of the store and checkpoint-lookup benchmarks at tiny sizes: they produce rows and a RESULTS table."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ sits beside the package, not in it

from bench.checkpoint_lookup import bench_checkpoint_lookup  # noqa: E402
from bench.common import machine, mixed_frame  # noqa: E402
from bench.results import HEADER, render  # noqa: E402
from bench.store_io import bench_store_io  # noqa: E402


@pytest.fixture(scope="module")
def store_result(tmp_path_factory):
    return bench_store_io(2_000, repeats=2, workdir=tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def lookup_results(tmp_path_factory):
    return bench_checkpoint_lookup(repeats=1, calls=2, sizes=(10, 40), rows=500,
                                   workdir=tmp_path_factory.mktemp("lookup"))


def test_mixed_frame_has_ints_floats_strings_and_nulls():
    frame = mixed_frame(1_000)
    dtypes = {str(t) for t in frame.dtypes}
    assert {"Int64", "Float64", "String"} <= dtypes
    assert frame.height == 1_000 and frame.null_count().sum_horizontal().item() > 0


def test_store_bench_times_both_sides_every_repeat(store_result):
    assert len(store_result.ours.values) == len(store_result.baseline.values) == 2
    assert all(v > 0 for v in store_result.ours.values + store_result.baseline.values)
    assert store_result.ratio_min > 0 and store_result.goal == 1.15


def test_lookup_bench_has_a_row_per_operation(lookup_results):
    names = [r.benchmark for r in lookup_results]
    assert any(n.startswith("get_checkpoint") for n in names)
    assert any(n.startswith("list_checkpoints") for n in names)
    assert any(n.startswith("verify_checkpoint") for n in names)
    assert any(n.startswith("make_fingerprint") for n in names)
    # The skip decision raises if the store's own fingerprints would recompute a slice: it ran, and reused all.
    assert any(n.startswith("skip decision in one session (8 slices)") for n in names)
    assert all("10 -> 40 checkpoints" in n for n in names)
    assert all(r.ours.values and r.baseline.values for r in lookup_results)


def test_lookup_store_holds_real_checkpoints_a_run_would_reuse(tmp_path):
    from bench.checkpoint_lookup import GENES, LAYER, SLICES, build_store, fingerprints, genes, layer
    from usher_assets.config import PipelineConfig
    from usher_assets.storage.fingerprint import decide

    pipeline = PipelineConfig.load()
    store = build_store(tmp_path / "lookup.duckdb", 40, pipeline, rows=500)
    assert len(store.list_checkpoints()) == 40
    real = store.list_checkpoints("evidence", "layer")
    assert [c.partition_key for c in sorted(real, key=lambda c: SLICES.index(c.partition_key))] == SLICES
    assert all(c.slice_where and c.slice_where.startswith("chromosome IN") for c in real)
    assert sum(c.row_count for c in real) == store.load_dataframe("layer", schema="evidence").height > 0
    assert store.verify_checkpoints(real) == [None] * len(SLICES)
    for key, keys, target in ((genes.key, None, GENES), (layer.key, SLICES, LAYER)):
        refs = [target.ref.slice(k) for k in (keys or [None])]
        found = store.get_checkpoints(refs)
        assert decide(store, [found[r] for r in refs], fingerprints(store, pipeline, key, keys), False) == [
            None] * len(refs)


def test_render_writes_a_results_table(store_result, lookup_results):
    text = render([store_result, *lookup_results], machine(), command="smoke", seconds=1.0,
                  problems=["io: example failure"])
    lines = text.splitlines()
    header = "| " + " | ".join(HEADER) + " |"
    start = lines.index(header)
    rows = [line for line in lines[start + 2:] if line.startswith("| ")]
    assert len(rows) == 1 + len(lookup_results)
    assert all(line.count("|") == len(HEADER) + 1 for line in rows)
    assert "x / " in rows[0] and "<= 1.15x" in rows[0]
    assert "- python: " in text and "- duckdb: " in text and "- cores: " in text
    assert "io: example failure" in text
