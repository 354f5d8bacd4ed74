"""docs/deploy: every asset runs as Celery tasks on two workers (Redis, PostgreSQL instance); a rerun reuses all.
The first run is a clean build, so it also shows two clean runs agree: its outputs are the golden build's."""

import shutil
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import polars as pl
import pytest

from conftest import write_config
from local_services import VENV_BIN, background, postgres_server, redis_server, require
from pipeline_runs import all_asset_keys, checkpoints_by_asset, materialize_cli, pipeline_env, recomputed
from usher_assets.definitions import defs

# A clean build and a rerun through the workers in the fixture, on two cores shared with the other test worker.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
DOCS = Path(__file__).resolve().parent.parent / "docs"
WORKERS = ("usher-worker-1", "usher-worker-2")
DATABASE = "dagster_celery"


def _worker_ready(log: Path, name: str) -> bool:
    text = log.read_text(errors="replace") if log.is_file() else ""
    return f"{name}@" in text and " ready." in text


def steps_by_worker(instance: dg.DagsterInstance, run_id: str) -> dict[str, set[str]]:
    """Celery worker name -> the step keys it executed, from the executor's engine events."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=10_000).records
    found: dict[str, set[str]] = {}
    for record in records:
        metadata = record.event_log_entry.dagster_event.engine_event_data.metadata
        if "Celery worker" in metadata:
            worker = metadata["Celery worker"].value.split("@")[0]
            found.setdefault(worker, set()).add(metadata["step_keys"].value)
    return found


@contextmanager
def celery_workers(env: dict, work: Path):
    """Two `dagster-celery worker start` processes, one task at a time each, stopped on exit."""
    with ExitStack() as stack:
        for name in WORKERS:
            log = work / f"{name}.log"
            args = [str(VENV_BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                    "-y", str(DOCS / "deploy" / "celery_worker.yaml"), "-n", name, "--", "--concurrency=1"]
            stack.enter_context(background(args, log, f"celery worker {name}",
                                           lambda log=log, name=name: _worker_ready(log, name), 90,
                                           env=env, cwd=work))
        yield


@pytest.fixture(scope="module")
def celery_runs(tmp_path_factory):
    """A full run and an unchanged rerun through the Celery executor, with both workers up throughout."""
    require("redis-server", "initdb", "pg_ctl")
    work = tmp_path_factory.mktemp("celery")
    home = work / "dagster_home"
    home.mkdir()
    shutil.copy(DOCS / "postgres.dagster.yaml", home / "dagster.yaml")
    with postgres_server() as postgres, redis_server(work) as redis_url:
        postgres.create_database(DATABASE)
        env = pipeline_env(home, write_config(work), **postgres.dagster_env(DATABASE),
                           USHER_CELERY_BROKER=f"{redis_url}/0", USHER_CELERY_BACKEND=f"{redis_url}/1")
        target = ["-f", str(DOCS / "deploy" / "celery_definitions.py")]
        with celery_workers(env, work):
            seconds = [materialize_cli(env, work, target, timeout=900) for _ in ("first", "rerun")]
        with pytest.MonkeyPatch.context() as patch:
            for name, value in postgres.dagster_env(DATABASE).items():
                patch.setenv(name, value)
            with dg.DagsterInstance.from_config(str(home)) as instance:
                first, rerun = reversed(instance.get_runs(limit=2))
                yield SimpleNamespace(
                    work=work, seconds=seconds, runs=(first, rerun),
                    checkpoints=[checkpoints_by_asset(instance, r.run_id) for r in (first, rerun)],
                    workers=[steps_by_worker(instance, r.run_id) for r in (first, rerun)])


def test_celery_run_materializes_every_asset_through_the_workers(celery_runs):
    first = celery_runs.runs[0]
    assert first.status == dg.DagsterRunStatus.SUCCESS
    assert set(celery_runs.checkpoints[0]) == all_asset_keys(defs)
    assert {name: v for name, v in celery_runs.checkpoints[0].items() if v != {"written"}} == {}
    executed = set().union(*celery_runs.workers[0].values())
    assert executed == all_asset_keys(defs)  # every step ran in a worker, none in the run process


def test_celery_run_uses_both_workers(celery_runs):
    assert set(celery_runs.workers[0]) == set(WORKERS)


def test_celery_rerun_reuses_every_partition(celery_runs):
    rerun = celery_runs.runs[1]
    assert rerun.status == dg.DagsterRunStatus.SUCCESS
    assert set(celery_runs.checkpoints[1]) == set(celery_runs.checkpoints[0])
    assert recomputed(celery_runs.checkpoints[1]) == set()
    print(f"\ncelery wall times: first {celery_runs.seconds[0]:.1f} s, rerun {celery_runs.seconds[1]:.1f} s")


def test_celery_clean_build_gives_the_golden_builds_candidates(celery_runs, golden_build):
    # Both started from nothing: one in-process on SQLite, one as Celery tasks on PostgreSQL.
    ours, golden = celery_runs.work / "outputs", golden_build / "outputs"
    assert (ours / "candidates.tsv").read_bytes() == (golden / "candidates.tsv").read_bytes()
    assert pl.read_parquet(ours / "candidates.parquet").equals(pl.read_parquet(golden / "candidates.parquet"))
