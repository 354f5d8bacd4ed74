"""Shared benchmark pieces: paired timing with min/median, the result row, the mixed test frame, the machine."""

import os
import platform
import statistics
import time
from dataclasses import dataclass
from importlib import metadata
from typing import Callable

import numpy as np
import polars as pl

LIBRARIES = ("dagster", "dagster-duckdb", "dagster-duckdb-pandas", "dagster-duckdb-polars", "duckdb", "polars",
             "pyarrow", "pandas")


@dataclass
class Sample:
    """Several measurements of one thing (seconds, unless the Result says otherwise)."""

    values: list[float]

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)


@dataclass
class Result:
    """One row of RESULTS.md: ours against a baseline measured in the same process or run.

    Repeats are paired (ours and the baseline back to back, the order alternating), so each repeat
    gives a ratio ours/baseline; `ratio_min` and `ratio_median` are the least and the median of those,
    and a ratio goal is judged on the median. A row with an absolute goal (`goal_unit` set, e.g. peak
    memory) is judged on the largest value of `ours` instead.
    """

    benchmark: str
    ours: Sample
    baseline: Sample | None = None
    goal: float | None = None  # largest acceptable ratio, or value in goal_unit
    goal_unit: str | None = None  # None: the goal is a ratio
    unit: str = "s"
    note: str = ""
    ours_label: str = ""
    baseline_label: str = ""

    @property
    def ratios(self) -> list[float]:
        return [] if self.baseline is None else [o / b for o, b in zip(self.ours.values, self.baseline.values)]

    @property
    def ratio_min(self) -> float | None:
        return min(self.ratios) if self.ratios else None

    @property
    def ratio_median(self) -> float | None:
        return statistics.median(self.ratios) if self.ratios else None

    @property
    def met(self) -> bool | None:
        if self.goal is None:
            return None
        if self.goal_unit is not None:
            return max(self.ours.values) <= self.goal
        return self.ratio_median <= self.goal


def time_call(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def paired(ours: Callable[[int], float], baseline: Callable[[int], float], repeats: int) -> tuple[Sample, Sample]:
    """Alternate ours and baseline (swapping who goes first each repeat), so drift hits both alike.

    Each callable takes the repeat index and returns the seconds it measured itself (so set-up such as
    making fresh files stays outside the timing).
    """
    mine, theirs = [], []
    for i in range(repeats):
        if i % 2 == 0:
            mine.append(ours(i))
            theirs.append(baseline(i))
        else:
            theirs.append(baseline(i))
            mine.append(ours(i))
    return Sample(mine), Sample(theirs)


def mixed_frame(rows: int, seed: int = 7) -> pl.DataFrame:
    """Ints, floats, strings, a boolean and a date, with about 10% nulls in the nullable columns."""
    rng = np.random.default_rng(seed)
    ids = np.arange(rows, dtype=np.int64)
    null = rng.random(rows) < 0.10
    symbols = pl.Series("gene_symbol", ids % 50_000).cast(pl.String)
    frame = pl.DataFrame({
        "row_id": ids,
        "entrez_id": pl.Series(rng.integers(1, 10**6, rows)).set(pl.Series(null), None),
        "score": pl.Series(rng.random(rows)).set(pl.Series(rng.random(rows) < 0.10), None),
        "tpm": rng.lognormal(1.0, 2.0, rows),
        "gene_symbol": ("G" + symbols).set(pl.Series(rng.random(rows) < 0.10), None),
        "chromosome": pl.Series(rng.integers(0, 25, rows)).replace_strict(
            list(range(25)), [str(c) for c in range(1, 23)] + ["X", "Y", "MT"], return_dtype=pl.String),
        "is_known": pl.Series(rng.random(rows) < 0.01),
        "evidence_count": pl.Series(rng.integers(0, 7, rows), dtype=pl.Int32),
    })
    return frame


def machine() -> dict[str, str]:
    """CPU model, cores, memory and the library versions the figures were measured with."""
    cpu = platform.processor() or "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": str(os.cpu_count()), "memory": memory,
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version()}
    for name in LIBRARIES:
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info[name] = "not installed"
    return info
