"""Running `dagster asset materialize` in a subprocess against a private store and DAGSTER_HOME.

Each workspace has its own DuckDB file, outputs and Dagster instance under one temp directory, so
benchmarks never touch the repo's .usher/ or .dagster_home/.
"""

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)
DAGSTER = PYTHON.parent / "dagster"
REAL_MODULE = "usher_assets.definitions"
TRIVIAL_MODULE = "bench.trivial_defs"
TRIVIAL_CHECKED_MODULE = "bench.trivial_checked_defs"
ALL_PARTITIONS = "1...MT"


# Runs the command from a small fresh process and reports its child's figures. Measuring from this
# (large) process would be wrong: Linux carries a process's peak RSS across exec, so a child forked
# from a 2 GB parent reports at least 2 GB whatever it then does.
MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call(sys.argv[2:])
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as out:
    json.dump({"returncode": code, "seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
               "maxrss_kb": usage.ru_maxrss}, out)
"""


@dataclass
class CliRun:
    seconds: float
    cpu_seconds: float  # user + system, the process and its children
    peak_rss_mb: float
    returncode: int
    log_path: Path


class CliRunError(RuntimeError):
    """A benchmarked dagster command failed; the message holds the end of its log."""


class Workspace:
    """A private DAGSTER_HOME, pipeline config and store (a DuckDB file, or Delta tables) under `root`."""

    def __init__(self, root: Path, name: str = "real", backend: str = "duckdb"):
        self.root = Path(root) / name
        self.home = self.root / "dagster_home"
        self.database = self.root / "usher.duckdb"
        self.config_path = self.root / "config.yaml"
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "dagster.yaml").write_text(yaml.safe_dump({
            "storage": {"sqlite": {"base_dir": str(self.home / "storage")}},
            "local_artifact_storage": {"module": "dagster._core.storage.root", "class": "LocalArtifactStorage",
                                       "config": {"base_dir": str(self.home)}},
            "telemetry": {"enabled": False},
        }))
        config = yaml.safe_load((REPO / "usher_assets" / "default_config.yaml").read_text())
        config["storage"] |= {"database": str(self.database), "output_dir": str(self.root / "outputs"),
                              "download_dir": str(self.root / "downloads"), "backend": backend,
                              "delta_root": str(self.root / "delta")}
        self.config_path.write_text(yaml.safe_dump(config))
        self.graph_path = self.root / "graph.json"
        self.runs = 0
        self.cwd = REPO  # dagster -m imports from here first

    def env(self) -> dict[str, str]:
        env = dict(os.environ, DAGSTER_HOME=str(self.home), USHER_CONFIG=str(self.config_path),
                   PYTHONWARNINGS="ignore", BENCH_TRIVIAL_GRAPH=str(self.graph_path))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
        return env

    def materialize(self, module: str, select: str, partition_range: str | None = ALL_PARTITIONS) -> CliRun:
        """Run the CLI once: wall time of the whole process, its CPU time and peak RSS."""
        args = [str(DAGSTER), "asset", "materialize", "--select", select, "-m", module]
        if partition_range:
            args += ["--partition-range", partition_range]
        self.runs += 1
        log_path = self.root / f"run_{self.runs:03d}.log"
        figures_path = self.root / f"run_{self.runs:03d}.json"
        with open(log_path, "wb") as log:
            subprocess.run([str(PYTHON), "-c", MEASURE, str(figures_path), *args], cwd=self.cwd, env=self.env(),
                           stdout=log, stderr=subprocess.STDOUT, check=False)
        figures = json.loads(figures_path.read_text())
        run = CliRun(figures["seconds"], figures["cpu_seconds"], figures["maxrss_kb"] / 1024, figures["returncode"],
                     log_path)
        if run.returncode != 0:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
            raise CliRunError(f"{' '.join(args)} exited {run.returncode}; last lines of {log_path}:\n{tail}")
        return run


def last_run_events(workspace: Workspace) -> dict[str, int]:
    """Events Dagster stored for the newest run in this workspace, by type ("log" for log lines).

    Every stored event is a SQLite commit, so the count explains much of a run's fixed cost.
    """
    shards = sorted((workspace.home / "storage" / "history" / "runs").glob("*-*-*-*-*.db"),
                    key=lambda p: p.stat().st_mtime)
    if not shards:
        return {}
    con = sqlite3.connect(shards[-1])
    try:
        rows = con.execute("SELECT coalesce(dagster_event_type, 'log'), count(*) FROM event_logs GROUP BY 1").fetchall()
    finally:
        con.close()
    return dict(sorted(rows, key=lambda r: -r[1]))


def real_graph(workspace: Workspace) -> list[dict]:
    """The real asset graph in topological order, read in a subprocess so this process stays small.

    Also written to the workspace's graph.json, which trivial_defs reads.
    """
    code = (
        "import json, warnings; warnings.simplefilter('ignore')\n"
        f"from {REAL_MODULE} import defs\n"
        "g = defs.resolve_asset_graph()\n"
        "print(json.dumps([{'name': k.to_user_string(), 'group': g.get(k).group_name,\n"
        "    'partitioned': g.get(k).partitions_def is not None,\n"
        "    'deps': sorted(p.to_user_string() for p in g.get(k).parent_keys),\n"
        "    'checks': sorted(c.name for c in g.get(k).check_keys)}\n"
        "    for k in g.toposorted_asset_keys]))\n")
    out = subprocess.run([str(PYTHON), "-c", code], cwd=REPO, env=workspace.env(), capture_output=True,
                         text=True, check=True)
    graph = json.loads(out.stdout.strip().splitlines()[-1])
    workspace.graph_path.write_text(json.dumps(graph, indent=1))
    return graph


def stages(graph: list[dict]) -> list[tuple[str, list[dict]]]:
    """Runs of consecutive same-group assets in topological order; a group seen again gets a second stage."""
    result: list[tuple[str, list[dict]]] = []
    for node in graph:
        if result and result[-1][0] == node["group"]:
            result[-1][1].append(node)
        else:
            result.append((node["group"], [node]))
    seen: dict[str, int] = {}
    named = []
    for group, nodes in result:
        seen[group] = seen.get(group, 0) + 1
        named.append((group if seen[group] == 1 else f"{group} ({seen[group]})", nodes))
    return named


def selection(nodes: list[dict]) -> tuple[str, str | None]:
    """CLI --select for these assets, and the partition range if any of them is partitioned."""
    return ",".join(n["name"] for n in nodes), ALL_PARTITIONS if any(n["partitioned"] for n in nodes) else None
