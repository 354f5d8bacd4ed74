"""Benchmark 5: checkpoint lookups, verification and fingerprints in stores of 10, 1,000 and 10,000 checkpoints.

The measured tables are real (one unpartitioned, one with 8 chromosome slices); the rest of each store is
filler checkpoint and provenance rows for other tables, so only the store's size changes between sizes.
"""

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import dagster as dg
import polars as pl

from bench.common import Result, Sample, mixed_frame
from usher_assets.assets.declare import pipeline_provenance
from usher_assets.config import PipelineConfig
from usher_assets.schemas import CHROMOSOMES
from usher_assets.storage.checkpointed import checkpointed_asset
from usher_assets.storage.dependencies import DeclaredInputs, asset_fingerprints, stored_node
from usher_assets.storage.fingerprint import decide, make_fingerprint
from usher_assets.storage.provenance import ProvenanceTracker
from usher_assets.storage.store import PipelineStore

GOAL = 2.0
SIZES = (10, 1_000, 10_000)
SLICES = CHROMOSOMES[:8]


@checkpointed_asset(metadata={"schema": "sources"}, code_version="1")
def genes() -> pl.DataFrame:
    """One row per gene (the bench stores it directly; the body never runs)."""
    raise NotImplementedError


@checkpointed_asset(metadata={"schema": "evidence", "partition_expr": "chromosome"}, code_version="1",
                    partitions_def=dg.StaticPartitionsDefinition(SLICES))
def layer(genes: pl.DataFrame) -> pl.DataFrame:
    """One row per gene, sliced by chromosome (stored directly; the body never runs)."""
    raise NotImplementedError


GRAPH = dg.Definitions(assets=[genes, layer]).resolve_asset_graph()
GENES, LAYER = stored_node(GRAPH, genes.key, None), stored_node(GRAPH, layer.key, None)


def declared(pipeline: PipelineConfig) -> DeclaredInputs:
    """What both assets declare beside their upstream: the scoring config section."""
    return DeclaredInputs(parts={"config:scoring": pipeline.section_hash("scoring")})


def fingerprints(store: PipelineStore, pipeline: PipelineConfig, key: dg.AssetKey, keys: list[str] | None):
    """The fingerprints a run computes for the asset (the decorator's own function, default run config)."""
    return asset_fingerprints(store, GRAPH, key, keys, run_config={}, declared=declared(pipeline))


def build_store(path: Path, checkpoints: int, pipeline: PipelineConfig, rows: int = 20_000) -> PipelineStore:
    """A store with exactly `checkpoints` checkpoints: 9 real ones, the rest filler rows."""
    store = PipelineStore(path)
    [genes_fp] = fingerprints(store, pipeline, genes.key, None)
    store.save(mixed_frame(rows, seed=1), GENES.ref, None, {None: (genes_fp.value, genes_fp.parts)},
               provenance=_provenance(pipeline, "genes"))
    frame = mixed_frame(rows, seed=2).filter(pl.col("chromosome").is_in(SLICES))
    layer_fps = fingerprints(store, pipeline, layer.key, SLICES)
    store.save(frame, LAYER.ref, LAYER.slices(SLICES), {k: (f.value, f.parts) for k, f in zip(SLICES, layer_fps)},
               provenance=_provenance(pipeline, "layer"))
    filler = checkpoints - 1 - len(SLICES)
    record = json.dumps(_provenance(pipeline, "filler"), sort_keys=True)
    with store.transaction() as con:
        # 25 slices per filler table, as the chromosome-partitioned evidence tables have.
        keys = "[" + ", ".join(f"'{k}'" for k in CHROMOSOMES) + "]"
        con.execute(f"""
            INSERT INTO main._checkpoints (schema_name, table_name, partition_key, created_at, row_count,
                description, fingerprint, fingerprint_parts, content_hash, columns, run_id, slice_where)
            SELECT 'evidence', 'filler_' || (i // 25), {keys}[(i % 25) + 1], now(), 1000, 'filler',
                   sha256(i::VARCHAR), '{{}}', sha256('c' || i), '[["a", "VARCHAR"]]', 'run',
                   '"chromosome" IN (''' || {keys}[(i % 25) + 1] || ''')'
            FROM range(?) AS t(i)""", [filler])
        con.execute(f"""
            INSERT INTO main._provenance
            SELECT schema_name, table_name, partition_key, created_at, run_id, table_name, fingerprint,
                   '1', 'cfg', '0.1.0', '{{}}', '[]', '{{}}', row_count, content_hash, ?
            FROM main._checkpoints WHERE description = 'filler'""", [record])
    with store.connect() as con:
        con.execute("CHECKPOINT")
        total = con.execute("SELECT count(*) FROM main._checkpoints").fetchall()[0][0]
    if total != checkpoints:
        raise AssertionError(f"{path}: built {total} checkpoints, expected {checkpoints}")
    return store


