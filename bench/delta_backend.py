"""Issue 15: the Delta backend. Four writer processes at once against the same writes on one DuckDB file, and the
fully checkpointed rerun of the pipeline on Delta against Dagster's floor for the same graph shape.

`python bench/delta_backend.py write BACKEND LOCATION NAME ROWS` is one writer: its own table whole, and its slice
of a table all writers share.
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, Sample, paired  # noqa: E402
from bench.pipeline_cli import REAL_MODULE, TRIVIAL_MODULE, Workspace  # noqa: E402

WRITERS = 4
WRITER_GOAL = 0.5  # at least 2x faster wall time than the same writes serialized on one DuckDB file
RERUN_GOAL = 1.3


def write(backend: str, location: str, name: str, rows: int) -> None:
    from usher_assets.storage.sql import Slice, TableRef, literal
    from usher_assets.storage.store import open_store

    store = open_store(location, backend, lock_timeout=600)
    data = pl.DataFrame({"writer": [name] * rows, "i": np.arange(rows),
                         "value": np.random.default_rng(sum(map(ord, name))).random(rows)})
    store.save(data, TableRef("main", f"own_{name}"), None, {None: (name, {})})
    store.save(data, TableRef("main", "shared"), [Slice(name, f"writer = {literal(name)}")], {name: (name, {})})


def writers_seconds(backend: str, location: Path, rows: int) -> float:
    """Wall time of WRITERS processes started together, from the first start to the last exit."""
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, __file__, "write", backend, str(location), f"w{i}", str(rows)])
             for i in range(WRITERS)]
    codes = [p.wait(timeout=1800) for p in procs]
    if any(codes):
        raise RuntimeError(f"{backend} writers failed: exit codes {codes}")
    return time.perf_counter() - started


def concurrent_writers(rows: int, repeats: int, workdir: Path | None) -> Result:
    delta, duck = [], []
    with tempfile.TemporaryDirectory(dir=workdir, prefix="bench_writers_") as tmp:
        for i in range(repeats):
            runs = [lambda: delta.append(writers_seconds("delta", Path(tmp) / f"delta{i}", rows)),
                    lambda: duck.append(writers_seconds("duckdb", Path(tmp) / f"duck{i}.duckdb", rows))]
            for run in (runs if i % 2 == 0 else runs[::-1]):
                run()
    return Result(f"{WRITERS} concurrent writers x {rows:,} rows (own table + slice of a shared table), wall time",
                  Sample(delta), Sample(duck), goal=WRITER_GOAL,
                  ours_label=f"{WRITERS} processes on storage backend delta (one Delta table per asset)",
                  baseline_label=f"the same {WRITERS} processes on one DuckDB file (its lock serializes the saves)",
                  note="whole processes, start-up (about 1 s of imports each) included; fresh store each repeat")


def delta_rerun(repeats: int, workdir: Path | None) -> Result:
    with tempfile.TemporaryDirectory(dir=workdir, prefix="bench_delta_cli_") as tmp:
        from bench.pipeline_cli import real_graph

        real, trivial = Workspace(Path(tmp), "real", backend="delta"), Workspace(Path(tmp), "trivial")
        real_graph(real)
        trivial.graph_path.write_text(real.graph_path.read_text())
        first = real.materialize(REAL_MODULE, "*")
        trivial.materialize(TRIVIAL_MODULE, "*")
        ours, floor = [], []
        for i in range(repeats):
            runs = [lambda: ours.append(real.materialize(REAL_MODULE, "*").seconds),
                    lambda: floor.append(trivial.materialize(TRIVIAL_MODULE, "*").seconds)]
            for run in (runs if i % 2 == 0 else runs[::-1]):
                run()
    return Result("checkpointed rerun of every asset (CLI) on storage backend delta, wall time", Sample(ours),
                  Sample(floor), goal=RERUN_GOAL,
                  ours_label="dagster asset materialize --select '*' --partition-range 1...MT on a delta config, "
                             f"after a full run ({first.seconds:.1f} s)",
                  baseline_label="the same CLI on bench/trivial_defs.py (no-op assets of the same graph shape)",
                  note="whole CLI process; the index of every table is folded from the Delta logs once per process")


INDEX_TABLES, INDEX_RUNS, INDEX_SLICES = 8, 20, 25


def grown_store(root: Path, tables: int, runs: int, slices: int) -> None:
    """`tables` tables after `runs` runs, each run one commit per table that rewrites all `slices` slices."""
    from usher_assets.storage.sql import Slice, TableRef
    from usher_assets.storage.store import open_store

    store = open_store(str(root), "delta")
    keys = [str(k) for k in range(slices)]
    for run in range(runs):
        data = pl.DataFrame({"key": keys, "run": [run] * slices})
        for t in range(tables):
            store.save(data, TableRef("main", f"t{t}"), [Slice(k, f"key = '{k}'") for k in keys],
                       {k: (f"run {run}", {"run": run}) for k in keys})


def index_open(repeats: int, workdir: Path | None) -> Result:
    import shutil

    from usher_assets.storage.delta_store import DeltaStore

    with tempfile.TemporaryDirectory(dir=workdir, prefix="bench_delta_index_") as tmp:
        root = Path(tmp) / "delta"
        grown_store(root, INDEX_TABLES, INDEX_RUNS, INDEX_SLICES)
        shutil.copytree(root / "_index", Path(tmp) / "index")

        def open_store(with_index: bool) -> float:
            shutil.rmtree(root / "_index", ignore_errors=True)
            if with_index:
                shutil.copytree(Path(tmp) / "index", root / "_index")
            started = time.perf_counter()
            with DeltaStore(root).connect() as con:
                con.execute("SELECT count(*) FROM main._checkpoints").fetchone()
            return time.perf_counter() - started

        ours, baseline = paired(lambda i: open_store(True), lambda i: open_store(False), repeats)
    return Result(f"a new process opens a Delta store of {INDEX_TABLES} tables x {INDEX_RUNS} runs "
                  f"({INDEX_SLICES} slices each), wall time", ours, baseline,
                  ours_label="from each table's saved index entry, checked against its newest commit",
                  baseline_label="the same store with the index removed: every commit of every log folded",
                  note="in-process, a new DeltaStore each time; the fold grows with the log, the indexed open does not")


def bench_delta(repeats: int, writer_rows: int, workdir: Path | None = None) -> list[Result]:
    return [concurrent_writers(writer_rows, repeats, workdir), delta_rerun(repeats, workdir),
            index_open(max(repeats, 5), workdir)]


if __name__ == "__main__":
    if sys.argv[1:2] == ["write"]:
        write(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        for r in bench_delta(2, 1_000_000):
            print(f"{r.benchmark}: {r.ours.values} vs {r.baseline.values} ratio {r.ratio_min:.2f}/{r.ratio_median:.2f}")
