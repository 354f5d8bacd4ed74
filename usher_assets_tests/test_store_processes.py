"""PipelineStore across processes: a writer killed mid-save, a reader beside a writer, a lock held too long.

Processes report what they are doing on stdout and the tests act on those events (kill here, go on
now); no assertion depends on how long anything took.
"""

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
ROWS = 200_000


def _python(script: str, *args, **popen) -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": str(PROJECT)}
    return subprocess.Popen([sys.executable, str(HELPERS / script), *map(str, args)], env=env, text=True,
                            stdout=subprocess.PIPE, **popen)


def _save(db_path: Path, version: int, pause: str = "none") -> subprocess.Popen:
    """A writer process saving `version`; returned once it reports that it is saving."""
    process = _python("store_events.py", "save", db_path, "big", ROWS, version, pause, stdin=subprocess.PIPE)
    assert process.stdout.readline().strip() == "saving"
    return process


def _next_line(process: subprocess.Popen) -> str:
    line = process.stdout.readline().strip()
    assert line, f"process exited ({process.wait(timeout=60)}) before saying anything more"
    return line


def _stored_state(db_path: Path) -> tuple[int, int]:
    """(version in the table, version in its checkpoint), after checking that both agree in full."""
    store = PipelineStore(db_path)
    checkpoint = store.get_checkpoint("big")
    counts = store.execute_query("SELECT count(*) AS n, min(version) AS lo, max(version) AS hi FROM big").row(0)
    assert counts[0] == checkpoint.row_count == ROWS
    assert counts[1] == counts[2], "rows of two versions in one table"
    assert store.verify_checkpoint(checkpoint) is None
    provenance = store.latest_provenance("big")
    assert provenance["row_count"] == ROWS and provenance["content_hash"] == checkpoint.content_hash
    return counts[1], int(checkpoint.description.removeprefix("version "))


@pytest.mark.parametrize("pause", ["begin", "commit"],
                         ids=["killed-in-transaction-before-writing", "killed-after-writing-before-commit"])
def test_writer_killed_mid_save_leaves_previous_version(db_path, pause):
    first = _save(db_path, 1)
    assert _next_line(first) == "saved" and first.wait(timeout=60) == 0
    assert _stored_state(db_path) == (1, 1)
    writer = _save(db_path, 2, pause)
    # The writer says where it stopped; it is killed there, not after some amount of time.
    assert _next_line(writer) == f"paused {pause}"
    writer.send_signal(signal.SIGKILL)
    assert writer.wait(timeout=60) == -signal.SIGKILL
    assert _stored_state(db_path) == (1, 1)
    # And the store takes the next save as if nothing had happened.
    third = _save(db_path, 3)
    assert _next_line(third) == "saved" and third.wait(timeout=60) == 0
    assert _stored_state(db_path) == (3, 3)


def test_reader_waits_for_a_writer_holding_the_lock_and_sees_its_whole_save(db_path):
    first = _save(db_path, 1)
    assert _next_line(first) == "saved" and first.wait(timeout=60) == 0
    events = []
    writer = _save(db_path, 2, "commit")
    assert _next_line(writer) == "paused commit"  # holds the file: version 2 written, not committed
    events.append("writer holds the lock")
    reader = _python("store_events.py", "read", db_path, "big", stderr=subprocess.PIPE)
    assert _next_line(reader) == "refused"  # turned away by the writer's lock, and waiting
    events.append("reader refused")
    writer.stdin.write("go\n")
    writer.stdin.flush()
    assert _next_line(writer) == "saved" and writer.wait(timeout=60) == 0
    events.append("writer committed")
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    seen = json.loads(out.strip().splitlines()[-1])
    events.append(f"reader read version {seen['versions']}")
    assert events == ["writer holds the lock", "reader refused", "writer committed", "reader read version [2]"]
    # Never a half-written table: every row and the checkpoint from the one committed save.
    assert seen == {"rows": ROWS, "versions": [2], "checkpoint": "version 2", "checkpoint_rows": ROWS}


@pytest.fixture
def lock_holder(db_path):
    """A process that opens the database and keeps it open (so holds DuckDB's file lock) until told to stop."""
    PipelineStore(db_path).save_dataframe(pl.DataFrame({"id": [1]}), "genes")
    # Holds the file until the test closes its stdin (or kills it).
    code = ("import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
            "sys.stdin.read()")
    env = os.environ | {"PYTHONPATH": str(PROJECT)}
    holder = subprocess.Popen([sys.executable, "-c", code, str(db_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
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
    with pytest.raises(StoreLockedError) as caught:
        operation(store)
    assert lock_holder.poll() is None  # refused while the other process still held the file
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
