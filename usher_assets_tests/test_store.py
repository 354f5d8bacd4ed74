"""PipelineStore on a real DuckDB file: round trips, checkpoints, exports, safety of names and of failed saves."""

import hashlib
import json
import os
from datetime import date, datetime, timezone

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

from usher_assets.storage import PipelineStore, ProvenanceTracker, StoreError
from usher_assets.storage.store import PARTITION_COLUMN

INJECTION = 'x"; DROP TABLE _checkpoints; --'

GENES = pl.DataFrame(
    {
        "entrez_id": [4647, None, 7399],
        "score": [0.875, None, -1.5],
        "gene_symbol": ["MYO7A", None, "USH2A"],
        "released": [date(2024, 10, 18), None, date(2020, 2, 29)],
    },
    schema={"entrez_id": pl.Int64, "score": pl.Float64, "gene_symbol": pl.String, "released": pl.Date},
)


# Tests that open, delete or edit the DuckDB file itself; test_delta_store.py covers the Delta side.
DUCKDB_FILE = pytest.mark.parametrize("store", ["duckdb"], indirect=True)


def _as_kind(frame: pl.DataFrame, kind: str):
    if kind == "pandas":
        return pd.DataFrame({
            "entrez_id": pd.array(frame["entrez_id"].to_list(), dtype="Int64"),
            "score": frame["score"].to_list(),
            "gene_symbol": frame["gene_symbol"].to_list(),
            "released": frame["released"].to_list(),
        })
    return frame.to_arrow() if kind == "arrow" else frame


def _snapshot(store: PipelineStore, table: str) -> tuple:
    """Everything a failed save must leave alone: the table, its checkpoint and the provenance rows."""
    provenance = store.execute_query("SELECT * EXCLUDE (created_at), epoch_us(created_at) AS written_us "
                                     "FROM _provenance ORDER BY written_us")
    stored = store.load_dataframe(table)
    return stored.schema, stored.rows(), store.get_checkpoint(table), provenance.rows()
@DUCKDB_FILE
def test_store_creates_database_file(store, db_path):
    assert not db_path.exists()
    store.save_dataframe(GENES, "genes")
    assert db_path.is_file()
    tables = set(store.execute_query("SELECT table_name FROM information_schema.tables")["table_name"])
    assert {"genes", "_checkpoints", "_provenance", "_file_hashes"} <= tables


@pytest.mark.parametrize("kind", ["polars", "pandas", "arrow"])
def test_save_dataframe_round_trips_values(store, kind):
    store.save_dataframe(_as_kind(GENES, kind), "genes")
    assert_frame_equal(store.load_dataframe("genes"), GENES)


def test_load_dataframe_as_arrow_and_pandas(store):
    store.save_dataframe(GENES, "genes")
    arrow = store.load_dataframe("genes", as_type=pa.Table)
    assert isinstance(arrow, pa.Table)
    assert_frame_equal(pl.from_arrow(arrow), GENES)
    assert isinstance(store.load_dataframe("genes", as_polars=False), pd.DataFrame)
    frame = store.load_dataframe("genes", as_type="pandas")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == GENES.columns
    assert frame["gene_symbol"].tolist()[::2] == ["MYO7A", "USH2A"] and pd.isna(frame["gene_symbol"][1])
    assert frame["entrez_id"].tolist()[::2] == [4647, 7399] and pd.isna(frame["entrez_id"][1])
    assert frame["score"].tolist()[::2] == [0.875, -1.5] and pd.isna(frame["score"][1])
    assert [pd.Timestamp(d).date() for d in frame["released"][::2]] == [date(2024, 10, 18), date(2020, 2, 29)]


def test_load_dataframe_selects_columns(store):
    store.save_dataframe(GENES, "genes")
    assert_frame_equal(store.load_dataframe("genes", columns=["gene_symbol", "entrez_id"]),
                       GENES.select("gene_symbol", "entrez_id"))


