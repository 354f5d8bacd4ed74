"""Benchmarks 3, 4 and 6 through the dagster CLI: first run per group, checkpointed rerun, partitioned backfill."""

import tempfile
from pathlib import Path

from bench.common import Result, Sample
from bench.pipeline_cli import (REAL_MODULE, TRIVIAL_MODULE, Workspace, real_graph, selection, stages)

RERUN_GOAL = 1.3
PEAK_RSS_GOAL_MB = 2048


def first_run_by_group(real: Workspace, graph: list[dict]) -> tuple[list[Result], Path]:
    """Materialize group by group into an empty store; per stage wall time and peak RSS of its process.

    Returns the rows and a snapshot of the store taken just before the first partitioned stage.
    """
    results, snapshot = [], real.root / "before_partitioned.duckdb"
    for name, nodes in stages(graph):
        select, partitions = selection(nodes)
        if partitions and not snapshot.exists():
            real.snapshot(snapshot)
        run = real.materialize(REAL_MODULE, select, partitions)
        label = f"{len(nodes)} asset(s)" + (f", partitions {partitions}" if partitions else "")
        results.append(Result(f"first run, group {name}: wall time", Sample([run.seconds]),
                              ours_label=f"dagster asset materialize of {label}",
                              note="one process per group, in topological order, empty store"))
        results.append(Result(f"first run, group {name}: peak RSS", Sample([run.peak_rss_mb]), unit="MB",
                              goal=PEAK_RSS_GOAL_MB, goal_unit="MB",
                              ours_label=f"ru_maxrss of the CLI process materializing {label}"))
    return results, snapshot


def checkpointed_rerun(real: Workspace, trivial: Workspace, repeats: int) -> Result:
    """Every asset again with nothing changed, against as many trivial assets of the same shape."""
    trivial.materialize(TRIVIAL_MODULE, "*")  # warm-up: the real side has had its first run
    ours, floor = [], []
    for i in range(repeats):
        pair = [lambda: ours.append(real.materialize(REAL_MODULE, "*").seconds),
                lambda: floor.append(trivial.materialize(TRIVIAL_MODULE, "*").seconds)]
        for run in (pair if i % 2 == 0 else pair[::-1]):
            run()
    return Result("checkpointed rerun of every asset (CLI)", Sample(ours), Sample(floor), goal=RERUN_GOAL,
                  ours_label="dagster asset materialize --select '*' --partition-range 1...MT -m usher_assets.definitions, "
                             "after a full run",
                  baseline_label="the same CLI on bench/trivial_defs.py: as many no-op assets, same deps, same "
                                 "partitioning, single-run backfill policy, in-process executor",
                  note="wall time of the whole CLI process (start-up and definitions load included)")


def partitioned_backfill(real: Workspace, graph: list[dict], snapshot: Path, repeats: int) -> Result:
    """All chromosome-partitioned assets over 1...MT: a first run from the pre-evidence store, then a rerun."""
    nodes = [n for n in graph if n["partitioned"]]
    select, partitions = selection(nodes)
    first, again = [], []
    for _ in range(repeats):
        real.restore(snapshot)
        first.append(real.materialize(REAL_MODULE, select, partitions).seconds)
        again.append(real.materialize(REAL_MODULE, select, partitions).seconds)
    return Result(f"partitioned backfill ({len(nodes)} assets x 25 chromosomes): rerun vs first run",
                  Sample(again), Sample(first),
                  ours_label="rerun with nothing changed", baseline_label="first run of the same selection",
                  note="single-run backfill, one CLI process each; store restored before each first run")


def bench_pipeline(rerun_repeats: int, backfill_repeats: int, workdir: Path | None = None) -> list[Result]:
    with tempfile.TemporaryDirectory(dir=workdir, prefix="bench_cli_") as tmp:
        real, trivial = Workspace(Path(tmp), "real"), Workspace(Path(tmp), "trivial")
        graph = real_graph(real)
        trivial.graph_path.write_text(real.graph_path.read_text())
        results, snapshot = first_run_by_group(real, graph)
        results.append(checkpointed_rerun(real, trivial, rerun_repeats))
        results.append(partitioned_backfill(real, graph, snapshot, backfill_repeats))
    return results


if __name__ == "__main__":
    for r in bench_pipeline(2, 1):
        ratio = f" ratio {r.ratio_min:.2f}/{r.ratio_median:.2f}" if r.baseline else ""
        print(f"{r.benchmark}: {r.ours.values} {r.baseline.values if r.baseline else ''}{ratio}")
