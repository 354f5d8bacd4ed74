"""Benchmarks 3, 4 and 6 through the dagster CLI: first run per group, checkpointed rerun, partitioned backfill."""

import tempfile
from pathlib import Path

from bench.common import Result, Sample
from bench.pipeline_cli import (REAL_MODULE, TRIVIAL_MODULE, Workspace, last_run_events, real_graph, selection,
                                stages)
from usher_assets.schemas import CHROMOSOMES

RERUN_GOAL = 1.3
PEAK_RSS_GOAL_MB = 2048


def first_run_by_group(real: Workspace, graph: list[dict]) -> list[Result]:
    """Materialize group by group into an empty store; per stage wall time and peak RSS of its process."""
    results, runs = [], []
    for name, nodes in stages(graph):
        select, partitions = selection(nodes)
        run = real.materialize(REAL_MODULE, select, partitions)
        runs.append(run)
        label = f"{len(nodes)} asset(s)" + (f", partitions {partitions}" if partitions else "")
        results.append(Result(f"first run, group {name}: wall time", Sample([run.seconds]),
                              ours_label=f"dagster asset materialize of {label}",
                              note=f"one process per group, in topological order, empty store; "
                                   f"CPU {run.cpu_seconds:.1f} s"))
        results.append(Result(f"first run, group {name}: peak RSS", Sample([run.peak_rss_mb]), unit="MB",
                              goal=PEAK_RSS_GOAL_MB, goal_unit="MB",
                              ours_label=f"ru_maxrss of the CLI process materializing {label}"))
    results.append(Result("first run, all groups: wall time (sum)", Sample([sum(r.seconds for r in runs)]),
                          ours_label=f"the {len(runs)} group runs above",
                          note=f"CPU {sum(r.cpu_seconds for r in runs):.1f} s; "
                               f"largest peak RSS {max(r.peak_rss_mb for r in runs):,.0f} MB"))
    return results


def forget_partitioned(database: Path, nodes: list[dict]) -> None:
    """Delete every slice of the partitioned assets, so their next run is a first run."""
    from usher_assets.storage.store import PipelineStore

    store = PipelineStore(database)
    with store.session():
        for node in nodes:
            for key in CHROMOSOMES:
                store.delete_checkpoint(node["name"], schema=node["group"], partition_key=key)


def checkpointed_rerun(real: Workspace, trivial: Workspace, repeats: int) -> list[Result]:
    """Every asset again with nothing changed, against as many trivial assets of the same shape.

    Two rows from the same runs: wall time (the goal) and CPU time, which other load on the machine
    disturbs far less.
    """
    trivial.materialize(TRIVIAL_MODULE, "*")  # warm-up: the real side has had its first run
    ours, floor = [], []
    for i in range(repeats):
        pair = [lambda: ours.append(real.materialize(REAL_MODULE, "*")),
                lambda: floor.append(trivial.materialize(TRIVIAL_MODULE, "*"))]
        for run in (pair if i % 2 == 0 else pair[::-1]):
            run()
    events = event_difference(last_run_events(real), last_run_events(trivial))
    labels = dict(
        ours_label="dagster asset materialize --select '*' --partition-range 1...MT -m usher_assets.definitions, "
                   "after a full run",
        baseline_label="the same CLI on bench/trivial_defs.py: as many no-op assets, same deps, same "
                       "partitioning, single-run backfill policy, in-process executor")
    return [
        Result("checkpointed rerun of every asset (CLI), wall time", Sample([r.seconds for r in ours]),
               Sample([r.seconds for r in floor]), goal=RERUN_GOAL,
               note=f"whole CLI process: start-up, definitions load, run; {events}", **labels),
        Result("checkpointed rerun of every asset (CLI), CPU time", Sample([r.cpu_seconds for r in ours]),
               Sample([r.cpu_seconds for r in floor]),
               note="user + system seconds of the same runs", **labels),
    ]


def event_difference(ours: dict[str, int], floor: dict[str, int]) -> str:
    """E.g. "Dagster events stored per run: 580 vs 445 (+30 HANDLED_OUTPUT, +30 log, ...)"."""
    extra = {k: ours.get(k, 0) - floor.get(k, 0) for k in ours.keys() | floor.keys()}
    extra = {k: v for k, v in sorted(extra.items(), key=lambda kv: -abs(kv[1])) if v}
    detail = ", ".join(f"{v:+d} {k}" for k, v in extra.items())
    return f"Dagster events stored per run: {sum(ours.values())} vs {sum(floor.values())}" + (f" ({detail})" if detail else "")


def partitioned_backfill(real: Workspace, graph: list[dict], repeats: int) -> Result:
    """All chromosome-partitioned assets over 1...MT: a first run (their slices deleted), then a rerun."""
    nodes = [n for n in graph if n["partitioned"]]
    select, partitions = selection(nodes)
    first, again = [], []
    for _ in range(repeats):
        forget_partitioned(real.database, nodes)
        first.append(real.materialize(REAL_MODULE, select, partitions).seconds)
        again.append(real.materialize(REAL_MODULE, select, partitions).seconds)
    return Result(f"partitioned backfill ({len(nodes)} assets x 25 chromosomes): rerun vs first run",
                  Sample(again), Sample(first),
                  ours_label="rerun with nothing changed", baseline_label="first run of the same selection",
                  note="wall time; single-run backfill over 1...MT, one CLI process each; before each first "
                       "run every slice of these assets is deleted from the fully built store")


def bench_pipeline(rerun_repeats: int, backfill_repeats: int, workdir: Path | None = None) -> list[Result]:
    with tempfile.TemporaryDirectory(dir=workdir, prefix="bench_cli_") as tmp:
        real, trivial = Workspace(Path(tmp), "real"), Workspace(Path(tmp), "trivial")
        graph = real_graph(real)
        trivial.graph_path.write_text(real.graph_path.read_text())
        results = first_run_by_group(real, graph)
        results += checkpointed_rerun(real, trivial, rerun_repeats)
        results.append(partitioned_backfill(real, graph, backfill_repeats))
    return results


if __name__ == "__main__":
    for r in bench_pipeline(2, 1):
        ratio = f" ratio {r.ratio_min:.2f}/{r.ratio_median:.2f}" if r.baseline else ""
        print(f"{r.benchmark}: {r.ours.values} {r.baseline.values if r.baseline else ''}{ratio}")
