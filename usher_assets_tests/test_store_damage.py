"""Damaged database files, made for real: bytes overwritten inside a data block or the catalog, a truncated file.

`checkpoints verify` reports each damaged table and slice by name and goes on; the damage is recorded beside the
file and no save writes into it until the table is dropped or the file restored; a damaged catalog is a
StoreError naming the file, at the first open of a run too.
"""

import json
import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from conftest import write_config
from pipeline_runs import usher_cli

from usher_assets.storage import DuckDBIOManager, PipelineStore, StoreError
from usher_assets.storage.damage import marker_path
from usher_assets.storage.store import StoreDamagedError

HEADER = 3 * 4096  # DuckDB's file header and its two database headers precede block 0
BLOCK = 256 * 1024
ROWS = 300_000  # several 256 KiB blocks per table


def build(db_path: Path) -> None:
    store = PipelineStore(db_path)
    store.save_dataframe(pl.DataFrame({"hgnc_id": ["HGNC:12597", "HGNC:12601"]}), "genes", schema="sources")
    store.save_dataframe(pl.DataFrame({"id": range(ROWS), "label": [f"row {i}" for i in range(ROWS)]}), "big")
    for chromosome in ("1", "11", "X"):
        frame = pl.DataFrame({"id": range(ROWS), "label": [f"{chromosome}:{i}" for i in range(ROWS)]})
        store.save_dataframe(frame, "layer", schema="evidence", partition_key=chromosome)


