"""What the store says when it cannot do what was asked: columns it cannot store, a full disk, a file another
process holds (who, and whether reading or writing), and names: any script accepted, unquotable ones refused."""

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pandas as pd
import polars as pl
import pytest

from usher_assets.storage import DuckDBIOManager, PipelineStore, StoreError, StoreLockedError, TableRef
from usher_assets.storage.holder import holder_path
from usher_assets.storage.store import StoreValueError, _describe_conversion_error

PROJECT = Path(__file__).resolve().parents[1]


class Gene:
    """A Python object no column can hold."""


# -- columns of Python objects ---------------------------------------------------------------------------------

@pytest.mark.parametrize("frame, column", [
    (pd.DataFrame({"id": [1, 2], "gene": [Gene(), Gene()]}), "gene"),
    (pd.DataFrame({"id": [1, 2], "mixed": [1, "two"]}), "mixed"),
    (pl.DataFrame({"id": [1, 2], "gene": pl.Series([Gene(), Gene()], dtype=pl.Object)}), "gene"),
    (pl.DataFrame({"id": [1, 2], "gene": pl.Series([Gene(), Gene()], dtype=pl.Object)}).lazy(), "gene"),
], ids=["pandas-object", "pandas-mixed", "polars-object", "polars-lazy-object"])
def test_a_column_of_python_objects_is_named_with_what_can_be_stored(store, frame, column):
    store.save_dataframe(pl.DataFrame({"id": [7]}), "genes")
    with pytest.raises(StoreValueError) as caught:
        store.save_dataframe(frame, "genes")
    message = str(caught.value)
    assert message.startswith(f"{store.db_path}: saving main.genes failed, previous version kept: column {column!r} "
                              "cannot be stored"), message
    assert "numbers, strings, booleans, dates and times, or lists and structs of them, not Python objects" in message
    assert store.load_dataframe("genes")["id"].to_list() == [7]  # and not memory addresses as bytes


def test_describe_conversion_error_names_the_first_failing_column():
    frame = pd.DataFrame({"ok": [1], "bad": [Gene()], "worse": [Gene()]})
    described = _describe_conversion_error(frame, ValueError("whole frame"))
    assert described.startswith("column 'bad' cannot be stored (ArrowInvalid:")
    assert _describe_conversion_error(pd.DataFrame({"ok": [1]}), ValueError("as it was")) == "as it was"


# -- a full disk -----------------------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs, so a save runs out of space for real; only root may mount one."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs to fill needs root and mount(8); this test runs as a normal user")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True,
                             text=True, timeout=30)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (a container without CAP_SYS_ADMIN?): {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)


def test_a_full_disk_is_a_store_error_naming_file_and_table_and_keeps_the_previous_version(small_disk):
    db_path = small_disk / "usher.duckdb"
    store = PipelineStore(db_path)
    store.save_dataframe(pl.DataFrame({"id": [1, 2, 3]}), "genes")
    noise = pl.DataFrame({"text": [uuid.uuid4().hex * 4 for _ in range(200_000)]})  # ~26 MB, far past 4 MiB
    with pytest.raises(StoreError) as caught:
        store.save_dataframe(noise, "genes")
    message = str(caught.value)
    assert message.startswith(f"{db_path}: saving main.genes failed, previous version kept:"), message
    assert "No space left on device" in message or "space" in message.lower(), message
    for leftover in small_disk.glob("*.wal"):
        leftover.unlink()  # what a failed transaction may leave; the committed file is what matters
    assert PipelineStore(db_path).load_dataframe("genes")["id"].to_list() == [1, 2, 3]


# -- who holds the lock ----------------------------------------------------------------------------------------

def _hold(db_path: Path, code: str) -> subprocess.Popen:
    """A process that opens the database as `code` says, prints 'held', and keeps it until killed (60 s at most)."""
    script = f"import sys, time, duckdb\nfrom usher_assets.storage import PipelineStore\n{code}\n" \
             "print('held', flush=True)\ntime.sleep(60)\n"
    env = os.environ | {"PYTHONPATH": str(PROJECT)}
    holder = subprocess.Popen([sys.executable, "-c", script, str(db_path)], stdout=subprocess.PIPE, text=True, env=env)
    assert holder.stdout.readline().strip() == "held"
    return holder


@pytest.fixture
def holders():
    started = []
    yield lambda db_path, code: started.append(_hold(db_path, code)) or started[-1]
    for process in started:
        process.kill()
        process.wait()


def _locked_message(db_path: Path, **config) -> str:
    with pytest.raises(StoreLockedError) as caught:
        PipelineStore(db_path, lock_timeout=0.3, connection_config=config or None).list_checkpoints()
    return str(caught.value)


