"""Shared fixtures: a store and a pipeline config whose storage lives under tmp_path, and one golden build."""

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from usher_assets.config import DEFAULT_CONFIG_PATH, PROJECT_ROOT, PipelineConfig
from usher_assets.resources import PipelineResource
from usher_assets.storage import PipelineStore
from usher_assets.storage.io_manager import DuckDBIOManager

# skip_report: how many tests were skipped and why, at the end; with USHER_NO_SKIPS=1 or CI=true any
# skip fails the run. pytester: runs pytest inside a test (test_skip_report_*.py).
pytest_plugins = ["skip_report", "pytester"]


def write_config(directory: Path, name: str = "usher.yaml", backend: str = "duckdb", **changes) -> Path:
    """The bundled default with storage moved into `directory` (a DuckDB file, or Delta tables in delta/);
    `changes` replace top-level sections."""
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    raw["storage"] |= {"database": str(directory / "usher.duckdb"), "output_dir": str(directory / "outputs"),
                       "download_dir": str(directory / "downloads"), "lock_timeout_seconds": 30,
                       "backend": backend, "delta_root": str(directory / "delta")}
    raw |= changes
    path = directory / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "usher.duckdb"


@pytest.fixture(params=["duckdb", "delta"])
def store(request, db_path, tmp_path) -> PipelineStore:
    """The store on each backend: one DuckDB file, or a directory of Delta tables."""
    if request.param == "delta":
        from usher_assets.storage.delta_store import DeltaStore

        return DeltaStore(tmp_path / "delta")
    return PipelineStore(db_path)


@pytest.fixture
def manager_config(store) -> dict:
    """DuckDBIOManager arguments for the `store` fixture's backend and location."""
    return {"database": str(store.db_path), "backend": store.backend, "lock_timeout": 30}


@pytest.fixture
def config_writer(tmp_path):
    """write_config bound to tmp_path: `config_writer("other.yaml", scoring={...})`."""
    return lambda name="usher.yaml", **changes: write_config(tmp_path, name, **changes)


@pytest.fixture
def pipeline_config_path(config_writer) -> Path:
    return config_writer()


@pytest.fixture
def pipeline_config(pipeline_config_path) -> PipelineConfig:
    return PipelineConfig.load(pipeline_config_path)


@pytest.fixture
def resources(pipeline_config, pipeline_config_path) -> dict:
    """Resources for dg.materialize: the DuckDB I/O manager and the pipeline config, both under tmp_path."""
    return {
        "io_manager": DuckDBIOManager(database=str(pipeline_config.database_path),
                                      lock_timeout=pipeline_config.storage.lock_timeout_seconds),
        "pipeline": PipelineResource(config_path=str(pipeline_config_path)),
    }


def build_env(directory: Path, config_path: Path) -> dict:
    """Environment for a CLI run: USHER_CONFIG plus a DAGSTER_HOME of its own under `directory`."""
    home = directory / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return os.environ | {"USHER_CONFIG": str(config_path), "DAGSTER_HOME": str(home)}


def materialize_everything(env: dict, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess:
    """`dagster asset materialize` over every asset and chromosome, as the README says."""
    args = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "usher_assets.definitions",
            "--select", "*", "--partition-range", "1...MT"]
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="session")
def golden_build(tmp_path_factory) -> Path:
    """One clean build of the whole pipeline on the bundled data, through the real CLI.

    Tests that need a built pipeline clone it (clone_build) instead of computing it again: the
    fingerprints hold file contents, not paths, so a clone reuses every checkpoint. Under pytest-xdist
    the workers of one run share a single build: the first to ask makes it while the others wait on a lock.
    """
    return _shared_build(tmp_path_factory, "duckdb")


@pytest.fixture(scope="session")
def golden_delta_build(tmp_path_factory) -> Path:
    """The same clean build on the Delta backend."""
    return _shared_build(tmp_path_factory, "delta")


def _shared_build(tmp_path_factory, backend: str) -> Path:
    name = "golden" if backend == "duckdb" else f"golden-{backend}"
    run_uid = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run_uid is None:
        directory = tmp_path_factory.mktemp(name)
        _build_golden(directory, backend)
        return directory
    directory = tmp_path_factory.getbasetemp().parent / f"{name}-{run_uid}"
    directory.mkdir(exist_ok=True)
    built = directory / "built"
    with open(directory / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if the build fails
        if not built.exists():
            _build_golden(directory, backend)
            built.touch()
    return directory


def _build_golden(directory: Path, backend: str = "duckdb") -> None:
    result = materialize_everything(build_env(directory, write_config(directory, backend=backend)))
    assert result.returncode == 0, result.stderr[-4000:]


def clone_build(golden: Path, directory: Path) -> None:
    """Copy the golden store and outputs into `directory` (config paths as write_config sets them)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("usher.duckdb", "usher.duckdb.wal"):
        if (golden / name).exists():
            shutil.copy2(golden / name, directory / name)
    if (golden / "delta").is_dir():
        shutil.copytree(golden / "delta", directory / "delta", dirs_exist_ok=True)
    shutil.copytree(golden / "outputs", directory / "outputs", dirs_exist_ok=True)


# The files that take a minute or more (`pytest --durations`), longest first. make test passes
# --no-loadscope-reorder, so pytest-xdist hands out files in this order, two to each worker at the start
# (gw0 the 1st and 3rd, gw1 the 2nd and 4th): gw0 builds the golden copy for the launch series while gw1
# runs files that build a pipeline of their own. A scheduling hint: a stale list costs time, not results.
LONGEST_FIRST = ("test_launch_decision.py", "test_celery.py", "test_source_changes.py",
                 "test_automation_condition.py", "test_browser_reuse.py", "test_sources_cli.py", "test_pipeline.py",
                 "test_celery_delta.py", "test_browser.py", "test_console.py", "test_postgres.py", "test_cli.py",
                 "test_make_ui.py")


def pytest_collection_modifyitems(config, items):
    """The longest files first, then the other files with slow tests, then the rest, each in file order:
    the long files start early instead of trailing at the end."""
    def rank(item) -> tuple[int, int]:
        name = item.path.name
        if name in LONGEST_FIRST:
            return 0, LONGEST_FIRST.index(name)
        return (1 if slow_modules.get(item.module) else 2), 0

    slow_modules: dict = {}
    for item in items:
        slow_modules[item.module] = slow_modules.get(item.module, False) or bool(item.get_closest_marker("slow"))
    items.sort(key=rank)  # stable: file order within each rank
