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

import polars as pl

from bench.common import Result, Sample, mixed_frame
from usher_assets.assets.checkpointed import CheckpointedSpec
from usher_assets.assets.fingerprints import FingerprintInputs, decide, slice_fingerprint
from usher_assets.config import PipelineConfig
from usher_assets.schemas import CHROMOSOMES
from usher_assets.storage.fingerprint import make_fingerprint
from usher_assets.storage.provenance import ProvenanceTracker
from usher_assets.storage.store import PipelineStore

GOAL = 2.0
SIZES = (10, 1_000, 10_000)
SLICES = CHROMOSOMES[:8]
GENES = CheckpointedSpec(name="genes", group="sources", code_version="1", upstream=(), sources=(),
                         config_sections=("scoring",), partitioned=False)
LAYER = CheckpointedSpec(name="layer", group="evidence", code_version="1", upstream=("genes",), sources=(),
                         config_sections=("scoring",), partitioned=True)
SPECS = {"genes": GENES, "layer": LAYER}


def build_store(path: Path, checkpoints: int, pipeline: PipelineConfig, rows: int = 20_000) -> PipelineStore:
    """A store with exactly `checkpoints` checkpoints: 9 real ones, the rest filler rows."""
    store = PipelineStore(path)
    genes = mixed_frame(rows, seed=1)
    store.save_dataframe(genes, "genes", schema="sources", provenance=_provenance(pipeline, "genes"))
    inputs = FingerprintInputs.gather(store, pipeline, LAYER, SPECS, {})
    layer = mixed_frame(rows, seed=2).filter(pl.col("chromosome").is_in(SLICES))
    for key in SLICES:
        fingerprint = slice_fingerprint(LAYER, key, inputs)
        store.save_dataframe(layer.filter(pl.col("chromosome") == key), "layer", schema="evidence",
                             partition_key=key, fingerprint=fingerprint.value,
                             fingerprint_parts=fingerprint.parts, provenance=_provenance(pipeline, "layer"))
    filler = checkpoints - 1 - len(SLICES)
    record = json.dumps(_provenance(pipeline, "filler"), sort_keys=True)
    with store.transaction() as con:
        # 25 slices per filler table, as the chromosome-partitioned evidence tables have.
        keys = "[" + ", ".join(f"'{k}'" for k in CHROMOSOMES) + "]"
        con.execute(f"""
            INSERT INTO main._checkpoints
            SELECT 'evidence', 'filler_' || (i // 25), {keys}[(i % 25) + 1], now(), 1000, 'filler',
                   sha256(i::VARCHAR), '{{}}', sha256('c' || i), '[["a", "VARCHAR"]]', 'run'
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
    tracker = ProvenanceTracker.from_config(pipeline, run_id="bench", asset_key=asset, code_version="1")
    tracker.step("compute", seconds=0.1, rows=20_000)
    return tracker.to_dict()


def operations(store: PipelineStore, pipeline: PipelineConfig) -> dict[str, Callable[[], object]]:
    """The calls a checkpointed rerun makes, each bound to this store."""
    slice_checkpoint = store.get_checkpoint("layer", schema="evidence", partition_key=SLICES[2])
    inputs = FingerprintInputs.gather(store, pipeline, LAYER, SPECS, {})
    parts = slice_fingerprint(LAYER, SLICES[2], inputs).parts

    def skip_decision() -> None:
        # What checkpointed._run does for one partitioned asset before deciding not to run its body.
        with store.session():
            gathered = FingerprintInputs.gather(store, pipeline, LAYER, SPECS, {})
            existing = store.get_checkpoints([LAYER.ref.slice(k) for k in SLICES])
            checkpoints = [existing[LAYER.ref.slice(k)] for k in SLICES]
            reasons = decide_all(store, checkpoints, [slice_fingerprint(LAYER, k, gathered) for k in SLICES])
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


def decide_all(store: PipelineStore, checkpoints: list, fingerprints: list) -> list[str | None]:
    """decide() over all slices, whether it takes one slice (first core) or a list (batched verification)."""
    if hasattr(store, "verify_checkpoints"):
        return decide(store, checkpoints, fingerprints, False)
    return [decide(store, c, f, False) for c, f in zip(checkpoints, fingerprints)]


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
