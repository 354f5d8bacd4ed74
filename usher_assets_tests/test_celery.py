"""docs/deploy: every asset runs as Celery tasks on two workers (Redis, PostgreSQL instance), writing one DuckDB file.

From the golden build with every source's checkpoint and table deleted: the first run recomputes the sources
(both workers writing the file) and reuses everything downstream of them, whose inputs came out the same
bytes; an unchanged rerun then reuses all. (Two clean builds agreeing is test_pipeline_determinism_sqlite's.)"""

from types import SimpleNamespace

import dagster as dg
import pytest

from celery_runs import TARGET, WORKERS, celery_deployment, steps_by_worker
from conftest import clone_build
from pipeline_runs import all_asset_keys, checkpoints_by_asset, materialize_cli, recomputed
from usher_assets.definitions import defs
from usher_assets.storage import PipelineStore

# Two runs through the workers in the fixture, on two cores shared with the other test worker.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
SOURCES = {key.to_user_string() for key in dg.AssetSelection.groups("sources").resolve(defs.resolve_asset_graph())}


def content_hashes(database) -> dict[tuple[str, str, str | None], str]:
    with PipelineStore(database) as store:
        return {(c.schema_name, c.table_name, c.partition_key): c.content_hash for c in store.list_checkpoints()}


@pytest.fixture(scope="module")
def celery_runs(golden_build, tmp_path_factory):
    """The sources rebuilt through the Celery executor, then an unchanged rerun, both workers up throughout."""
    work = tmp_path_factory.mktemp("celery")
    clone_build(golden_build, work)
    with PipelineStore(work / "usher.duckdb") as store:
        for name in SOURCES:
            assert store.delete_checkpoint(name, schema="sources", drop_data=True), name
    with celery_deployment(work) as deployment:
        seconds = [materialize_cli(deployment.env, work, TARGET, timeout=900) for _ in ("first", "rerun")]
        with deployment.instance() as instance:
            first, rerun = reversed(instance.get_runs(limit=2))
            yield SimpleNamespace(
                work=work, seconds=seconds, runs=(first, rerun), golden=content_hashes(golden_build / "usher.duckdb"),
                after=content_hashes(work / "usher.duckdb"),
                checkpoints=[checkpoints_by_asset(instance, r.run_id) for r in (first, rerun)],
                workers=[steps_by_worker(instance, r.run_id) for r in (first, rerun)])


def test_celery_run_materializes_every_asset_through_the_workers(celery_runs):
    first = celery_runs.runs[0]
    assert first.status == dg.DagsterRunStatus.SUCCESS
    assert set(celery_runs.checkpoints[0]) == all_asset_keys(defs)
    assert len(SOURCES) > 20
    assert {name: v for name, v in celery_runs.checkpoints[0].items() if name in SOURCES and v != {"written"}} == {}
    assert recomputed(celery_runs.checkpoints[0]) == SOURCES  # the rest's inputs came out the same bytes
    executed = set().union(*celery_runs.workers[0].values())
    assert executed == all_asset_keys(defs)  # every step ran in a worker, none in the run process


def test_celery_run_uses_both_workers(celery_runs):
    assert set(celery_runs.workers[0]) == set(WORKERS)
    # Both wrote the file: each recomputed some of the sources.
    assert all(steps & SOURCES for steps in celery_runs.workers[0].values()), celery_runs.workers[0]


def test_celery_rerun_reuses_every_partition(celery_runs):
    rerun = celery_runs.runs[1]
    assert rerun.status == dg.DagsterRunStatus.SUCCESS
    assert set(celery_runs.checkpoints[1]) == set(celery_runs.checkpoints[0])
    assert recomputed(celery_runs.checkpoints[1]) == set()
    print(f"\ncelery wall times: first {celery_runs.seconds[0]:.1f} s, rerun {celery_runs.seconds[1]:.1f} s")


def test_celery_rebuilt_sources_have_the_golden_builds_content(celery_runs):
    # One build in-process on SQLite, the sources rebuilt as Celery tasks on PostgreSQL: every table the same.
    assert len(celery_runs.after) > 150
    assert {k: (v, celery_runs.after.get(k)) for k, v in celery_runs.golden.items()
            if celery_runs.after.get(k) != v} == {}
    assert set(celery_runs.after) == set(celery_runs.golden)
