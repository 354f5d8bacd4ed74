"""The Makefile's set-up: `make run` installs what running needs, `make test` adds the dev extras, stamps stay right.

Real `make -n` (print, don't run) against a venv directory under tmp_path whose stamp files tests age at will,
and real `make test` runs of a one-test file for where the test files go.
"""

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from usher_assets.config import PROJECT_ROOT

PYPROJECT = PROJECT_ROOT / "pyproject.toml"
BASE_INSTALL = "pip install --quiet -e ."
DEV_INSTALL = "pip install --quiet -e '.[dev]'"
TEST_ONLY_PACKAGES = ("playwright", "celery", "psycopg2", "dagster-postgres", "pytest", "redis")


def planned(target: str, venv: Path) -> str:
    """The commands `make <target>` would run, printed by make -n."""
    result = subprocess.run(["make", "-n", "--no-print-directory", "-C", str(PROJECT_ROOT), target,
                             f"VENV={venv}"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def stamp(venv: Path, name: str, fresh: bool) -> None:
    """A stamp newer than pyproject.toml (fresh) or older (pyproject.toml edited since)."""
    path = venv / f".installed-{name}"
    path.touch()
    when = PYPROJECT.stat().st_mtime + (100 if fresh else -100)
    os.utime(path, (when, when))


@pytest.fixture
def venv(tmp_path) -> Path:
    path = tmp_path / "venv"
    path.mkdir()
    return path


# stamps present before (name -> fresh?), target -> (installs it must plan, installs it must not)
CASES = {
    "fresh-clone-run": ({}, "run", [BASE_INSTALL], [DEV_INSTALL]),
    "fresh-clone-test": ({}, "test", [BASE_INSTALL, DEV_INSTALL], []),
    "test-after-run": ({"run": True}, "test", [DEV_INSTALL], [BASE_INSTALL]),
    "run-after-test": ({"run": True, "dev": True}, "run", [], [BASE_INSTALL, DEV_INSTALL]),
    "ui-after-run": ({"run": True}, "ui", [], [BASE_INSTALL, DEV_INSTALL]),
    "test-after-pyproject-edit": ({"run": False, "dev": False}, "test", [BASE_INSTALL, DEV_INSTALL], []),
    "run-after-pyproject-edit": ({"run": False, "dev": False}, "run", [BASE_INSTALL], [DEV_INSTALL]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_make_installs_only_what_the_target_needs(venv, case):
    stamps, target, expected, unexpected = CASES[case]
    for name, fresh in stamps.items():
        stamp(venv, name, fresh)
    commands = planned(target, venv)
    installs = [line for line in commands.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    for install in expected:
        assert any(line.endswith(install) for line in installs), f"{target} does not run {install}:\n{commands}"
    for install in unexpected:
        assert not any(line.endswith(install) for line in installs), f"{target} runs {install}:\n{commands}"


def test_running_dependencies_leave_out_test_only_packages():
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    running = " ".join(project["dependencies"]).lower()
    assert [p for p in TEST_ONLY_PACKAGES if p in running] == []
    testing = " ".join(project["optional-dependencies"]["dev"]).lower()
    assert [p for p in TEST_ONLY_PACKAGES if p not in testing] == []


def _make_test(scratch: Path, test_file: Path) -> subprocess.CompletedProcess:
    """A real `make test` in one process, on `test_file` alone (PYTEST_ADDOPTS adds it), scratch in `scratch`."""
    env = os.environ | {"PYTEST_ADDOPTS": str(test_file)}
    return subprocess.run(["make", "--no-print-directory", "-C", str(PROJECT_ROOT), "test", "TEST_WORKERS=0",
                           f"TEST_TMP={scratch}"], env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("passes", [True, False], ids=["green", "failing"])
def test_make_test_keeps_scratch_files_of_a_failed_run_only(tmp_path, passes):
    scratch, tests = tmp_path / "scratch", tmp_path / "suite"
    scratch.mkdir()
    tests.mkdir()
    # The test writes under tmp_path and TMPDIR: both must be in the run's own directory of `scratch`.
    (tests / "test_one.py").write_text(
        "import os, tempfile\n"
        "def test_one(tmp_path):\n"
        f"    root = {str(scratch)!r}\n"
        "    assert str(tmp_path).startswith(root) and tempfile.gettempdir().startswith(root)\n"
        "    (tmp_path / 'kept').write_text('x')\n"
        f"    assert {passes!r}\n")
    result = _make_test(scratch, tests / "test_one.py")
    assert (result.returncode == 0) == passes, result.stdout[-3000:] + result.stderr[-3000:]
    runs = list(scratch.iterdir())  # the run's own directory, named after the checkout
    if passes:
        assert runs == []
    else:
        assert [r.name.startswith("usher_assets-tests-") for r in runs] == [True]
        assert len(list(runs[0].glob("base/**/kept"))) == 1
        assert f"test files kept in {runs[0]}" in result.stdout
