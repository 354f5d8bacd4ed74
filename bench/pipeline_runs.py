"""Benchmarks 3, 4 and 6 through the dagster CLI: first run per group, checkpointed rerun, partitioned backfill."""

import tempfile
from pathlib import Path

from bench.common import Result, Sample
from bench.pipeline_cli import (REAL_MODULE, TRIVIAL_CHECKED_MODULE, TRIVIAL_MODULE, Workspace, last_run_events,
                                real_graph, selection, stages)
from usher_assets.schemas import CHROMOSOMES

RERUN_GOAL = 1.2  # issue 11: at most 1.2x the trivial floor of the same graph shape
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


def checkpointed_rerun(real: Workspace, trivial: Workspace, checked: Workspace, repeats: int) -> list[Result]:
    """The fully checkpointed real graph through the CLI against Dagster's floor for the same graph shape.

    Two floors from the same repeats: trivial no-op assets (same deps, partitions, single-run backfills), and
    the same with no-op asset checks named as the real ones, since Dagster records three events per check on
    every run whether or not a body runs. Wall time (the goal) and CPU time, which other load disturbs less.
    """
    trivial.materialize(TRIVIAL_MODULE, "*")  # warm-up: the real side has had its first run
    checked.materialize(TRIVIAL_CHECKED_MODULE, "*")
    ours, floor, floor_checked = [], [], []
    for i in range(repeats):
        runs = [lambda: ours.append(real.materialize(REAL_MODULE, "*")),
                lambda: floor.append(trivial.materialize(TRIVIAL_MODULE, "*")),
                lambda: floor_checked.append(checked.materialize(TRIVIAL_CHECKED_MODULE, "*"))]
        for run in (runs if i % 2 == 0 else runs[::-1]):
            run()
    events = event_difference(last_run_events(real), last_run_events(trivial))
    events_checked = event_difference(last_run_events(real), last_run_events(checked))
    ours_label = "dagster asset materialize --select '*' --partition-range 1...MT -m usher_assets.definitions, " \
                 "after a full run"
    plain = ("the same CLI on bench/trivial_defs.py: as many no-op assets, same deps, same partitioning, "
             "single-run backfill policy, in-process executor")
    with_checks = plain.replace("bench/trivial_defs.py", "bench/trivial_checked_defs.py") + \
        ", plus no-op asset checks of the real checks' names"
    return [
        Result("checkpointed rerun of every asset (CLI), wall time", Sample([r.seconds for r in ours]),
               Sample([r.seconds for r in floor]), goal=RERUN_GOAL,
               note=f"whole CLI process: start-up, definitions load, run; {events}",
               ours_label=ours_label, baseline_label=plain),
        Result("checkpointed rerun of every asset (CLI) vs a floor with the same asset checks, wall time",
               Sample([r.seconds for r in ours]), Sample([r.seconds for r in floor_checked]), goal=RERUN_GOAL,
               note=f"what the checkpointing costs beyond Dagster's own check events; {events_checked}",
               ours_label=ours_label, baseline_label=with_checks),
        Result("checkpointed rerun of every asset (CLI), CPU time", Sample([r.cpu_seconds for r in ours]),
               Sample([r.cpu_seconds for r in floor]),
               note="user + system seconds of the same runs", ours_label=ours_label, baseline_label=plain),
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
        checked = Workspace(Path(tmp), "trivial_checked")
        graph = real_graph(real)
        for floor in (trivial, checked):
            floor.graph_path.write_text(real.graph_path.read_text())
        results = first_run_by_group(real, graph)
        results += checkpointed_rerun(real, trivial, checked, rerun_repeats)
        results.append(partitioned_backfill(real, graph, backfill_repeats))
    return results


if __name__ == "__main__":
    for r in bench_pipeline(2, 1):
        ratio = f" ratio {r.ratio_min:.2f}/{r.ratio_median:.2f}" if r.baseline else ""
        print(f"{r.benchmark}: {r.ours.values} {r.baseline.values if r.baseline else ''}{ratio}")