def blocks_of(db_path: Path, table: str, partition: str | None = None) -> set[int]:
    """Blocks holding `table`'s data (only row groups wholly of `partition`), none shared with any other table."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        def used(name: str) -> list[tuple]:
            return con.execute(f"SELECT row_group_id, column_name, block_id, stats FROM pragma_storage_info('{name}')"
                               " WHERE block_id >= 0").fetchall()

        tables = [f"{s}.{t}" for s, t in con.execute("SELECT table_schema, table_name FROM information_schema.tables"
                                                     ).fetchall()]
        mine = used(table)
        others = {row[2] for name in tables if name != table for row in used(name)}
    if partition is not None:
        groups = {row[0] for row in mine if row[1] == "partition_key"
                  and str(row[3]["min"]) == str(row[3]["max"]) == partition}
        foreign = {row[2] for row in mine if row[0] not in groups}
        return {row[2] for row in mine if row[0] in groups} - foreign - others
    return {row[2] for row in mine} - others


def catalog_blocks(db_path: Path) -> list[int]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return [row[0] for row in con.execute("SELECT block_id FROM pragma_metadata_info()").fetchall()]


def overwrite_block(db_path: Path, block: int) -> None:
    with open(db_path, "r+b") as handle:
        handle.seek(HEADER + block * BLOCK + 4096)  # past the block's checksum, inside its data
        handle.write(b"\xde\xad\xbe\xef" * 1024)


@pytest.fixture
def config(tmp_path) -> Path:
    path = write_config(tmp_path)
    build(tmp_path / "usher.duckdb")
    shutil.copy(tmp_path / "usher.duckdb", tmp_path / "backup.duckdb")
    return path


def test_verify_reports_a_damaged_table_by_name_and_saves_are_refused(config, tmp_path):
    db_path = tmp_path / "usher.duckdb"
    overwrite_block(db_path, sorted(blocks_of(db_path, "main.big"))[1])

    result = usher_cli("checkpoints", "verify", config=config)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("main.big: damaged block: Corrupt database file: computed checksum"), result.stdout
    assert lines[1] == "checked 5 checkpoint(s): 1 problem(s)"  # genes and the three slices still verify
    assert "restore the file from a copy" in lines[2] and "usher-assets checkpoints delete main.big" in lines[2]
    assert json.loads(marker_path(db_path).read_text())["tables"].keys() == {"main.big"}

    # No write goes into the damaged file, not even of an intact table, from the store or a run.
    store = PipelineStore(db_path)
    with pytest.raises(StoreDamagedError) as caught:
        store.save_dataframe(pl.DataFrame({"hgnc_id": ["HGNC:1"]}), "genes", schema="sources")
    message = str(caught.value)
    assert message.startswith(f"{db_path}: refusing to save sources.genes: the file has damaged blocks in main.big")
    assert "usher-assets checkpoints delete main.big" in message

    @dg.asset(key_prefix="sources")
    def genes() -> pl.DataFrame:
        return pl.DataFrame({"hgnc_id": ["HGNC:2"]})

    run = dg.materialize([genes], resources={"io_manager": DuckDBIOManager(database=str(db_path))},
                         raise_on_error=False)
    assert not run.success
    failure = next(e for e in run.all_events if e.is_step_failure).step_failure_data.error
    assert "refusing to save sources.genes" in str(failure.cause or failure)
    assert PipelineStore(db_path).load_dataframe("genes", schema="sources")["hgnc_id"].to_list() == \
        ["HGNC:12597", "HGNC:12601"]

    # Dropping the damaged table clears the marker; the next run recomputes it, and writes work again.
    result = usher_cli("checkpoints", "delete", "main.big", config=config)
    assert result.returncode == 0, result.stderr
    assert not marker_path(db_path).exists()
    assert usher_cli("checkpoints", "verify", config=config).stdout.strip() == "checked 4 checkpoint(s): all intact"
    store.save_dataframe(pl.DataFrame({"hgnc_id": ["HGNC:1"]}), "genes", schema="sources")


def test_a_damaged_slice_is_reported_alone_and_a_restored_copy_clears_the_marker(config, tmp_path):
    db_path = tmp_path / "usher.duckdb"
    overwrite_block(db_path, sorted(blocks_of(db_path, "evidence.layer", "11"))[0])

    result = usher_cli("checkpoints", "verify", "--json", config=config)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert [p["table"] for p in report["problems"]] == ["evidence.layer[11]"]
    assert report["problems"][0]["problem"].startswith("damaged block: Corrupt database file")
    assert report["damaged"] == ["evidence.layer"]
    with pytest.raises(StoreDamagedError, match="refusing to save main.other"):
        PipelineStore(db_path).save_dataframe(pl.DataFrame({"a": [1]}), "other")
    # Loading the damaged slice names file, table and what to do; the intact slices still load.
    with pytest.raises(StoreDamagedError) as caught:
        PipelineStore(db_path).load_dataframe("layer", schema="evidence", partition_key="11")
    assert str(caught.value).startswith(f"{db_path}: loading evidence.layer failed: table evidence.layer has a "
                                        "damaged block (Corrupt database file")
    assert PipelineStore(db_path).load_dataframe("layer", schema="evidence", partition_key="X").height == ROWS

    shutil.copy(tmp_path / "backup.duckdb", db_path)  # restore from a copy
    assert marker_path(db_path).exists()  # the store cannot know until it has read the file again
    result = usher_cli("checkpoints", "verify", config=config)
    assert (result.returncode, result.stdout.strip()) == (0, "checked 5 checkpoint(s): all intact")
    assert not marker_path(db_path).exists()
    PipelineStore(db_path).save_dataframe(pl.DataFrame({"a": [1]}), "other")


def test_a_truncated_file_reports_the_slices_past_its_end(config, tmp_path):
    db_path = tmp_path / "usher.duckdb"
    kept = catalog_blocks(db_path) + [b for name in ("main.big", "sources.genes", "main._checkpoints",
                                                     "main._provenance") for b in blocks_of(db_path, name)]
    cut = max(kept) + 1
    assert cut <= max(blocks_of(db_path, "evidence.layer")), "the build no longer ends with layer's blocks"
    os.truncate(db_path, HEADER + cut * BLOCK)  # a copy that stopped short: some of layer's blocks are gone

    result = usher_cli("checkpoints", "verify", "--json", config=config)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    damaged = [p["table"] for p in report["problems"]]
    assert damaged and set(damaged) <= {"evidence.layer[1]", "evidence.layer[11]", "evidence.layer[X]"}, damaged
    assert all(p["problem"].startswith("damaged block: IO Error: Could not read enough bytes from file")
               for p in report["problems"])
    assert report["damaged"] == ["evidence.layer"]
    with pytest.raises(StoreDamagedError, match="refusing to save"):
        PipelineStore(db_path).save_dataframe(pl.DataFrame({"a": [1]}), "other")


def test_truncation_into_the_bookkeeping_tables_says_restore_the_file(config, tmp_path):
    db_path = tmp_path / "usher.duckdb"
    os.truncate(db_path, HEADER + min(blocks_of(db_path, "main._checkpoints")) * BLOCK)
    result = usher_cli("checkpoints", "verify", config=config)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.startswith(f"{db_path}: listing checkpoints (main._checkpoints) failed: table the store's "
                                    "own tables (_checkpoints, _provenance, ...) has a damaged block (IO Error: "
                                    "Could not read enough bytes"), result.stdout
    assert "restore the file from a copy, or move it aside so the next run recomputes every table" in result.stdout


def test_a_garbage_catalog_block_is_a_store_error_naming_the_file(config, tmp_path):
    db_path = tmp_path / "usher.duckdb"
    for block in catalog_blocks(db_path):
        overwrite_block(db_path, block)
    with pytest.raises(duckdb.Error, match="Corrupt database file"):  # what DuckDB itself says, file unnamed
        duckdb.connect(str(db_path)).close()

    with pytest.raises(StoreDamagedError) as caught:
        PipelineStore(db_path).list_checkpoints()
    message = str(caught.value)
    assert message.startswith(f"{db_path}: cannot open the database: its catalog")
    assert "Restore the file from a copy" in message

    result = usher_cli("checkpoints", "verify", config=config)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.startswith(f"{db_path}: cannot open the database: its catalog")

    # A run's first touch of the file (loading an input) fails with the same named error.
    @dg.asset
    def downstream(big: pl.DataFrame) -> pl.DataFrame:
        return big

    big_spec = dg.AssetSpec("big")
    run = dg.materialize([big_spec, downstream], selection=[downstream],
                         resources={"io_manager": DuckDBIOManager(database=str(db_path))}, raise_on_error=False)
    assert not run.success
    failure = next(e for e in run.all_events if e.is_step_failure).step_failure_data.error
    cause = failure.cause or failure
    assert cause.cls_name == "StoreDamagedError" and str(db_path) in cause.message, cause
    assert issubclass(StoreDamagedError, StoreError)