def test_a_read_only_reader_is_named_as_reading_not_as_a_writer(db_path, holders):
    PipelineStore(db_path).save_dataframe(pl.DataFrame({"id": [1]}), "genes")
    reader = holders(db_path, "con = duckdb.connect(sys.argv[1], read_only=True)")
    message = _locked_message(db_path)
    assert message.startswith(f"{db_path} is locked by another process, PID {reader.pid}, which has it open "
                              "read-only (reading); waited 0 s to open it for writing"), message
    assert "DuckDB lets one process write, or several read, not both at once" in message
    assert "allows one writer" not in message


def test_a_run_of_ours_is_named_by_its_run_id(db_path, holders):
    PipelineStore(db_path).save_dataframe(pl.DataFrame({"id": [1]}), "genes")
    run = holders(db_path, "store = PipelineStore(sys.argv[1]); store.hold(run_id='run-4711')")
    assert holder_path(db_path).is_file()
    message = _locked_message(db_path, access_mode="READ_ONLY")
    assert message.startswith(f"{db_path} is locked by another process, PID {run.pid} (usher-assets run run-4711), "
                              "which has it open for writing; waited 0 s to open it for reading"), message


def test_a_stale_holder_file_is_ignored(db_path, holders):
    PipelineStore(db_path).save_dataframe(pl.DataFrame({"id": [1]}), "genes")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          timeout=60)
    holder_path(db_path).write_text(f'{{"pid": {int(gone.stdout)}, "run_id": "old-run", "mode": "reading"}}')
    other = holders(db_path, "con = duckdb.connect(sys.argv[1])")
    message = _locked_message(db_path)
    assert f"PID {other.pid}, which has it open for writing" in message and "old-run" not in message


def test_the_holder_file_goes_with_the_hold(db_path):
    store = PipelineStore(db_path)
    store.hold(run_id="run-1")
    assert '"run_id": "run-1"' in holder_path(db_path).read_text()
    with store.unheld():
        assert not holder_path(db_path).exists()
    assert holder_path(db_path).exists()
    store.release()
    assert not holder_path(db_path).exists()
    with store.session(run_id="run-2"):
        assert '"run_id": "run-2"' in holder_path(db_path).read_text()
    assert not holder_path(db_path).exists()


# -- names -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("schema, table", [("表", "gène_données"), ("données", "表"), ("main", "Ωmega_2")])
def test_unicode_schema_and_table_names_round_trip_through_the_store(store, schema, table):
    frame = pl.DataFrame({"名前": ["MYO7A", "USH2A"], "score": [1.0, 2.0]})
    store.save_dataframe(frame, table, schema=schema)
    assert store.load_dataframe(table, schema=schema).rows() == frame.rows()
    assert store.get_checkpoint(table, schema=schema).row_count == 2
    assert store.verify_checkpoint(store.get_checkpoint(table, schema=schema)) is None


def test_unicode_names_round_trip_through_dg_materialize(db_path):
    @dg.multi_asset(name="gene_data", outs={"gene_data": dg.AssetOut(key=dg.AssetKey(["表", "gène_données"]))})
    def gene_data():
        return pl.DataFrame({"名前": ["MYO7A"]})

    @dg.asset(ins={"upstream": dg.AssetIn(key=["表", "gène_données"])}, metadata={"schema": "données"})
    def scored(upstream: pl.DataFrame) -> pl.DataFrame:
        return upstream.with_columns(score=pl.lit(1.0))

    assert dg.materialize([gene_data, scored], resources={"io_manager": DuckDBIOManager(database=str(db_path))}).success
    store = PipelineStore(db_path)
    assert store.load_dataframe("gène_données", schema="表").rows() == [("MYO7A",)]
    assert store.load_dataframe("scored", schema="données").rows() == [("MYO7A", 1.0)]


@pytest.mark.parametrize("name", [
    'x"y', "x'y", "gene;DROP", "two words", "tab\there", "line\nbreak", "trailing\n", "nul\x00", "bell\x07", "",
    "9lives", "x" * 64, "gène-données", 'x"; DROP TABLE _checkpoints; --',
], ids=lambda name: repr(name)[:20])
@pytest.mark.parametrize("part", ["schema", "table"])
def test_names_that_cannot_be_quoted_safely_are_refused(store, db_path, name, part):
    args = {"schema": name, "table_name": "genes"} if part == "schema" else {"schema": "main", "table_name": name}
    with pytest.raises(ValueError, match=f"invalid {part} name") as caught:
        store.save_dataframe(pl.DataFrame({"id": [1]}), **args)
    assert "letters (any script), digits and underscores" in str(caught.value)
    assert "at most 63 characters" in str(caught.value)
    with pytest.raises(ValueError, match=f"invalid {part} name"):
        TableRef(args["schema"], args["table_name"])
    assert not store.list_checkpoints() if db_path.exists() else True


def test_sixty_three_characters_is_the_longest_name(store):
    store.save_dataframe(pl.DataFrame({"id": [1]}), "é" * 63)
    assert store.load_dataframe("é" * 63)["id"].to_list() == [1]