def test_checkpoint_lifecycle(store):
    before = datetime.now(timezone.utc)
    saved = store.save_dataframe(GENES, "genes", "One row per test gene", fingerprint="f1",
                                 fingerprint_parts={"code_version": "abc"})
    assert store.has_checkpoint("genes")
    [listed] = store.list_checkpoints()
    assert listed == saved == store.get_checkpoint("genes")
    assert (listed.table_name, listed.partition_key, listed.row_count, listed.description, listed.fingerprint) == (
        "genes", None, 3, "One row per test gene", "f1")
    assert listed.fingerprint_parts == {"code_version": "abc"}
    assert before <= listed.created_at <= datetime.now(timezone.utc)
    assert listed.columns == [("entrez_id", "BIGINT"), ("score", "DOUBLE"), ("gene_symbol", "VARCHAR"),
                              ("released", "DATE")]
    assert store.verify_checkpoint(listed) is None

    assert store.delete_checkpoint("genes", drop_data=True) is True
    assert not store.has_checkpoint("genes")
    assert store.list_checkpoints() == []
    assert store.load_dataframe("genes") is None
    assert store.delete_checkpoint("genes") is False


def test_delete_checkpoint_can_keep_data(store):
    store.save_dataframe(GENES, "genes")
    store.delete_checkpoint("genes", drop_data=False)
    assert not store.has_checkpoint("genes")
    assert_frame_equal(store.load_dataframe("genes"), GENES)


def test_export_parquet_writes_file_and_provenance_sidecar(store, tmp_path):
    saved = store.save_dataframe(GENES, "genes", fingerprint="f1", run_id="run-1",
                                 provenance={"config_hash": "c" * 64, "code_version": "7", "asset_key": "genes"})
    tracker = ProvenanceTracker()
    tracker.step("export")
    path = store.export_parquet("genes", tmp_path / "out" / "genes.parquet", provenance=tracker,
                                order_by=["gene_symbol"])
    assert path == tmp_path / "out" / "genes.parquet"
    assert_frame_equal(pl.read_parquet(path), GENES.sort("gene_symbol", nulls_last=True))
    sidecar = ProvenanceTracker.load_sidecar(path)
    assert sidecar == ProvenanceTracker.load_sidecar(tmp_path / "out" / "genes.parquet.provenance.json")
    assert [sidecar[k] for k in ("file", "table", "row_count", "content_hash", "fingerprint")] == [
        "genes.parquet", "main.genes", 3, saved.content_hash, "f1"]
    # The sidecar is the table's own provenance record; the tracker adds how the file was made.
    assert (sidecar["run_id"], sidecar["config_hash"], sidecar["code_version"], sidecar["asset_key"]) == (
        "run-1", "c" * 64, "7", "genes")
    assert sidecar["export_steps"][0]["step"] == "export"
    assert sorted(p.name for p in path.parent.iterdir()) == ["genes.parquet", "genes.parquet.provenance.json"]


def test_missing_table_gives_none(store):
    assert store.load_dataframe("absent") is None
    assert store.load_dataframe("absent", schema="evidence", partition_key="1") is None
    assert store.get_checkpoint("absent") is None
    assert store.latest_provenance("absent") is None
    assert store.table_exists("absent") is False


def test_store_context_manager_closes_every_connection(db_path):
    with PipelineStore(db_path) as store:
        store.save_dataframe(GENES, "genes")
        with store.connect() as con:
            pass
    with pytest.raises(duckdb.ConnectionException):
        con.execute("SELECT 1")
    # No connection stays open: DuckDB would refuse a read-only open next to a read-write one.
    with duckdb.connect(str(db_path), read_only=True) as other:
        assert other.execute("SELECT count(*) FROM genes").fetchone() == (3,)
@DUCKDB_FILE
def test_store_recreates_bookkeeping_after_file_deleted(store, db_path):
    # The I/O manager keeps one store object per file and process; a reset database must still work.
    store.save_dataframe(GENES, "genes")
    db_path.unlink()
    assert store.list_checkpoints() == []
    store.save_dataframe(GENES, "genes")
    assert store.has_checkpoint("genes")
