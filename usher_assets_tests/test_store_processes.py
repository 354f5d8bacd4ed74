"""PipelineStore across processes: a writer killed mid-save, a reader beside a writer, a lock held too long."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from usher_assets.storage import PipelineStore, StoreLockedError

HELPERS = Path(__file__).parent / "helpers"
PROJECT = Path(__file__).resolve().parents[1]
KILL_ROWS = 4_000_000
# Kill points as fractions of one uninterrupted save; past 1.0 the save has usually committed.
KILL_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _python(script: str, *args, **popen) -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": str(PROJECT)}
    return subprocess.Popen([sys.executable, str(HELPERS / script), *map(str, args)], env=env, text=True,
                            stdout=subprocess.PIPE, **popen)


def _start_save(db_path: Path, version: int) -> subprocess.Popen:
    process = _python("save_large_frame.py", db_path, "big", KILL_ROWS, version)
    assert process.stdout.readline().strip() == "saving"  # the frame is built; the save starts now
    return process


def _stored_state(db_path: Path) -> tuple[int, int]:
    """(version in the table, version in its checkpoint), after checking that both agree in full."""
    store = PipelineStore(db_path)
    checkpoint = store.get_checkpoint("big")
    counts = store.execute_query("SELECT count(*) AS n, min(version) AS lo, max(version) AS hi FROM big").row(0)
    assert counts[0] == checkpoint.row_count == KILL_ROWS
    assert counts[1] == counts[2], "rows of two versions in one table"
    assert store.verify_checkpoint(checkpoint) is None
    assert store.latest_provenance("big")["row_count"] == KILL_ROWS
    return counts[1], int(checkpoint.description.removeprefix("version "))


def _timed_save(db_path: Path, version: int) -> float:
    process = _start_save(db_path, version)
    started = time.monotonic()
    assert process.stdout.readline().strip() == "saved"
    seconds = time.monotonic() - started
    process.wait(timeout=60)
    return seconds


def test_writer_killed_mid_save_leaves_previous_version(db_path):
    _timed_save(db_path, 1)
    save_seconds = _timed_save(db_path, 2)  # a replacing save, like the ones killed below
    previous, outcomes = 2, []
    for trial, fraction in enumerate(KILL_FRACTIONS, start=3):
        process = _start_save(db_path, trial)
        time.sleep(fraction * save_seconds)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        table_version, checkpoint_version = _stored_state(db_path)
        assert table_version == checkpoint_version
        if process.returncode == -signal.SIGKILL:
            assert table_version in (previous, trial)  # committed just before the kill, or not at all
        else:
            assert (process.returncode, table_version) == (0, trial)
        outcomes.append((fraction, process.returncode, table_version == trial))
        previous = table_version
    killed_before_commit = [o for o in outcomes if o[1] == -signal.SIGKILL and not o[2]]
    assert len(killed_before_commit) >= 2, outcomes


def test_reader_and_writer_processes_both_succeed(db_path, tmp_path):
    go = tmp_path / "go"
    rows, rounds = 200_000, 5
    writer = _python("store_worker.py", "write", db_path, go, rounds, rows, stderr=subprocess.PIPE)
    reader = _python("store_worker.py", "read", db_path, go, rounds, rows, stderr=subprocess.PIPE)
    time.sleep(0.5)  # both imported and waiting
    go.touch()
    results = {}
    for process in (writer, reader):
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        summary = json.loads(out.strip().splitlines()[-1])
        results[summary["mode"]] = summary
    assert results["read"]["started"] < results["write"]["ended"]
    assert results["write"]["started"] < results["read"]["ended"]
    assert results["read"]["seen"], "the reader never saw a stored round"
    assert results["read"]["seen"] == sorted(results["read"]["seen"])
    assert results["read"]["seen"][-1] == rounds - 1
    assert PipelineStore(db_path).get_checkpoint("shared").description == f"round {rounds - 1}"


@pytest.fixture
def lock_holder(db_path):
    """A process that opens the database and keeps it open (so holds DuckDB's file lock) for 60 s."""
    PipelineStore(db_path).save_dataframe(pl.DataFrame({"id": [1]}), "genes")
    code = ("import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
            "time.sleep(60)")
    env = os.environ | {"PYTHONPATH": str(PROJECT)}
    holder = subprocess.Popen([sys.executable, "-c", code, str(db_path)], stdout=subprocess.PIPE, text=True, env=env)
    assert holder.stdout.readline().strip() == "locked"
    yield holder
    holder.kill()
    holder.wait()


@pytest.mark.parametrize("operation", [
    lambda s: s.load_dataframe("genes"),
    lambda s: s.save_dataframe(pl.DataFrame({"id": [2]}), "genes"),
    lambda s: s.list_checkpoints(),
], ids=["load", "save", "list-checkpoints"])
def test_lock_held_past_timeout_raises_store_locked_error(db_path, lock_holder, operation):
    store = PipelineStore(db_path, lock_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(StoreLockedError) as caught:
        operation(store)
    assert 0.3 <= time.monotonic() - started < 5
    message = str(caught.value)
    assert str(db_path) in message and "locked by another process" in message
    assert "lock_timeout_seconds" in message  # says what to do
    lock_holder.kill()
    lock_holder.wait()
    assert PipelineStore(db_path).load_dataframe("genes")["id"].to_list() == [1]


def test_lock_released_after_each_operation(db_path):
    store = PipelineStore(db_path)
    store.save_dataframe(pl.DataFrame({"id": [1]}), "genes")
    code = "import duckdb, sys; print(duckdb.connect(sys.argv[1]).execute('SELECT id FROM genes').fetchone()[0])"
    out = subprocess.run([sys.executable, "-c", code, str(db_path)], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "1", out.stderr
    with duckdb.connect(str(db_path)) as con:
        assert con.execute("SELECT count(*) FROM _checkpoints").fetchone() == (1,)


@pytest.mark.parametrize("kind", ["plain", "checkpointed"])
def test_another_process_writes_while_an_asset_body_runs(db_path, tmp_path, kind):
    """The I/O manager lets go of the file while a body computes: a second process gets in before it ends."""
    events = tmp_path / "events"
    events.mkdir()
    run = _python("slow_body_run.py", db_path, events, kind, stderr=subprocess.PIPE)
    try:
        log = events / "log"
        for _ in range(6000):  # at most 120 s for Dagster to start and reach the body
            if (log.exists() and "body started" in log.read_text()) or run.poll() is not None:
                break
            time.sleep(0.02)
        assert log.exists() and "body started" in log.read_text(), run.stderr.read() if run.poll() is not None else ""
        # The second writer, with a lock timeout far past its own save: it fails only if the body holds the file.
        PipelineStore(db_path, lock_timeout=30).save_dataframe(pl.DataFrame({"id": [1]}), "other")
        with open(log, "a") as handle:
            handle.write("second process saved\n")
        (events / "release").touch()
        out, err = run.communicate(timeout=120)
    finally:
        run.kill()
        run.wait()
    assert out.strip().splitlines()[-1] == "success", err
    assert log.read_text().splitlines() == ["body started", "second process saved", "body ended"]
    store = PipelineStore(db_path)
    assert store.load_dataframe("other")["id"].to_list() == [1]
    assert store.load_dataframe("slow", schema="public")["scored"].to_list() == [True, True]
