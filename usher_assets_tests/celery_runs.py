"""docs/deploy's Celery deployment on loopback ports: a PostgreSQL instance, a Redis broker, two workers;
and what the instance recorded of the steps they ran."""

import shutil
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import dagster as dg
import pytest

from conftest import write_config
from local_services import VENV_BIN, PostgresServer, background, postgres_server, redis_server, require
from pipeline_runs import pipeline_env

DOCS = Path(__file__).resolve().parent.parent / "docs"
TARGET = ["-f", str(DOCS / "deploy" / "celery_definitions.py")]
WORKERS = ("usher-worker-1", "usher-worker-2")
DATABASE = "dagster_celery"


@dataclass(frozen=True)
class CeleryDeployment:
    work: Path
    home: Path
    env: dict[str, str]
    postgres: PostgresServer

    @contextmanager
    def instance(self) -> Iterator[dg.DagsterInstance]:
        """The deployment's Dagster instance, read from this process."""
        with pytest.MonkeyPatch.context() as patch:
            for name, value in self.postgres.dagster_env(DATABASE).items():
                patch.setenv(name, value)
            with dg.DagsterInstance.from_config(str(self.home)) as instance:
                yield instance


def _worker_ready(log: Path, name: str) -> bool:
    text = log.read_text(errors="replace") if log.is_file() else ""
    return f"{name}@" in text and " ready." in text


@contextmanager
def celery_deployment(work: Path, backend: str = "duckdb") -> Iterator[CeleryDeployment]:
    """PostgreSQL, Redis and two `dagster-celery worker start` processes (one task at a time each) for the
    pipeline config in `work` on `backend`, all stopped on exit."""
    require("redis-server", "initdb", "pg_ctl")
    home = work / "dagster_home"
    home.mkdir()
    shutil.copy(DOCS / "postgres.dagster.yaml", home / "dagster.yaml")
    with postgres_server() as postgres, redis_server(work) as redis_url, ExitStack() as workers:
        postgres.create_database(DATABASE)
        env = pipeline_env(home, write_config(work, backend=backend), **postgres.dagster_env(DATABASE),
                           USHER_CELERY_BROKER=f"{redis_url}/0", USHER_CELERY_BACKEND=f"{redis_url}/1")
        for name in WORKERS:
            log = work / f"{name}.log"
            args = [str(VENV_BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                    "-y", str(DOCS / "deploy" / "celery_worker.yaml"), "-n", name, "--", "--concurrency=1"]
            workers.enter_context(background(args, log, f"celery worker {name}",
                                             lambda log=log, name=name: _worker_ready(log, name), 90,
                                             env=env, cwd=work))
        yield CeleryDeployment(work, home, env, postgres)


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


@dataclass(frozen=True)
class StepWindow:
    run_id: str
    step: str
    worker: str
    start: float
    end: float

    def overlaps(self, other: "StepWindow") -> bool:
        return self.start < other.end and other.start < self.end


def step_windows(instance: dg.DagsterInstance, run_id: str) -> list[StepWindow]:
    """Each step's STEP_START .. STEP_SUCCESS timestamps in a run, with the worker that ran it."""
    worker_of = {step: worker for worker, steps in steps_by_worker(instance, run_id).items() for step in steps}
    times: dict[str, list[float]] = {}
    for event_type in (dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS):
        for record in instance.get_records_for_run(run_id, of_type=event_type, limit=10_000).records:
            times.setdefault(record.event_log_entry.step_key, []).append(record.event_log_entry.timestamp)
    return [StepWindow(run_id, step, worker_of.get(step, "?"), min(t), max(t))
            for step, t in times.items() if len(t) == 2]


def run_messages(instance: dg.DagsterInstance, run_id: str) -> str:
    """Every event message of a run, one per line (for looking for lock waits)."""
    return "\n".join(entry.message or "" for entry in instance.all_logs(run_id))
