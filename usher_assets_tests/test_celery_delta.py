"""docs/deploy's Celery deployment on the Delta backend, two workers, no lock between writers.

From the golden Delta build with every evidence layer deleted: one run rebuilds the seven layers (different
assets written by the two workers at once), then two runs at once each rebuild half the chromosomes of the
slowest layer (different slices of one table written at once). Every slice ends with the golden content and
the checkpoint of the run that wrote it."""

import subprocess
from types import SimpleNamespace

import pytest

from celery_runs import TARGET, WORKERS, celery_deployment, run_messages, step_windows
from conftest import clone_build
from pipeline_runs import FULL_RANGE, materialize_cli, materialize_command, usher_cli
from usher_assets.storage.delta_store import DeltaStore

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]
EVIDENCE = ("annotation_evidence", "cilia_association_evidence", "cilia_proximity_evidence", "constraint_evidence",
            "expression_evidence", "localization_evidence", "sensory_expression_evidence")
HALVED = "cilia_association_evidence"  # the slowest layer: its two half steps surely overlap
HALVES = ("1...11", "12...MT")
FIRST_HALF = {str(n) for n in range(1, 12)}


def _slices(delta_root) -> dict[tuple[str, str], object]:
    return {(c.table_name, c.partition_key): c for c in DeltaStore(delta_root).list_checkpoints()
            if c.table_name in EVIDENCE}


def _delete(deployment, table: str, *options: str) -> None:
    deleted = usher_cli("checkpoints", "delete", table, *options, env=deployment.env, cwd=deployment.work)
    assert deleted.returncode == 0, deleted.stderr


def _at_once(deployment, selections: list[list[str]]) -> None:
    runs = [subprocess.Popen(materialize_command(TARGET, selection), env=deployment.env, cwd=deployment.work,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for selection in selections]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * len(runs), "\n".join(o[-3000:] for o in outputs)


@pytest.fixture(scope="module")
def delta_celery(golden_delta_build, tmp_path_factory):
    work = tmp_path_factory.mktemp("celery_delta")
    clone_build(golden_delta_build, work)
    delta = work / "delta"
    with celery_deployment(work, backend="delta") as deployment:
        for table in EVIDENCE:
            _delete(deployment, table)
        emptied = _slices(delta)
        materialize_cli(deployment.env, work, TARGET, selection=["--select", ",".join(EVIDENCE), *FULL_RANGE[2:]])
        layers_rebuilt = _slices(delta)
        # The table stays: both runs overwrite their slices of it (no checkpoint, so nothing is reused).
        _delete(deployment, HALVED, "--keep-data")
        _at_once(deployment, [["--select", HALVED, "--partition-range", half] for half in HALVES])
        with deployment.instance() as instance:
            newest_first = instance.get_runs(limit=3)
            layers_run = newest_first[2]
            half_runs = {r.tags["dagster/asset_partition_range_start"]: r.run_id for r in newest_first[:2]}
            yield SimpleNamespace(
                golden=_slices(golden_delta_build / "delta"), emptied=emptied, layers_rebuilt=layers_rebuilt,
                after=_slices(delta), store=DeltaStore(delta), half_runs=half_runs,
                layer_windows=step_windows(instance, layers_run.run_id),
                half_windows=[w for run_id in half_runs.values() for w in step_windows(instance, run_id)],
                messages=[run_messages(instance, r.run_id) for r in newest_first])


def _overlapping(windows) -> list:
    return [(a, b) for a in windows for b in windows if a.worker < b.worker and a.overlaps(b)]


def test_the_two_workers_write_different_layers_at_the_same_time(delta_celery):
    assert delta_celery.emptied == {}
    assert {w.step for w in delta_celery.layer_windows} == set(EVIDENCE)
    assert {w.worker for w in delta_celery.layer_windows} == set(WORKERS)
    assert _overlapping(delta_celery.layer_windows), "no two layers were written at the same time"
    golden = delta_celery.golden
    assert {k: c.content_hash for k, c in delta_celery.layers_rebuilt.items()} == \
        {k: c.content_hash for k, c in golden.items()}


def test_two_runs_write_halves_of_one_table_at_the_same_time(delta_celery):
    windows = delta_celery.half_windows
    assert [w.step for w in windows] == [HALVED, HALVED]
    first, second = sorted(windows, key=lambda w: w.start)
    print(f"\nhalves of {HALVED}: {first.worker} {first.end - first.start:.1f} s, {second.worker} "
          f"{second.end - second.start:.1f} s, together {max(first.end, second.end) - first.start:.1f} s")
    assert _overlapping(windows), f"the two halves did not run at the same time on the two workers: {windows}"


def test_every_slice_has_the_golden_content_and_its_writers_checkpoint(delta_celery):
    after, golden = delta_celery.after, delta_celery.golden
    assert {k: c.content_hash for k, c in after.items()} == {k: c.content_hash for k, c in golden.items()}
    problems = {key: delta_celery.store.verify_checkpoint(c) for key, c in after.items()}
    assert {key: problem for key, problem in problems.items() if problem is not None} == {}
    # The two half runs committed to one table at once: neither commit undid the other's checkpoints.
    first, second = delta_celery.half_runs["1"], delta_celery.half_runs["12"]
    halved = {k[1]: c.run_id for k, c in after.items() if k[0] == HALVED}
    assert halved == {key: first if key in FIRST_HALF else second for key in halved}
    assert all(after[k].run_id == delta_celery.layers_rebuilt[k].run_id for k in after if k[0] != HALVED)


def test_no_writer_waited_for_a_lock(delta_celery):
    for messages in delta_celery.messages:
        assert "locked" not in messages.lower() and "waiting for" not in messages.lower()
