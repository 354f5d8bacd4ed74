"""Run the real pipeline through the dagster CLI and read back what the Dagster instance recorded."""

import os
import subprocess
import time
from pathlib import Path

import dagster as dg

from local_services import VENV_BIN
from usher_assets.inspection.registry import registered_assets

FULL_RANGE = ["--select", "*", "--partition-range", "1...MT"]


def pipeline_env(dagster_home: Path, config_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI run against a tmp instance and a tmp pipeline config."""
    return os.environ | {"DAGSTER_HOME": str(dagster_home), "USHER_CONFIG": str(config_path),
                         "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"} | extra


def usher_cli(*args: str, config: Path | None = None, env: dict | None = None, cwd: Path | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess:
    """`usher-assets ARGS` in a subprocess, output captured: with `config`, `--config` and no USHER_CONFIG of this
    process; else `env` (a deployment's environment) as given."""
    if env is None:
        env = {k: v for k, v in os.environ.items() if k != "USHER_CONFIG"}
    command = [str(VENV_BIN / "usher-assets"), *args] + (["--config", str(config)] if config else [])
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def materialize_command(target: list[str], selection: list[str] = FULL_RANGE) -> list[str]:
    return [str(VENV_BIN / "dagster"), "asset", "materialize", *selection, *target]


def materialize_cli(env: dict, cwd: Path, target: list[str], timeout: float = 480,
                    selection: list[str] = FULL_RANGE) -> float:
    """`dagster asset materialize` over `selection` (every asset and chromosome); its wall time in seconds."""
    started = time.monotonic()
    result = subprocess.run(materialize_command(target, selection), env=env, cwd=cwd, capture_output=True,
                            text=True, timeout=timeout)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise AssertionError(f"dagster asset materialize exited {result.returncode} after {seconds:.0f} s:\n{tail}")
    return seconds


def all_asset_keys(defs: dg.Definitions) -> set[str]:
    return {key.to_user_string() for key in defs.resolve_all_asset_keys()}


def downstream_of(defs: dg.Definitions, names: set[str]) -> set[str]:
    """The named assets and everything that depends on them, from the definitions' asset graph."""
    selection = dg.AssetSelection.assets(*names).downstream()
    return {key.to_user_string() for key in selection.resolve(defs.resolve_asset_graph())}


def sources_readers(defs: dg.Definitions, source: str) -> set[str]:
    """The assets that declare reading `source` (their `sources_read` metadata)."""
    return {name for name, asset in registered_assets(defs).items()
            if source in (asset.assets_def.metadata_by_key[asset.key].get("sources_read") or [])}


def checkpoints_by_asset(instance: dg.DagsterInstance, run_id: str) -> dict[str, set[str]]:
    """Asset -> the `checkpoint` metadata values of its materializations in the run (one per partition)."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=10_000).records
    found: dict[str, set[str]] = {}
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        value = materialization.metadata.get("checkpoint")
        found.setdefault(materialization.asset_key.to_user_string(), set()).add(
            value.value if value is not None else "(no checkpoint metadata)")
    return found


def recomputed(checkpoints: dict[str, set[str]]) -> set[str]:
    """Assets whose body ran in the run: any materialization not marked reused."""
    return {name for name, values in checkpoints.items() if values != {"reused"}}


def latest_run(instance: dg.DagsterInstance) -> dg.DagsterRun:
    runs = instance.get_runs(limit=1)
    assert runs, f"no run recorded in the instance at {instance.root_directory}"
    return runs[0]


def reused_tables(log_text: str) -> set[str]:
    """Tables a run reused, from its one summary line ("checkpoints: N of M tables reused ...: a, b; computed: c")."""
    found: set[str] = set()
    for line in log_text.splitlines():
        _, marker, rest = line.partition("checkpoints: ")
        if not marker or "bodies not run" not in rest:
            continue
        _, _, names = rest.partition("bodies not run: ")
        names = names.split("; computed:")[0]
        found |= {n.strip() for n in names.split(",") if n.strip()}
    return found