@DUCKDB_FILE
def test_transaction_rolls_back_on_error(store):
    store.save_dataframe(GENES, "genes")
    with pytest.raises(ZeroDivisionError):
        with store.transaction() as con:
            con.execute("DELETE FROM genes")
            1 / 0
    assert store.load_dataframe("genes").height == 3


def test_execute_query_binds_parameters(store):
    store.save_dataframe(GENES, "genes")
    positional = store.execute_query("SELECT entrez_id FROM genes WHERE gene_symbol = ?", ["USH2A"])
    named = store.execute_query("SELECT entrez_id FROM genes WHERE gene_symbol = $symbol", {"symbol": "MYO7A"})
    assert positional["entrez_id"].to_list() == [7399]
    assert named["entrez_id"].to_list() == [4647]


def test_execute_query_parameter_is_inert(store):
    store.save_dataframe(GENES, "genes")
    hostile = "'; DROP TABLE genes; --"
    assert store.execute_query("SELECT * FROM genes WHERE gene_symbol = ?", [hostile]).height == 0
    assert store.execute_query("SELECT ? AS echoed", [hostile])["echoed"].to_list() == [hostile]
    assert_frame_equal(store.load_dataframe("genes"), GENES)


def test_save_writes_columns_by_name_not_position(store):
    store.save_dataframe(pl.DataFrame({"pli": [0.9, 0.1], "loeuf": [0.2, 1.4]}), "constraint")
    # Same types, other order: a positional insert would put pli values under loeuf.
    store.save_dataframe(pl.DataFrame({"loeuf": [0.3, 1.5], "pli": [0.8, 0.0]}), "constraint")
    stored = store.load_dataframe("constraint")
    assert stored["pli"].to_list() == [0.8, 0.0]
    assert stored["loeuf"].to_list() == [0.3, 1.5]
    assert store.verify_checkpoint(store.get_checkpoint("constraint")) is None


def test_save_writes_slice_columns_by_name(store):
    store.save_dataframe(pl.DataFrame({"pli": [0.9], "loeuf": [0.2]}), "constraint", partition_key="1")
    store.save_dataframe(pl.DataFrame({"loeuf": [0.3], "pli": [0.8]}), "constraint", partition_key="2")
    assert store.load_dataframe("constraint", partition_key="2").to_dicts() == [{"loeuf": 0.3, "pli": 0.8}]
    # A reorder is not a schema change: the other slice and its checkpoint stay, and both verify.
    assert [c.partition_key for c in store.list_checkpoints()] == ["1", "2"]
    assert store.load_dataframe("constraint").to_dicts() == [{"pli": 0.9, "loeuf": 0.2}, {"pli": 0.8, "loeuf": 0.3}]
    assert store.verify_checkpoints(store.list_checkpoints()) == [None, None]


def test_save_replaces_table_when_schema_changes(store):
    store.save_dataframe(GENES, "genes")
    changed = pl.DataFrame({"hgnc_id": ["HGNC:7606"], "score": ["high"]})
    checkpoint = store.save_dataframe(changed, "genes")
    assert_frame_equal(store.load_dataframe("genes"), changed)
    assert checkpoint.columns == [("hgnc_id", "VARCHAR"), ("score", "VARCHAR")]
    assert store.verify_checkpoint(checkpoint) is None


def test_save_empty_frame_keeps_columns_and_types(store):
    checkpoint = store.save_dataframe(GENES.clear(), "genes")
    stored = store.load_dataframe("genes")
    assert stored.height == 0 and stored.schema == GENES.schema
    assert checkpoint.row_count == 0
    assert store.verify_checkpoint(checkpoint) is None


