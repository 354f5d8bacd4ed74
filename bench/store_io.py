"""Benchmark 1: PipelineStore save_dataframe + load_dataframe against raw DuckDB on the same frame."""

import gc
import tempfile
import time
from contextlib import nullcontext
from functools import partial
from pathlib import Path

import duckdb
import polars as pl

from bench.common import Result, mixed_frame, paired
from usher_assets.storage.store import PipelineStore

GOAL = 1.15


def store_roundtrip(frame: pl.DataFrame, path: Path, one_session: bool = False) -> tuple[float, pl.DataFrame]:
    """Seconds for save + load through PipelineStore into a fresh file, and the frame read back.

    Plain calls open a connection each (the API as a script uses it); `one_session` shares one, as a
    pipeline run does.
    """
    started = time.perf_counter()
    store = PipelineStore(path)
    with store.session() if one_session else nullcontext():
        store.save_dataframe(frame, "mixed", "benchmark frame", schema="bench")
        back = store.load_dataframe("mixed", schema="bench")
    return time.perf_counter() - started, back


def duckdb_roundtrip(frame: pl.DataFrame, path: Path) -> tuple[float, pl.DataFrame]:
    """The floor: CREATE TABLE AS from the Arrow data, then con.sql(...).pl(), one connection."""
    started = time.perf_counter()
    incoming = frame.to_arrow()
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS bench")
        con.execute("CREATE TABLE bench.mixed AS SELECT * FROM incoming")
        back = con.sql("SELECT * FROM bench.mixed").pl()
    finally:
        con.close()
    return time.perf_counter() - started, back


def bench_store_io(rows: int, repeats: int, workdir: Path | None = None, one_session: bool = False) -> Result:
    """Alternate ours and the raw DuckDB floor, each into a fresh file, and check both read back all rows."""
    frame = mixed_frame(rows)
    with tempfile.TemporaryDirectory(dir=workdir, prefix="bench_store_") as tmp:
        def run(kind: str, roundtrip, i: int) -> float:
            path = Path(tmp) / f"{kind}_{i}.duckdb"
            gc.collect()
            seconds, back = roundtrip(frame, path)
            if back.height != rows:
                raise AssertionError(f"{kind} read back {back.height} rows, expected {rows}")
            del back
            path.unlink()
            return seconds

        ours, base = paired(lambda i: run("ours", partial(store_roundtrip, one_session=one_session), i),
                            lambda i: run("duckdb", duckdb_roundtrip, i), repeats)
    how = "in one store.session()" if one_session else "plain calls, a connection each"
    return Result(f"store write+read, {rows:,} rows, {'one session' if one_session else 'plain calls'}", ours, base,
                  goal=GOAL, ours_label=f"PipelineStore save_dataframe + load_dataframe ({how})",
                  baseline_label="raw DuckDB CREATE TABLE AS + con.sql().pl() on one connection",
                  note=f"{frame.width} mixed columns, ~10% nulls in 3; fresh file per repeat")


if __name__ == "__main__":
    for n in (1_000_000,):
        r = bench_store_io(n, 5)
        print(r.benchmark, [round(s, 3) for s in r.ours.seconds], [round(s, 3) for s in r.baseline.seconds],
              round(r.ratio_min, 3), round(r.ratio_median, 3))
