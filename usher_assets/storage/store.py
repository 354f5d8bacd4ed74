"""PipelineStore: DuckDB tables with checkpoints and provenance, written in one transaction.

Knows DuckDB, polars, pandas and pyarrow; knows nothing of Dagster.
"""

import hashlib
import json
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb
import polars as pl
import pyarrow as pa

from usher_assets.storage.checkpoints import BOOKKEEPING_DDL, CHECKPOINT_COLUMNS, Checkpoint
from usher_assets.storage.sql import TableRef, quote, validate_name

PARTITION_COLUMN = "partition_key"
_INCOMING = "_usher_incoming"


class StoreError(RuntimeError):
    """A store operation failed; the message names the database file and the table."""


class StoreLockedError(StoreError):
    """Another process held the database's write lock for longer than the lock timeout."""


def to_arrow(frame: Any) -> pa.Table:
    """Accept a polars or pandas DataFrame or a pyarrow Table; columns keep their names."""
    if isinstance(frame, pl.DataFrame):
        return frame.to_arrow()
    if isinstance(frame, pa.Table):
        return frame
    if type(frame).__module__.startswith("pandas"):
        return pa.Table.from_pandas(frame, preserve_index=False)
    raise TypeError(f"cannot store a {type(frame).__name__}: expected a polars or pandas DataFrame or a pyarrow Table")