@pytest.mark.parametrize("call", [
    lambda s: s.save_dataframe(GENES, INJECTION),
    lambda s: s.save_dataframe(GENES, "genes", schema=INJECTION),
    lambda s: s.load_dataframe(INJECTION),
    lambda s: s.load_dataframe("genes", columns=[INJECTION]),
    lambda s: s.get_checkpoint(INJECTION),
    lambda s: s.delete_checkpoint(INJECTION),
    lambda s: s.export_parquet(INJECTION, "/tmp/never.parquet"),
], ids=["save", "save-schema", "load", "load-column", "get-checkpoint", "delete", "export"])
def test_injection_name_is_rejected(store, call):
    store.save_dataframe(GENES, "genes")
    with pytest.raises(ValueError, match="invalid"):
        call(store)
    assert store.table_exists("_checkpoints")
    assert store.has_checkpoint("genes")


@pytest.mark.parametrize("columns", [["Score", "score"], ["score", "score"], ["", "gene"]],
                         ids=["case-collision", "duplicate", "empty-name"])
def test_save_rejects_column_names_duckdb_would_rename(store, columns):
    # DuckDB renames such columns (score_1, v0): the stored names would not be the frame's.
    frame = pa.table([pa.array([1]), pa.array([2])], names=columns)
    with pytest.raises(ValueError, match="column"):
        store.save_dataframe(frame, "genes")
    assert store.load_dataframe("genes") is None


class _FailsAfterProvenance(PipelineStore):
    """Fails at the very end of the transaction, after table, checkpoint and provenance were written."""

    def _insert_provenance(self, con, ref, checkpoint, record):
        super()._insert_provenance(con, ref, checkpoint, record)
        raise RuntimeError("injected failure")


UNSTORABLE = {
    # DuckDB has no half-float: the save fails when DuckDB first scans the frame.
    "float16": (pa.table({"score": pa.array([0.5], pa.float16())}), "Unsupported"),
    # Duplicate map keys fail while the content hash is computed, inside the transaction.
    "duplicate-map-key": (pa.table({"m": pa.array([[("k", 1), ("k", 2)]], pa.map_(pa.string(), pa.int64()))}),
                          "duplicate key"),
}


@pytest.mark.parametrize("case", ["float16", "duplicate-map-key", "injected", "injected-slice"])
def test_failed_save_keeps_previous_version(db_path, case):
    store = PipelineStore(db_path)
    partition = "1" if case == "injected-slice" else None
    store.save_dataframe(GENES, "genes", "first", fingerprint="f1", partition_key=partition,
                         provenance={"run_id": "run-1"})
    before = _snapshot(store, "genes")
    if case.startswith("injected"):
        failing, frame, message = _FailsAfterProvenance(db_path), GENES.head(1), "injected failure"
        error = RuntimeError
    else:
        failing, (frame, message), error = store, UNSTORABLE[case], StoreError
    with pytest.raises(error, match=message):
        failing.save_dataframe(frame, "genes", "second", fingerprint="f2", partition_key=partition,
                               provenance={"run_id": "run-2"})
    assert _snapshot(store, "genes") == before
    assert store.verify_checkpoint(store.get_checkpoint("genes", partition_key=partition)) is None
@DUCKDB_FILE
def test_session_shares_one_connection_and_survives_a_failed_save(store, db_path):
    with store.session():
        with store.connect() as first, store.connect() as second:
            assert first is second
        store.save_dataframe(GENES, "genes")
        with pytest.raises(StoreError, match="duplicate key"):
            store.save_dataframe(UNSTORABLE["duplicate-map-key"][0], "genes")
        store.save_dataframe(GENES.head(1), "genes", partition_key="1")
        assert store.load_dataframe("genes", partition_key="1").height == 1
        assert "_usher_incoming" not in store.execute_query("SHOW TABLES")["name"].to_list()
    with duckdb.connect(str(db_path), read_only=True) as other:  # the session's connection is closed
        assert other.execute("SELECT count(*) FROM _checkpoints").fetchone() == (1,)