def _provenance(pipeline: PipelineConfig, asset: str) -> dict:
    tracker = ProvenanceTracker(run_id="bench", asset_key=asset, code_version="1", **pipeline_provenance(pipeline))
    tracker.step("compute", seconds=0.1, rows=20_000)
    return tracker.to_dict()


def operations(store: PipelineStore, pipeline: PipelineConfig) -> dict[str, Callable[[], object]]:
    """The calls a checkpointed rerun makes, each bound to this store."""
    slice_checkpoint = store.get_checkpoint("layer", schema="evidence", partition_key=SLICES[2])
    parts = fingerprints(store, pipeline, layer.key, [SLICES[2]])[0].parts

    def skip_decision() -> None:
        # What checkpointed._run does for one partitioned asset before deciding not to run its body.
        with store.session():
            computed = fingerprints(store, pipeline, layer.key, SLICES)
            refs = [LAYER.ref.slice(k) for k in SLICES]
            existing = store.get_checkpoints(refs)
            reasons = decide(store, [existing[r] for r in refs], computed, False)
            if any(reasons):
                raise AssertionError(f"slices would be recomputed: {reasons}")
            store.latest_provenance("layer", schema="evidence", partition_key=SLICES[-1])

    return {
        "get_checkpoint (table)": lambda: store.get_checkpoint("genes", schema="sources"),
        "get_checkpoint (slice)": lambda: store.get_checkpoint("layer", schema="evidence", partition_key=SLICES[2]),
        f"list_checkpoints (one table, {len(SLICES)} slices)": lambda: store.list_checkpoints("evidence", "layer"),
        "verify_checkpoint (slice, content hash)": lambda: store.verify_checkpoint(slice_checkpoint),
        "make_fingerprint": lambda: make_fingerprint(dict(parts)),
        f"skip decision in one session ({len(SLICES)} slices)": skip_decision,
    }


def per_call(fn: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def bench_checkpoint_lookup(repeats: int, calls: int = 20, sizes: tuple[int, ...] = SIZES,
                            workdir: Path | None = None, rows: int = 20_000) -> list[Result]:
    """One row per operation: per-call time at the largest size against the smallest, sizes interleaved."""
    pipeline = PipelineConfig.load()
    small, large = sizes[0], sizes[-1]
    with tempfile.TemporaryDirectory(dir=workdir, prefix="bench_ckpt_") as tmp:
        ops = {n: operations(build_store(Path(tmp) / f"store_{n}.duckdb", n, pipeline, rows), pipeline) for n in sizes}
        names = list(ops[small])
        timings = {(name, n): [] for name in names for n in sizes}
        for i in range(repeats):
            order = sizes if i % 2 == 0 else tuple(reversed(sizes))
            for name in names:
                for n in order:
                    ops[n][name]()  # warm: the first call of a fresh PipelineStore also runs its DDL
                    timings[name, n].append(per_call(ops[n][name], calls))
    results = []
    for name in names:
        middle = ", ".join(f"{n:,}: {statistics.median(timings[name, n]) * 1e3:.2f} ms"
                           for n in sizes[1:-1])
        results.append(Result(
            f"{name}, {small:,} -> {large:,} checkpoints", Sample(timings[name, large]),
            Sample(timings[name, small]), goal=GOAL,
            ours_label=f"per call with {large:,} checkpoints", baseline_label=f"{small:,} checkpoints",
            note=f"median of {calls} calls per repeat" + (f"; median at {middle}" if middle else "")))
    return results


if __name__ == "__main__":
    for r in bench_checkpoint_lookup(3):
        print(f"{r.benchmark}: {r.ours.min*1e3:.2f}/{r.baseline.min*1e3:.2f} ms ratio {r.ratio_min:.2f} / {r.ratio_median:.2f} | {r.note}")
