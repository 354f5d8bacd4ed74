"""Issue 14: a weekly_refresh tick that decides first, against the runs the schedule used to launch.

1. Nothing changed: the tick (skipped) against a full refresh run that reuses every slice (goal <= 0.1x).
2. One source file edited: the run the tick requests against a full refresh after the same kind of edit; the
   requested run must recompute exactly the edited source's downstream subgraph.

The tick is evaluated as the daemon's code server does, with the definitions already loaded: in a
subprocess (`python -m bench.launch_ticks --tick N`), timing only the evaluations. Runs go through the CLI.
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import Result, Sample
from bench.pipeline_cli import PYTHON, REAL_MODULE, REPO, Workspace

TICK_GOAL = 0.1
EDITED = "hpa_subcellular"
REMOVED_GENE = "PAFAH1B1"


def tick_main(repeats: int) -> None:
    """Print {"seconds": [...], "skip": ..., "selection": [...], "range": [...]} for `repeats` evaluations."""
    import warnings
    from datetime import datetime, timezone

    warnings.simplefilter("ignore")
    import dagster as dg

    from usher_assets.definitions import build_definitions
    from usher_assets.schedules import weekly_refresh

    defs = build_definitions()
    seconds, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        with dg.build_schedule_context(scheduled_execution_time=datetime.now(timezone.utc),
                                       repository_def=defs.get_repository_def(), resources=defs.resources) as context:
            result = weekly_refresh.evaluate_tick(context)
        seconds.append(time.perf_counter() - started)
    request = result.run_requests[0] if result.run_requests else None
    print(json.dumps({"seconds": seconds, "skip": result.skip_message,
                      "selection": [k.to_user_string() for k in request.asset_selection] if request else [],
                      "range": [request.tags.get("dagster/asset_partition_range_start"),
                                request.tags.get("dagster/asset_partition_range_end")] if request else None}))


def tick(workspace: Workspace, repeats: int) -> dict:
    out = subprocess.run([str(PYTHON), "-m", "bench.launch_ticks", "--tick", str(repeats)], cwd=REPO,
                         env=workspace.env(), capture_output=True, text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def computed_in_last_run(workspace: Workspace) -> set[str]:
    """Assets of the newest run whose materialization is not `checkpoint: reused`."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(workspace.home)) as instance:
        run = instance.get_runs(limit=1)[0]
        records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION,
                                               limit=10_000).records
    values: dict[str, set] = {}
    for record in records:
        m = record.event_log_entry.asset_materialization
        values.setdefault(m.asset_key.to_user_string(), set()).add(getattr(m.metadata.get("checkpoint"), "value", None))
    return {name for name, v in values.items() if v != {"reused"}}


def downstream(workspace: Workspace, name: str) -> set[str]:
    code = ("import json, warnings; warnings.simplefilter('ignore'); import dagster as dg\n"
            f"from {REAL_MODULE} import defs\n"
            f"keys = dg.AssetSelection.assets({name!r}).downstream().resolve(defs.resolve_asset_graph())\n"
            "print(json.dumps(sorted(k.to_user_string() for k in keys)))\n")
    out = subprocess.run([str(PYTHON), "-c", code], cwd=REPO, env=workspace.env(), capture_output=True, text=True,
                         check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def edit_source(workspace: Workspace, restore: bool) -> None:
    """Point the source at a copy without one gene's row (sha256 dropped), or back at the bundled file."""
    raw = yaml.safe_load(workspace.config_path.read_text())
    bundled = yaml.safe_load((REPO / "usher_assets" / "default_config.yaml").read_text())["sources"][EDITED]
    if restore:
        raw["sources"][EDITED] = bundled
    else:
        lines = (REPO / bundled["path"]).read_text(encoding="utf-8").splitlines(keepends=True)
        edited = workspace.root / "subcellular_location_edited.tsv"
        edited.write_text("".join(line for line in lines if line.split("\t")[1:2] != [REMOVED_GENE]), encoding="utf-8")
        raw["sources"][EDITED] = {**bundled, "path": str(edited), "sha256": None}
    workspace.config_path.write_text(yaml.safe_dump(raw))


def bench_launch(repeats: int, workdir: Path | None = None) -> list[Result]:
    with tempfile.TemporaryDirectory(dir=workdir, prefix="bench_launch_") as tmp:
        real = Workspace(Path(tmp), "real")
        real.materialize(REAL_MODULE, "*")  # first run: every slice checkpointed
        ticks, runs = [], []
        for _ in range(repeats):
            found = tick(real, 3)
            assert not found["selection"], f"nothing changed, yet the tick requested {found['selection']}"
            ticks.append(min(found["seconds"]))
            runs.append(real.materialize(REAL_MODULE, "*").seconds)
        skip = found["skip"]
        results = [Result("weekly_refresh tick, nothing changed, vs a fully reused refresh run", Sample(ticks),
                          Sample(runs), goal=TICK_GOAL,
                          ours_label="weekly_refresh.evaluate_tick with the definitions loaded (as in the code "
                                     "server): fingerprints and content-hash verification of every slice; skipped",
                          baseline_label="dagster asset materialize --select '*' --partition-range 1...MT, every "
                                         "slice reused (what the schedule launched before)",
                          note=f"skip reason: {skip}")]
        subgraph = downstream(real, EDITED)
        requested, full = [], []
        for _ in range(repeats):
            edit_source(real, restore=False)
            found = tick(real, 1)
            assert set(found["selection"]) == subgraph, (sorted(found["selection"]), sorted(subgraph))
            span = "...".join(found["range"]) if found["range"] and found["range"][0] else None
            requested.append(real.materialize(REAL_MODULE, ",".join(found["selection"]), span).seconds)
            computed = computed_in_last_run(real)
            assert computed == subgraph, f"requested run computed {sorted(computed)}, expected {sorted(subgraph)}"
            edit_source(real, restore=True)
            full.append(real.materialize(REAL_MODULE, "*").seconds)
            assert computed_in_last_run(real) == subgraph
        results.append(Result(
            f"run requested after one source edit ({EDITED}) vs a full refresh", Sample(requested), Sample(full),
            ours_label=f"the tick's request: exactly the {len(subgraph)} assets downstream of {EDITED} "
                       f"(checked: the run recomputed exactly those)",
            baseline_label="dagster asset materialize --select '*' after the same kind of edit (the file restored), "
                           "recomputing the same assets and reusing the rest",
            note="CLI wall time of each run; the tick itself is in the row above"))
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["--tick"]:
        tick_main(int(sys.argv[2]))
    else:
        for r in bench_launch(1):
            print(f"{r.benchmark}: {r.ours.values} vs {r.baseline.values}: {r.ratio_median:.3f}x")
