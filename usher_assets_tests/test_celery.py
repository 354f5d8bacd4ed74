"""docs/deploy: every asset runs as Celery tasks on two workers (Redis, PostgreSQL instance); a rerun reuses all.
The first run is a clean build, so it also shows two clean runs agree: its outputs are the golden build's."""

from types import SimpleNamespace

import dagster as dg
import polars as pl
import pytest

from celery_runs import TARGET, WORKERS, celery_deployment, steps_by_worker
from pipeline_runs import all_asset_keys, checkpoints_by_asset, materialize_cli, recomputed
from usher_assets.definitions import defs

# A clean build and a rerun through the workers in the fixture, on two cores shared with the other test worker.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def celery_runs(tmp_path_factory):
    """A full run and an unchanged rerun through the Celery executor, with both workers up throughout."""
    work = tmp_path_factory.mktemp("celery")
    with celery_deployment(work) as deployment:
        seconds = [materialize_cli(deployment.env, work, TARGET, timeout=900) for _ in ("first", "rerun")]
        with deployment.instance() as instance:
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
