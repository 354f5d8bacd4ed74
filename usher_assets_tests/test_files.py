"""Where files go: instance storage under DAGSTER_HOME whatever the cwd, exports in the output dir, make clean."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import write_config
from usher_assets.config import PROJECT_ROOT

pytestmark = pytest.mark.slow
VENV_BIN = Path(sys.executable).parent
TRACKED = {"Makefile", "dagster.yaml", "usher.yaml"}
COUNT_RUNS = "import dagster as dg\nwith dg.DagsterInstance.get() as i: print(len(i.get_runs()))"


def repo_copy(directory: Path) -> Path:
    """A stand-in for the repo root: its Makefile and dagster.yaml, and a config keeping state inside it."""
    directory.mkdir()
    for name in ("Makefile", "dagster.yaml"):
        shutil.copy2(PROJECT_ROOT / name, directory / name)
    config = write_config(directory)
    raw = yaml.safe_load(config.read_text())
    raw["storage"] |= {"database": str(directory / ".usher" / "usher.duckdb"),
                       "download_dir": str(directory / ".usher" / "downloads")}
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    return config


def run(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """One source asset materialized through the CLI, started from a directory that is not DAGSTER_HOME."""
    root = tmp_path_factory.mktemp("files")
    repo, elsewhere = root / "repo", root / "elsewhere"
    config = repo_copy(repo)
    elsewhere.mkdir()
    env = os.environ | {"DAGSTER_HOME": str(repo), "USHER_CONFIG": str(config)}
    run([str(VENV_BIN / "dagster"), "asset", "materialize", "-m", "usher_assets.definitions", "--select",
         "go_parents"], env, elsewhere)
    return repo, elsewhere, env


def test_instance_storage_stays_in_dagster_home_whatever_the_cwd(workspace):
    repo, elsewhere, env = workspace
    assert list(elsewhere.iterdir()) == []
    assert (repo / "history" / "runs.db").is_file()


def test_instance_opened_from_another_cwd_sees_the_history(workspace, tmp_path):
    repo, _, env = workspace
    result = run([sys.executable, "-c", COUNT_RUNS], env, tmp_path)
    assert result.stdout.strip() == "1"


def test_export_to_a_relative_path_writes_into_the_output_dir(workspace, tmp_path):
    repo, _, env = workspace
    result = run([str(VENV_BIN / "usher-assets"), "checkpoints", "export", "go_parents", "parents.parquet",
                  "--json"], env, tmp_path)
    written = json.loads(result.stdout)
    assert written["path"] == str(repo / "outputs" / "parents.parquet")
    assert (repo / "outputs" / "parents.parquet.provenance.json").is_file()
    assert list(tmp_path.iterdir()) == []


def test_make_clean_removes_everything_runs_and_exports_create(workspace, tmp_path):
    repo, _, env = workspace
    run([str(VENV_BIN / "usher-assets"), "checkpoints", "export", "go_parents", "parents.parquet"], env, repo)
    copy = tmp_path / "repo"
    shutil.copytree(repo, copy)
    run(["make", "--no-print-directory", "clean"], os.environ, copy)
    assert {p.name for p in copy.iterdir()} == TRACKED