def test_partition_slices_have_their_own_checkpoints(store):
    first, second = GENES.head(2), GENES.tail(1)
    store.save_dataframe(first, "genes", schema="evidence", partition_key="1", fingerprint="f1")
    store.save_dataframe(second, "genes", schema="evidence", partition_key="2", fingerprint="f2")
    assert_frame_equal(store.load_dataframe("genes", schema="evidence", partition_key="1"), first)
    assert_frame_equal(store.load_dataframe("genes", schema="evidence", partition_key="2"), second)
    assert_frame_equal(store.load_dataframe("genes", schema="evidence"), GENES)
    listed = store.list_checkpoints(schema="evidence", table_name="genes")
    assert [(c.partition_key, c.row_count, c.fingerprint) for c in listed] == [("1", 2, "f1"), ("2", 1, "f2")]
    # Rewriting one slice leaves the other slice and its checkpoint alone.
    store.save_dataframe(second, "genes", schema="evidence", partition_key="2", fingerprint="f3")
    assert store.get_checkpoint("genes", schema="evidence", partition_key="1") == listed[0]
    assert store.load_dataframe("genes", schema="evidence").height == 3
    assert store.delete_checkpoint("genes", schema="evidence", partition_key="1", drop_data=True)
    assert_frame_equal(store.load_dataframe("genes", schema="evidence"), second)
    assert store.verify_checkpoint(store.get_checkpoint("genes", schema="evidence", partition_key="2")) is None


def test_save_rejects_slice_frame_with_the_store_partition_column(store):
    # A slice kept in the store's own partition_key column cannot hold a user column of that name.
    with pytest.raises(ValueError, match=PARTITION_COLUMN):
        store.save_dataframe(GENES.with_columns(pl.lit("1").alias(PARTITION_COLUMN)), "genes", partition_key="1")
    assert store.load_dataframe("genes") is None


def test_whole_table_may_have_a_partition_key_column(store):
    frame = GENES.with_columns(pl.lit("1").alias(PARTITION_COLUMN))
    store.save_dataframe(frame, "genes")
    assert_frame_equal(store.load_dataframe("genes"), frame)
    assert store.verify_checkpoint(store.get_checkpoint("genes")) is None


def test_save_if_changed_leaves_equal_content_untouched(store):
    first = store.save_dataframe(GENES, "genes", fingerprint="f1", provenance={"run_id": "run-1"})
    checkpoint, wrote = store.save_if_changed(GENES.reverse(), "genes", fingerprint="f2",
                                              provenance={"run_id": "run-2"})
    assert wrote is False
    assert checkpoint.fingerprint == "f2" == store.get_checkpoint("genes").fingerprint
    # created_at says when the stored content was written, so an unchanged table keeps it.
    assert checkpoint.created_at == first.created_at == store.get_checkpoint("genes").created_at
    assert store.latest_provenance("genes")["run_id"] == "run-2"
    assert_frame_equal(store.load_dataframe("genes"), GENES)
    _, wrote = store.save_if_changed(GENES.head(2), "genes", fingerprint="f3")
    assert wrote is True
@DUCKDB_FILE
def test_save_if_changed_repairs_table_altered_in_place(store, db_path):
    store.save_dataframe(GENES, "genes", partition_key="1")
    with duckdb.connect(str(db_path)) as con:  # same row count, other content
        con.execute("UPDATE genes SET gene_symbol = 'MYO7B' WHERE gene_symbol = 'MYO7A'")
    checkpoint, wrote = store.save_if_changed(GENES, "genes", partition_key="1")
    assert wrote is True
    assert_frame_equal(store.load_dataframe("genes", partition_key="1"), GENES)
    assert store.verify_checkpoint(checkpoint) is None


ALTERATIONS = {
    "updated": ("UPDATE {table} SET score = 0.5 WHERE gene_symbol = 'MYO7A'", "content changed"),
    "truncated": ("DELETE FROM {table} WHERE gene_symbol = 'USH2A'", "row count is"),
    "dropped": ("DROP TABLE {table}", "missing"),
    "column-added": ("ALTER TABLE {table} ADD COLUMN extra INTEGER", "columns changed"),
}


