"""Benchmark 2: one asset writing a frame and one reading it, in dagster.materialize, per I/O manager."""

import gc
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import dagster as dg
import polars as pl

from bench.common import Result, Sample, mixed_frame
from usher_assets.storage.io_manager import DuckDBIOManager


# Dagster's console logger at DEBUG prints ~20 lines per run; failures still raise.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def producer_consumer(frame: Any, frame_type: type) -> list[dg.AssetsDefinition]:
    """`mixed` returns the frame through the I/O manager; `mixed_rows` loads it and checks its length."""
    rows = len(frame)

    @dg.asset(name="mixed")
    def mixed() -> frame_type:
        return frame

    @dg.asset(name="mixed_rows")
    def mixed_rows(mixed: frame_type) -> dg.MaterializeResult:
        if len(mixed) != rows:
            raise AssertionError(f"read back {len(mixed)} rows, expected {rows}")
        return dg.MaterializeResult(metadata={"rows": len(mixed)})

    return [mixed, mixed_rows]


def materialize_seconds(assets: list, io_manager: dg.ConfigurableIOManager) -> float:
    gc.collect()
    started = time.perf_counter()
    result = dg.materialize(assets, resources={"io_manager": io_manager}, raise_on_error=True, run_config=QUIET)
    seconds = time.perf_counter() - started
    if not result.success:
        raise AssertionError("materialize failed")
    return seconds


def stock_managers() -> tuple[dict[str, Callable[[str], dg.ConfigurableIOManager]], list[str]]:
    """dagster-duckdb's I/O managers that import with the installed versions, and those that do not."""
    managers, missing = {}, []
    try:
        from dagster_duckdb_pandas import DuckDBPandasIOManager
        managers["DuckDBPandasIOManager"] = lambda db: DuckDBPandasIOManager(database=db)
    except ImportError as exc:
        missing.append(f"DuckDBPandasIOManager: not importable ({exc}); pip install dagster-duckdb-pandas")
    try:
        from dagster_duckdb_polars import DuckDBPolarsIOManager
        managers["DuckDBPolarsIOManager"] = lambda db: DuckDBPolarsIOManager(database=db)
    except ImportError as exc:
        missing.append(f"DuckDBPolarsIOManager: not importable ({exc}); pip install dagster-duckdb-polars")
    return managers, missing


def bench_io_managers(rows: int, repeats: int, workdir: Path | None = None) -> tuple[list[Result], list[str]]:
    """Ours against each stock manager, alternating, fresh files each time; returns rows and failures."""
    frame = mixed_frame(rows)
    pandas_frame = frame.to_pandas()  # outside the timing: the stock pandas manager gets pandas for free
    ours_assets = producer_consumer(frame, pl.DataFrame)
    managers, problems = stock_managers()
    results = []
    with tempfile.TemporaryDirectory(dir=workdir, prefix="bench_io_") as tmp:
        counter = iter(range(10**6))

        def fresh() -> str:
            return str(Path(tmp) / f"db_{next(counter)}.duckdb")

        for name, make in managers.items():
            is_pandas = "Pandas" in name
            stock_assets = producer_consumer(pandas_frame if is_pandas else frame,
                                             type(pandas_frame) if is_pandas else pl.DataFrame)
            try:
                materialize_seconds(stock_assets, make(fresh()))
            except Exception as exc:  # a stock manager broken on these versions is a finding, not a crash
                problems.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
                continue
            ours, theirs = [], []
            for i in range(repeats):
                pair = [lambda: ours.append(materialize_seconds(ours_assets, DuckDBIOManager(database=fresh()))),
                        lambda: theirs.append(materialize_seconds(stock_assets, make(fresh())))]
                for run in (pair if i % 2 == 0 else pair[::-1]):
                    run()
            results.append(Result(
                f"I/O manager write+read in materialize, {rows:,} rows, vs {name}", Sample(ours), Sample(theirs),
                ours_label="DuckDBIOManager (checkpoint + provenance, polars in and out)",
                baseline_label=f"dagster-duckdb {name}",
                note=("the stock manager is handed a pandas frame made outside the timing" if is_pandas
                      else "same polars frame") + "; two assets, fresh file per repeat"))
    return results, problems


if __name__ == "__main__":
    res, probs = bench_io_managers(1_000_000, 3)
    for r in res:
        print(r.benchmark, [round(v, 3) for v in r.ours.values], [round(v, 3) for v in r.baseline.values],
              round(r.ratio_min, 2), round(r.ratio_median, 2))
    print(probs)