def _content_hash(columns: list[tuple[str, str]], row_count: int, row_hash_sum) -> str:
    text = json.dumps([columns, row_count, str(row_hash_sum)], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class PipelineStore:
    """One DuckDB file holding every asset table plus _checkpoints and _provenance.

    Each operation opens its own connection and closes it on every path, so the file's
    write lock is held only while a save or a read is running.
    """

    def __init__(self, db_path: Path | str, *, lock_timeout: float = 120.0):
        self.db_path = Path(db_path)
        self.lock_timeout = lock_timeout
        self._initialized = False
        self._session: duckdb.DuckDBPyConnection | None = None
        self._anchor: duckdb.DuckDBPyConnection | None = None

    @classmethod
    def from_config(cls, config) -> "PipelineStore":
        return cls(config.database_path, lock_timeout=config.storage.lock_timeout_seconds)

    def __enter__(self) -> "PipelineStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release a held database; otherwise nothing stays open between operations."""
        self.release()
        self._initialized = False

    # -- connections -------------------------------------------------------------------

    def hold(self) -> None:
        """Keep the database open in this process until release(), so each operation connects in microseconds.

        DuckDB reopens the file (tens of ms with many tables) whenever its last connection closes. Holding
        it also holds the file lock: use it for the span of a run, not for a long-lived server.
        """
        if self._anchor is None:
            self._anchor = self._open_with_retry()

    def release(self) -> None:
        if self._anchor is not None:
            self._anchor.close()
            self._anchor = None

    @contextmanager
    def unheld(self) -> Iterator[None]:
        """Let go of a held database for a while (a long computation), so other processes can write."""
        held = self._anchor is not None
        self.release()
        yield  # on an exception nothing is re-held: the body's own error must surface, not a lock wait
        if held:
            self.hold()

    @contextmanager
    def session(self) -> Iterator["PipelineStore"]:
        """Share one connection across the operations inside the block (opening the file is the slow part)."""
        if self._session is not None:
            yield self
            return
        with self.connect() as con:
            self._session = con
            try:
                yield self
            finally:
                self._session = None

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection that is always closed, retrying with backoff while another process holds the lock."""
        if self._session is not None:
            yield self._session
            return
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        # A file deleted since (a reset store) needs its bookkeeping tables again, even on a cached store.
        fresh = not self.db_path.exists()
        con = self._open_with_retry()
        try:
            if fresh or not self._initialized:
                for ddl in BOOKKEEPING_DDL:
                    con.execute(ddl)
                self._initialized = True
            yield con
        finally:
            con.close()

    def _open_with_retry(self) -> duckdb.DuckDBPyConnection:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)  # a fresh clone has no .usher/ yet
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        while True:
            try:
                con = duckdb.connect(str(self.db_path))
                # DuckDB draws its own bar on stdout for slow queries, even into a pipe (--json output).
                con.execute("SET enable_progress_bar_print = false")
                return con
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise StoreError(f"{self.db_path}: cannot open the database: {exc}") from exc
                if time.monotonic() + delay > deadline:
                    raise StoreLockedError(
                        f"{self.db_path} is locked by another process (DuckDB allows one writer); waited "
                        f"{self.lock_timeout:.0f} s. Stop the other process or raise storage.lock_timeout_seconds. "
                        f"DuckDB said: {exc}"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Commit on success, roll back on any exception."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # -- writing -----------------------------------------------------------------------

    def save_dataframe(self, df: Any, table_name: str, description: str | None = None, *,
                       schema: str = "main", partition_key: str | None = None,
                       fingerprint: str | None = None, fingerprint_parts: dict | None = None,
                       provenance: dict | None = None, run_id: str | None = None) -> Checkpoint:
        """Replace a table (or one partition slice of it) and record its checkpoint and provenance.

        The table write, the _checkpoints row and the _provenance row commit together or not at
        all: a failure, or a process killed mid-save, leaves the previous version in place.
        """
        return self.save_if_changed(df, table_name, description, schema=schema, partition_key=partition_key,
                                    fingerprint=fingerprint, fingerprint_parts=fingerprint_parts,
                                    provenance=provenance, run_id=run_id, keep_unchanged=False)[0]

    def save_if_changed(self, df: Any, table_name: str, description: str | None = None, *,
                        schema: str = "main", partition_key: str | None = None,
                        fingerprint: str | None = None, fingerprint_parts: dict | None = None,
                        provenance: dict | None = None, run_id: str | None = None,
                        keep_unchanged: bool = True) -> tuple[Checkpoint, bool]:
        """Like save_dataframe, but an intact table whose content equals the frame is left untouched.

        Returns the checkpoint and whether the table was written; an unchanged table only gets its
        checkpoint pointed at the new fingerprint (plus a provenance row), so readers see no rewrite.
        """
        ref = TableRef(schema, table_name, partition_key)
        data = to_arrow(df)
        # Reserved in every table: one holding it reads and verifies as partitioned (the column dropped).
        if PARTITION_COLUMN in data.column_names:
            raise ValueError(f"{ref.label}: the frame already has a column named {PARTITION_COLUMN!r}, "
                             "which the store uses for partition slices; rename it")
        try:
            with self.transaction() as con:
                con.register(_INCOMING, data)
                checkpoint, wrote = self._write(con, ref, description, fingerprint, fingerprint_parts,
                                                run_id, keep_unchanged, data.column_names)
                self._insert_provenance(con, ref, checkpoint, provenance or {})
                # Not in a finally: in an aborted transaction unregister itself fails and would hide
                # DuckDB's real error, and the rollback drops the view anyway.
                con.unregister(_INCOMING)
        except (duckdb.Error, pa.ArrowException) as exc:
            raise StoreError(f"{self.db_path}: saving {ref.label} failed, previous version kept: {exc}") from exc
        return checkpoint, wrote

    def _write(self, con, ref: TableRef, description, fingerprint, parts, run_id,
               keep_unchanged: bool, names: list[str]) -> tuple[Checkpoint, bool]:
        columns = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {_INCOMING}").fetchall()]
        if [c[0] for c in columns] != names:
            # DuckDB silently renames duplicate, case-colliding ("A", "a") and empty names.
            raise ValueError(f"{ref.label}: column names {names} cannot be stored as they are (DuckDB would "
                             f"store {[c[0] for c in columns]}); make them unique ignoring case, and non-empty")
        row_count, hash_sum = con.execute(
            f"SELECT count(*), sum(hash(*COLUMNS(*))::HUGEINT) FROM {_INCOMING}").fetchall()[0]
        content_hash = _content_hash(columns, row_count, hash_sum)
        previous = self._get_checkpoint(con, ref) if keep_unchanged else None
        # The stored table must be checked in full: one altered in place (same row count) and being
        # repaired by this save would otherwise be kept as it is.
        wrote = not (previous is not None and previous.content_hash == content_hash
                     and self._verify(con, previous, content=True) is None)
        if wrote:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(ref.schema)}")
            if ref.partition_key is None:
                con.execute(f"CREATE OR REPLACE TABLE {ref.qualified} AS SELECT * FROM {_INCOMING}")
            else:
                self._write_slice(con, ref, columns)
        con.execute("DELETE FROM main._checkpoints WHERE schema_name = ? AND table_name = ? AND partition_key = ?",
                    [ref.schema, ref.table, ref.partition_key or ""])
        # created_at says when the stored content was written: an unchanged table keeps its time, so
        # _checkpoints shows which slices a run actually rewrote.
        created_at = datetime.now(timezone.utc) if wrote else previous.created_at
        values = [ref.schema, ref.table, ref.partition_key or "", created_at, row_count, description, fingerprint,
                  json.dumps(parts or {}, sort_keys=True), content_hash, json.dumps(columns), run_id]
        con.execute(f"INSERT INTO main._checkpoints ({', '.join(CHECKPOINT_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(values))})", values)
        return Checkpoint.from_row(tuple(values)), wrote

    def _write_slice(self, con, ref: TableRef, columns: list[tuple[str, str]]) -> None:
        select = f"SELECT *, ?::VARCHAR AS {PARTITION_COLUMN} FROM {_INCOMING}"
        existing = self._table_columns(con, ref)
        if existing == columns + [(PARTITION_COLUMN, "VARCHAR")]:
            con.execute(f"DELETE FROM {ref.qualified} WHERE {PARTITION_COLUMN} = ?", [ref.partition_key])
            con.execute(f"INSERT INTO {ref.qualified} BY NAME {select}", [ref.partition_key])
            return
        # New table, or a changed schema: the other slices no longer fit, so they go, and their
        # checkpoints with them (in this same transaction); they are recomputed on their next run.
        con.execute(f"CREATE OR REPLACE TABLE {ref.qualified} AS {select}", [ref.partition_key])
        con.execute("DELETE FROM main._checkpoints WHERE schema_name = ? AND table_name = ?", [ref.schema, ref.table])

    def _insert_provenance(self, con, ref: TableRef, checkpoint: Checkpoint, record: dict) -> None:
        record = dict(record, row_count=checkpoint.row_count, content_hash=checkpoint.content_hash,
                      table=ref.label)
        con.execute(
            "INSERT INTO main._provenance VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            # Its own time, not the checkpoint's: a record attached later (record_provenance, or an
            # unchanged save) must sort after the one written with the table in latest_provenance.
            [ref.schema, ref.table, ref.partition_key or "", datetime.now(timezone.utc), record.get("run_id"),
             record.get("asset_key"), checkpoint.fingerprint, record.get("code_version"),
             record.get("config_hash"), record.get("pipeline_version"),
             json.dumps(record.get("source_releases", {}), sort_keys=True),
             json.dumps(record.get("steps", []), default=str),
             json.dumps(record.get("library_versions", {}), sort_keys=True),
             checkpoint.row_count, checkpoint.content_hash, json.dumps(record, default=str, sort_keys=True)])

    def record_provenance(self, table_name: str, record: dict, *, schema: str = "main",
                          partition_key: str | None = None) -> None:
        """Append a provenance row for a table that has a checkpoint."""
        ref = TableRef(schema, table_name, partition_key)
        with self.transaction() as con:
            checkpoint = self._get_checkpoint(con, ref)
            if checkpoint is None:
                raise StoreError(f"{self.db_path}: {ref.label} has no checkpoint to attach provenance to")
            self._insert_provenance(con, ref, checkpoint, record)

    def latest_provenance(self, table_name: str, *, schema: str = "main",
                          partition_key: str | None = None) -> dict | None:
        """The most recent provenance record of a table or slice, as written."""
        with self.connect() as con:
            rows = con.execute("SELECT record FROM main._provenance WHERE schema_name = ? AND table_name = ? "
                               "AND partition_key = ? ORDER BY created_at DESC LIMIT 1",
                               [schema, table_name, partition_key or ""]).fetchall()
        return json.loads(rows[0][0]) if rows else None

    # -- reading -----------------------------------------------------------------------

    def load_dataframe(self, table_name: str, as_polars: bool = True, *, schema: str = "main",
                       partition_key: str | None = None, as_type: str | None = None,
                       columns: list[str] | None = None) -> Any:
        """Read a table or slice as polars (default), pandas (`as_type="pandas"`) or arrow; None if missing.

        `as_polars=False` returns a pyarrow Table. The partition column is dropped from slices.
        """
        ref = TableRef(schema, table_name, partition_key)
        kind = as_type or ("polars" if as_polars else "arrow")
        select = ", ".join(quote(validate_name(c, "column name")) for c in columns) if columns else "*"
        try:
            with self.connect() as con:
                present = self._table_columns(con, ref)
                if not present:
                    return None
                partitioned = (PARTITION_COLUMN, "VARCHAR") in present
                if select == "*" and partitioned:
                    select = f"* EXCLUDE ({PARTITION_COLUMN})"
                sql, params = f"SELECT {select} FROM {ref.qualified}", []
                if partition_key is not None:
                    sql, params = sql + f" WHERE {PARTITION_COLUMN} = ?", [partition_key]
                elif partitioned:
                    sql += f" ORDER BY {PARTITION_COLUMN}"
                table = con.sql(sql, params=params).to_arrow_table()
        except duckdb.Error as exc:
            raise StoreError(f"{self.db_path}: loading {ref.label} failed: {exc}") from exc
        if kind == "arrow":
            return table
        if kind == "pandas":
            return table.to_pandas()
        return pl.from_arrow(table)

    @staticmethod
    def _table_columns(con, ref: TableRef) -> list[tuple[str, str]]:
        rows = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [ref.schema, ref.table]).fetchall()
        return [(r[0], r[1]) for r in rows]

    def table_exists(self, table_name: str, *, schema: str = "main") -> bool:
        with self.connect() as con:
            return bool(self._table_columns(con, TableRef(schema, table_name)))

    # -- checkpoints -------------------------------------------------------------------

    def _get_checkpoint(self, con, ref: TableRef) -> Checkpoint | None:
        rows = con.execute(
            f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM main._checkpoints "
            "WHERE schema_name = ? AND table_name = ? AND partition_key = ?",
            [ref.schema, ref.table, ref.partition_key or ""]).fetchall()
        return Checkpoint.from_row(rows[0]) if rows else None

    def get_checkpoint(self, table_name: str, *, schema: str = "main",
                       partition_key: str | None = None) -> Checkpoint | None:
        with self.connect() as con:
            return self._get_checkpoint(con, TableRef(schema, table_name, partition_key))

    def get_checkpoints(self, refs: list[TableRef]) -> dict[TableRef, Checkpoint | None]:
        """Several checkpoints in one query per table (the skip decision reads a table's slices at once)."""
        found: dict[TableRef, Checkpoint] = {}
        for schema, table in dict.fromkeys((r.schema, r.table) for r in refs):
            for checkpoint in self.list_checkpoints(schema=schema, table_name=table):
                found[TableRef(schema, table, checkpoint.partition_key)] = checkpoint
        return {ref: found.get(ref) for ref in refs}

    def has_checkpoint(self, table_name: str, *, schema: str = "main", partition_key: str | None = None) -> bool:
        return self.get_checkpoint(table_name, schema=schema, partition_key=partition_key) is not None

    def list_checkpoints(self, schema: str | None = None, table_name: str | None = None) -> list[Checkpoint]:
        sql = f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM main._checkpoints WHERE true"
        params: list = []
        if schema is not None:
            sql, params = sql + " AND schema_name = ?", params + [schema]
        if table_name is not None:
            sql, params = sql + " AND table_name = ?", params + [table_name]
        with self.connect() as con:
            rows = con.execute(sql + " ORDER BY schema_name, table_name, partition_key", params).fetchall()
        return [Checkpoint.from_row(r) for r in rows]

    def delete_checkpoint(self, table_name: str, *, schema: str = "main", partition_key: str | None = None,
                          drop_data: bool = True) -> bool:
        """Forget a checkpoint (and by default its table or slice); True if there was one."""
        ref = TableRef(schema, table_name, partition_key)
        with self.transaction() as con:
            existed = self._get_checkpoint(con, ref) is not None
            con.execute("DELETE FROM main._checkpoints WHERE schema_name = ? AND table_name = ? AND partition_key = ?",
                        [schema, table_name, partition_key or ""])
            if drop_data and self._table_columns(con, ref):
                if partition_key is None:
                    con.execute(f"DROP TABLE {ref.qualified}")
                else:
                    con.execute(f"DELETE FROM {ref.qualified} WHERE {PARTITION_COLUMN} = ?", [partition_key])
        return existed

    def verify_checkpoint(self, checkpoint: Checkpoint, *, content: bool = True) -> str | None:
        """None if the stored table or slice still matches its checkpoint, else what is wrong."""
        return self.verify_checkpoints([checkpoint], content=content)[0]

    def verify_checkpoints(self, checkpoints: list[Checkpoint], *, content: bool = True) -> list[str | None]:
        """verify_checkpoint for many, one scan per table (a partitioned table's slices are grouped)."""
        by_table: dict[tuple[str, str], list[int]] = {}
        for index, checkpoint in enumerate(checkpoints):
            by_table.setdefault((checkpoint.schema_name, checkpoint.table_name), []).append(index)
        problems: list[str | None] = [None] * len(checkpoints)
        with self.connect() as con:
            for (schema, table), indexes in by_table.items():
                found = self._table_state(con, TableRef(schema, table), content)
                for index in indexes:
                    problems[index] = self._compare(checkpoints[index], found)
        return problems

    def _table_state(self, con, ref: TableRef, content: bool) -> dict | None:
        """Columns, and per slice ('' for a whole table) row count and content hash, in one scan."""
        present = self._table_columns(con, ref)
        if not present:
            return None
        partitioned = (PARTITION_COLUMN, "VARCHAR") in present
        data_columns = [c for c in present if c != (PARTITION_COLUMN, "VARCHAR")] if partitioned else present
        cols = f"* EXCLUDE ({PARTITION_COLUMN})" if partitioned else "*"
        hashed = f"sum(hash(*COLUMNS({cols}))::HUGEINT)" if content else "NULL"
        key = PARTITION_COLUMN if partitioned else "''"
        rows = con.execute(f"SELECT {key}, count(*), {hashed} FROM {ref.qualified} GROUP BY ALL").fetchall()
        return {"columns": data_columns, "partitioned": partitioned, "content": content,
                "slices": {r[0]: (r[1], r[2]) for r in rows}}

    @staticmethod
    def _compare(checkpoint: Checkpoint, found: dict | None) -> str | None:
        ref = TableRef(checkpoint.schema_name, checkpoint.table_name, checkpoint.partition_key)
        if found is None:
            return f"table {ref.qualified} is missing"
        if found["columns"] != checkpoint.columns:
            return f"columns changed: expected {checkpoint.columns}, found {found['columns']}"
        row_count, hash_sum = found["slices"].get(checkpoint.partition_key or "", (0, None))
        if row_count != checkpoint.row_count:
            return f"row count is {row_count}, checkpoint recorded {checkpoint.row_count}"
        if found["content"] and _content_hash(found["columns"], row_count, hash_sum) != checkpoint.content_hash:
            return "content changed since the checkpoint was written"
        return None

    def _verify(self, con, checkpoint: Checkpoint, content: bool) -> str | None:
        return self._compare(checkpoint, self._table_state(con, TableRef(checkpoint.schema_name,
                                                                        checkpoint.table_name), content))

    # -- queries, exports, file hashes -----------------------------------------------

    def execute_query(self, sql: str, params: list | dict | None = None) -> pl.DataFrame:
        """Run SQL with bound parameters and return the result as a polars DataFrame."""
        with self.connect() as con:
            return pl.from_arrow(con.sql(sql, params=params).to_arrow_table())

    def export_parquet(self, table_name: str, path: Path | str, *, schema: str = "main",
                       provenance=None, order_by: list[str] | None = None) -> Path:
        """Write a table to Parquet with DuckDB's COPY, plus a `.provenance.json` sidecar."""
        ref = TableRef(schema, table_name)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        order = f" ORDER BY {', '.join(quote(validate_name(c, 'column name')) for c in order_by)}" if order_by else ""
        with self.connect() as con:
            checkpoint = self._get_checkpoint(con, ref)
            con.execute(f"COPY (SELECT * FROM {ref.qualified}{order}) TO '{_sql_string(tmp)}' (FORMAT parquet)")
        tmp.replace(path)
        if provenance is not None:
            extra = {"table": ref.label}
            if checkpoint is not None:
                extra |= {"row_count": checkpoint.row_count, "content_hash": checkpoint.content_hash,
                          "fingerprint": checkpoint.fingerprint}
            provenance.save_sidecar(path, **extra)
        return path

    def file_sha256(self, path: Path | str) -> str:
        """SHA-256 of a file, cached by path, size and mtime so unchanged files are not re-read."""
        path = Path(path).resolve()
        stat = path.stat()
        key = [str(path), stat.st_size, stat.st_mtime_ns]
        with self.connect() as con:
            rows = con.execute("SELECT sha256 FROM main._file_hashes WHERE path = ? AND size = ? AND mtime_ns = ?",
                               key).fetchall()
        if rows:
            return rows[0][0]
        digest = sha256_file(path)
        with self.transaction() as con:
            con.execute("DELETE FROM main._file_hashes WHERE path = ?", [str(path)])
            con.execute("INSERT INTO main._file_hashes VALUES (?, ?, ?, ?)", key + [digest])
        return digest


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _sql_string(path: Path) -> str:
    # COPY ... TO takes a literal, not a bound parameter.
    return str(path).replace("'", "''")