@DUCKDB_FILE
@pytest.mark.parametrize("partition", [None, "1"], ids=["table", "slice"])
@pytest.mark.parametrize("alteration", list(ALTERATIONS))
def test_verify_checkpoint_reports_altered_table(store, db_path, alteration, partition):
    checkpoint = store.save_dataframe(GENES, "genes", schema="evidence", partition_key=partition)
    if partition:
        store.save_dataframe(GENES, "genes", schema="evidence", partition_key="2")
    assert store.verify_checkpoint(checkpoint) is None
    sql, problem = ALTERATIONS[alteration]
    with duckdb.connect(str(db_path)) as con:  # altered behind the store's back
        con.execute(sql.format(table="evidence.genes"))
    assert problem in store.verify_checkpoint(checkpoint)


@pytest.fixture
def reads_of(monkeypatch):
    """reads_of(path) -> how many times `path` was opened since the fixture started (builtins.open and io.open)."""
    import builtins
    import io
    from pathlib import Path

    opened: list[Path] = []
    real_open = builtins.open

    def counting_open(file, *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)):
            opened.append(Path(os.fsdecode(file)).resolve())
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(io, "open", counting_open)
    return lambda path: opened.count(Path(path).resolve())
@DUCKDB_FILE
def test_file_sha256_is_cached_by_size_and_mtime(store, db_path, tmp_path, reads_of):
    path = tmp_path / "source.tsv"
    path.write_text("hgnc_id\tsymbol\nHGNC:7606\tMYO7A\n")
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    baseline = reads_of(path)
    assert store.file_sha256(path) == expected
    assert reads_of(path) - baseline == 1
    assert store.execute_query("SELECT sha256 FROM _file_hashes")["sha256"].to_list() == [expected]
    # Unchanged size and mtime: answered from the cache, in this store and in a new one on the same file.
    assert store.file_sha256(path) == expected
    assert PipelineStore(db_path).file_sha256(path) == expected
    assert reads_of(path) - baseline == 1
    # Another size: read again.
    path.write_text("hgnc_id\tsymbol\nHGNC:7606\tMYO7A\nHGNC:12601\tUSH2A\n")
    grown = hashlib.sha256(path.read_bytes()).hexdigest()
    baseline = reads_of(path)
    assert store.file_sha256(path) == grown != expected
    assert reads_of(path) - baseline == 1
    assert store.execute_query("SELECT count(*) AS n FROM _file_hashes")["n"].item() == 1
    # Same size, another mtime: read again, even though the size alone says nothing changed.
    stat = path.stat()
    path.write_text("hgnc_id\tsymbol\nHGNC:7606\tMYO7A\nHGNC:12601\tUSH2B\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert path.stat().st_size == stat.st_size
    edited = hashlib.sha256(path.read_bytes()).hexdigest()
    baseline = reads_of(path)
    assert store.file_sha256(path) == edited != grown
    assert store.file_sha256(path) == edited
    assert reads_of(path) - baseline == 1


def test_provenance_row_is_written_with_the_table(store):
    store.save_dataframe(GENES, "genes", provenance={"run_id": "run-1", "asset_key": "genes", "steps": [{"step": "x"}]},
                         fingerprint="f1")
    row = store.execute_query("SELECT * FROM _provenance").row(0, named=True)
    assert (row["table_name"], row["run_id"], row["asset_key"], row["fingerprint"], row["row_count"]) == (
        "genes", "run-1", "genes", "f1", 3)
    assert row["content_hash"] == store.get_checkpoint("genes").content_hash
    assert json.loads(row["steps"]) == [{"step": "x"}]


def test_store_hold_creates_the_database_directory(tmp_path):
    # What a pipeline run does first on a fresh clone, where .usher/ does not exist yet.
    store = PipelineStore(tmp_path / "not" / "yet" / "usher.duckdb")
    store.hold()
    try:
        store.save_dataframe(pl.DataFrame({"a": [1]}), "t")
    finally:
        store.release()
    assert store.load_dataframe("t")["a"].to_list() == [1]
