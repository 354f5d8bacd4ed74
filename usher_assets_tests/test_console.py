"""What `make run` prints: INFO progress by default, every Dagster event with LOG_LEVEL=DEBUG, and no
warnings from Dagster's CLI about itself. Real make, real dagster CLI, on a clone of the session's build."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import clone_build, write_config
from usher_assets.config import PROJECT_ROOT
from pipeline_runs import reused_tables

pytestmark = pytest.mark.slow
VENV = Path(sys.executable).parent.parent
# A fully reused run: a line per asset (30), the header and the outputs listing; 370 lines before.
MOST_LINES_REUSED = 60


@pytest.fixture(scope="module")
def repo(golden_build, tmp_path_factory) -> tuple[Path, dict]:
    """A stand-in repo root (Makefile, dagster.yaml) holding a copy of the build; DAGSTER_HOME is it."""
    directory = tmp_path_factory.mktemp("console")
    clone_build(golden_build, directory)
    for name in ("Makefile", "dagster.yaml"):
        shutil.copy2(PROJECT_ROOT / name, directory / name)
    return directory, os.environ | {"USHER_CONFIG": str(write_config(directory))}


def make_run(repo: tuple[Path, dict], *variables: str) -> list[str]:
    directory, env = repo
    # -o: use the venv this test runs in as it is, install nothing.
    result = subprocess.run(["make", "--no-print-directory", "-C", str(directory), "run", f"VENV={VENV}",
                             "-o", f"{VENV}/.installed-run", *variables],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    return (result.stdout + result.stderr).splitlines()


def test_make_run_prints_info_progress_on_one_screen(repo):
    lines = make_run(repo)
    assert len(lines) <= MOST_LINES_REUSED, "\n".join(lines)
    assert not [line for line in lines if " - DEBUG - " in line or "Warning" in line]
    assert len(reused_tables("\n".join(lines))) >= 20
    assert any(line.startswith("database:") for line in lines)


def test_make_run_log_level_debug_shows_every_dagster_event(repo):
    lines = make_run(repo, "LOG_LEVEL=DEBUG")
    assert any(" - DEBUG - " in line and "STEP_START" in line for line in lines)
    assert any("RUN_SUCCESS" in line for line in lines)
