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

from usher_assets.storage import table_state, writes
from usher_assets.storage.damage import (
    BOOKKEEPING, clear_damage, damaged_message, damaged_tables, is_block_error, record_damage, refusal)
from usher_assets.storage.holder import describe_holder, remove_holder, write_holder
from usher_assets.storage.checkpoints import BOOKKEEPING_DDL, CHECKPOINT_COLUMNS, Checkpoint
from usher_assets.storage.sql import Slice, TableRef, any_of, hidden_slice, quote, slice_case, validate_name
from usher_assets.storage.table_state import PARTITION_COLUMN
from usher_assets.storage.type_handlers import UnsupportedTypeError, handler_for_type, to_arrow
from usher_assets.storage.writes import INCOMING, Written

# Connections carry dagster-duckdb's user agent: DuckDB lets one process open a file twice only with
# the same configuration, so a DuckDBResource on the same file works beside the store in one run.
DEFAULT_CONNECTION_CONFIG = {"custom_user_agent": "dagster"}


class StoreError(RuntimeError):
    """A store operation failed; the message names the database file and the table."""


class StoreConfigError(StoreError, duckdb.InvalidInputException):
    """DuckDB refused the connection settings (connection_config); also a duckdb.InvalidInputException, as the
    same mistake raises through dagster-duckdb."""


class StoreValueError(StoreError, ValueError):
    """The frame cannot be stored as it is (column names, partition rows, a schema change); nothing was written."""


class StoreLockedError(StoreError):
    """Another process held the database's write lock for longer than the lock timeout."""


class StoreDamagedError(StoreError):
    """A block of the file is damaged (checksum or truncation), or an earlier read found one: nothing is written."""


class PipelineStore:
    """One DuckDB file holding every asset table plus _checkpoints and _provenance.

    Each operation opens its own connection and closes it on every path, so the file's
    write lock is held only while a save or a read is running.
    """

    backend = "duckdb"

    def __init__(self, db_path: Path | str, *, lock_timeout: float = 120.0, connection_config: dict | None = None):
        self.db_path = Path(db_path)
        self.lock_timeout = lock_timeout
        self.connection_config = DEFAULT_CONNECTION_CONFIG | dict(connection_config or {})
        self._initialized = False
        self._session: duckdb.DuckDBPyConnection | None = None
        self._anchor: duckdb.DuckDBPyConnection | None = None
        self._run_id: str | None = None

    def __enter__(self) -> "PipelineStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release a held database; otherwise nothing stays open between operations."""
        self.release()
        self._initialized = False

    # -- connections -------------------------------------------------------------------

    def hold(self, run_id: str | None = None) -> None:
        """Keep the database open in this process until release(), so each operation connects in microseconds.

        DuckDB reopens the file (tens of ms with many tables) whenever its last connection closes. Holding
        it also holds the file lock: use it for the span of a run, not for a long-lived server. `run_id`
        goes in `<db>.holder.json`, so another process's lock timeout can say which run holds the file.
        """
        self._run_id = run_id or self._run_id
        if self._anchor is None:
            self._anchor = self._open_with_retry()
            write_holder(self.db_path, self._mode, self._run_id)

    def release(self) -> None:
        if self._anchor is not None:
            self._anchor.close()
            self._anchor = None
            if self._session is None:
                remove_holder(self.db_path)

    @property
    def _mode(self) -> str:
        read_only = str(self.connection_config.get("access_mode", "")).lower() == "read_only"
        return "reading" if read_only or self.connection_config.get("read_only") else "writing"

    @contextmanager
    def unheld(self) -> Iterator[None]:
        """Let go of a held database for a while (a long computation), so other processes can write."""
        held = self._anchor is not None
        self.release()
        yield  # on an exception nothing is re-held: the body's own error must surface, not a lock wait
        if held:
            self.hold()

    @contextmanager
    def session(self, run_id: str | None = None) -> Iterator["PipelineStore"]:
        """Share one connection across the operations inside the block (opening the file is the slow part)."""
        if self._session is not None:
            yield self
            return
        self._run_id = run_id or self._run_id
        with self.connect() as con:
            self._session = con
            if self._anchor is None:
                write_holder(self.db_path, self._mode, self._run_id)
            try:
                yield self
            finally:
                self._session = None
                if self._anchor is None:
                    remove_holder(self.db_path)

    @contextmanager
    def connect(self, table: str | None = None, action: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection that is always closed, retrying with backoff while another process holds the lock.

        A DuckDB error inside the block comes out as a StoreError naming the file and `table`, led by
        `action` (default "reading <table> failed");
        a damaged block is recorded (see damage.py), so no later save writes into the file.
        """
        if self._session is not None:
            with self._errors(table, action):
                yield self._session
            return
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        # A file deleted since (a reset store) needs its bookkeeping tables again, even on a cached store.
        fresh = not self.db_path.exists()
        con = self._open_with_retry()
        try:
            with self._errors(table, action):
                if fresh or not self._initialized:
                    for ddl in BOOKKEEPING_DDL:
                        con.execute(ddl)
                    self._initialized = True
                yield con
        finally:
            con.close()

    @contextmanager
    def _errors(self, table: str | None, action: str | None) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except duckdb.Error as exc:
            where = action or f"reading {table or 'the database'} failed"
            if is_block_error(exc):
                record_damage(self.db_path, table or BOOKKEEPING, exc)
                raise StoreDamagedError(damaged_message(self.db_path, table or BOOKKEEPING, where, exc)) from exc
            raise StoreError(f"{self.db_path}: {where}: {exc}") from exc

    def _open_with_retry(self) -> duckdb.DuckDBPyConnection:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)  # a fresh clone has no .usher/ yet
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        while True:
            try:
                con = duckdb.connect(str(self.db_path), config=dict(self.connection_config))
                # DuckDB draws its own bar on stdout for slow queries, even into a pipe (--json output).
                con.execute("SET enable_progress_bar_print = false")
                return con
            except duckdb.InvalidInputException as exc:
                raise StoreConfigError(f"{self.db_path}: DuckDB refused the connection settings "
                                       f"{self.connection_config}: {exc}") from exc
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise StoreError(f"{self.db_path}: cannot open the database: {exc}") from exc
                if time.monotonic() + delay > deadline:
                    raise StoreLockedError(
                        f"{self.db_path} is locked by another process, {describe_holder(self.db_path, str(exc))}; waited "
                        f"{self.lock_timeout:.0f} s to open it for {self._mode} (DuckDB lets one process write, or "
                        "several read, not both at once). Wait for it or stop it, or raise "
                        f"storage.lock_timeout_seconds. DuckDB said: {' '.join(str(exc).split())}"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
            except duckdb.Error as exc:
                if is_block_error(exc):
                    raise StoreDamagedError(
                        f"{self.db_path}: cannot open the database: its catalog (the block listing the tables) is "
                        f"damaged ({' '.join(str(exc).split())}); no table can be read. Restore the file from a "
                        "copy, or move it aside so the next run recomputes every table") from exc
                raise StoreError(f"{self.db_path}: cannot open the database: {exc}") from exc

    @contextmanager
    def transaction(self, table: str | None = None, action: str | None = None
                    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """Commit on success, roll back on any exception."""
        with self.connect(table, action or f"writing {table or 'the database'} failed") as con:
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
        A `partition_key` with no slice predicate is kept in the store's own partition_key column.
        """
        ref = TableRef(schema, table_name)
        slices = None if partition_key is None else [hidden_slice(partition_key, PARTITION_COLUMN)]
        fingerprints = {partition_key: (fingerprint, fingerprint_parts or {})}
        saved = self.save(df, ref, slices, fingerprints, description=description, provenance=provenance,
                          run_id=run_id, keep_unchanged=keep_unchanged)
        return saved[0]

    def save(self, df: Any, ref: TableRef, slices: list[Slice] | None,
             fingerprints: dict[str | None, tuple[str | None, dict]], *, description: str | None = None,
             provenance: dict | None = None, run_id: str | None = None,
             keep_unchanged: bool = True, keep: frozenset[str] = frozenset()) -> list[tuple[Checkpoint, bool]]:
        """Replace a whole table (`slices` None) or the given slices of it, in one transaction.

        Each slice is selected from the frame by its predicate, written only if its content changed,
        and gets its own checkpoint (fingerprint from `fingerprints[key]`) and provenance row. Rows of
        slices in `keep` (checkpoints the caller reuses) are dropped, and those slices left untouched.
        """
        data = self._incoming(df, ref)
        label = ref.label if slices is None else f"{ref.label}[{', '.join(s.key for s in slices)}]"
        damaged = damaged_tables(self.db_path)
        if damaged:
            raise StoreDamagedError(refusal(self.db_path, label, damaged))
        try:
            with self.transaction(TableRef(ref.schema, ref.table).label,
                                  f"saving {label} failed, previous version kept") as con:
                con.register(INCOMING, data)
                previous = {c.partition_key: c for c in self._checkpoints_of(con, ref)}
                if slices is None:
                    outcomes = [writes.write_table(con, ref, data.column_names,
                                                   previous.get(None) if keep_unchanged else None)]
                else:
                    prior = {s.key: previous.get(s.key) if keep_unchanged else None for s in slices}
                    outcomes = writes.write_slices(con, ref, data.column_names, slices, prior,
                                                   {k for k in previous if k is not None}, None in previous,
                                                   frozenset(keep))
                saved = []
                for outcome in outcomes:
                    fingerprint, parts = fingerprints.get(outcome.key, (None, {}))
                    checkpoint = self._record_checkpoint(con, ref, outcome, previous.get(outcome.key), description,
                                                         fingerprint, parts, run_id)
                    self._insert_provenance(con, ref.slice(outcome.key), checkpoint,
                                            {"run_id": run_id} | (provenance or {}) | {"fingerprint": fingerprint})
                    saved.append((checkpoint, outcome.wrote))
                # Not in a finally: in an aborted transaction unregister itself fails and would hide
                # DuckDB's real error, and the rollback drops the view anyway.
                con.unregister(INCOMING)
        except StoreError:
            raise
        except ValueError as exc:
            raise StoreValueError(f"{self.db_path}: saving {label} failed, previous version kept: {exc}") from exc
        except duckdb.Error as exc:
            raise StoreError(f"{self.db_path}: saving {label} failed, previous version kept: {exc}") from exc
        return saved

    def _incoming(self, df: Any, ref: TableRef) -> pa.Table:
        """The frame as Arrow, or a StoreValueError naming the column that cannot be stored."""
        try:
            return to_arrow(df, ref.label)
        except (pa.ArrowException, UnsupportedTypeError) as exc:
            raise StoreValueError(f"{self.db_path}: saving {ref.label} failed, previous version kept: "
                                  f"{_describe_conversion_error(df, exc)}") from exc

    def _record_checkpoint(self, con, ref: TableRef, outcome: Written, previous: Checkpoint | None,
                           description, fingerprint, parts, run_id) -> Checkpoint:
        key = outcome.key or ""
        con.execute("DELETE FROM main._checkpoints WHERE schema_name = ? AND table_name = ? AND partition_key = ?",
                    [ref.schema, ref.table, key])
        # created_at says when the stored content was written: an unchanged table keeps its time, so
        # _checkpoints shows which slices a run actually rewrote.
        created_at = previous.created_at if (previous is not None and not outcome.wrote) else datetime.now(timezone.utc)
        values = [ref.schema, ref.table, key, created_at, outcome.row_count, description, fingerprint,
                  json.dumps(parts or {}, sort_keys=True), outcome.content_hash, json.dumps(outcome.columns), run_id,
                  outcome.slice.where if outcome.slice is not None else None]
        con.execute(f"INSERT INTO main._checkpoints ({', '.join(CHECKPOINT_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(values))})", values)
        return Checkpoint.from_row(tuple(values))

    def _insert_provenance(self, con, ref: TableRef, checkpoint: Checkpoint, record: dict) -> None:
        values = provenance_row(ref, checkpoint, record)
        con.execute(f"INSERT INTO main._provenance VALUES ({', '.join('?' * len(values))})", values)

    def record_provenance(self, table_name: str, record: dict, *, schema: str = "main",
                          partition_key: str | None = None) -> None:
        """Append a provenance row for a table that has a checkpoint."""
        ref = TableRef(schema, table_name, partition_key)
        with self.transaction(ref.label, f"recording provenance of {ref.label} failed") as con:
            checkpoint = self._get_checkpoint(con, ref)
            if checkpoint is None:
                raise StoreError(f"{self.db_path}: {ref.label} has no checkpoint to attach provenance to")
            self._insert_provenance(con, ref, checkpoint, record)

    def latest_provenance(self, table_name: str, *, schema: str = "main",
                          partition_key: str | None = None) -> dict | None:
        """The most recent provenance record of a table or slice, as written."""
        with self.connect(TableRef(schema, table_name, partition_key).label, "reading provenance failed") as con:
            rows = con.execute("SELECT record FROM main._provenance WHERE schema_name = ? AND table_name = ? "
                               "AND partition_key = ? ORDER BY created_at DESC LIMIT 1",
                               [schema, table_name, partition_key or ""]).fetchall()
        return json.loads(rows[0][0]) if rows else None

    # -- reading -----------------------------------------------------------------------

    def load_dataframe(self, table_name: str, as_polars: bool = True, *, schema: str = "main",
                       partition_key: str | None = None, as_type: Any = None,
                       columns: list[str] | None = None) -> Any:
        """Read a table or one slice: polars by default, pandas with `as_polars=False`; None if missing.

        `as_type` picks the frame type explicitly (a type such as pyarrow.Table, or "polars", "pandas",
        "arrow"). The store's own partition column is never returned.
        """
        ref = TableRef(schema, table_name)
        kind = as_type if as_type is not None else ("polars" if as_polars else "pandas")
        kind = {"polars": pl.DataFrame, "arrow": pa.Table, "pyarrow": pa.Table}.get(kind, kind)
        if kind == "pandas":
            import pandas as pd

            kind = pd.DataFrame
        handler = handler_for_type(kind, ref.label)
        slices = None
        if partition_key is not None:
            checkpoint = self.get_checkpoint(table_name, schema=schema, partition_key=partition_key)
            slice_ = table_state.checkpoint_slice(checkpoint) if checkpoint else None
            slices = [slice_ or hidden_slice(partition_key, PARTITION_COLUMN)]
        table = self.load(ref, slices, columns=columns)
        return None if table is None else handler.from_arrow(table)

    def load(self, ref: TableRef, slices: list[Slice] | None, *, columns: list[str] | None = None) -> pa.Table | None:
        """The rows of the given slices (all rows when None) as Arrow, in slice order; None if no table."""
        with self.connect(ref.label, f"loading {ref.label} failed") as con:
            present = table_state.table_columns(con, ref)
            if not present:
                return None
            hidden = (slices is not None and any(s.hidden for s in slices)) or (
                slices is None and self._hidden_partitioned(con, ref, present))
            names = [c for c, _ in table_state.data_columns(present, hidden)]
            if columns:
                for column in columns:
                    validate_name(column, "column name")
                unknown = [c for c in columns if c not in names]
                if unknown:
                    raise StoreValueError(f"{self.db_path}: {ref.label} has no columns {unknown} (it has {names})")
                names = list(columns)
            select = ", ".join(quote(n) for n in names)
            source, row_order = self._ordered_rows(ref)
            sql = f"SELECT {select} FROM {source}"
            if slices is not None:
                sql += f" WHERE {any_of([s.where for s in slices])}"
            if slices is not None and len(slices) > 1:
                sql += f" ORDER BY {slice_case(slices)}, {row_order}"
            elif slices is None and hidden:
                sql += f" ORDER BY {PARTITION_COLUMN}, {row_order}"
            elif not self.scan_keeps_written_order:
                sql += f" ORDER BY {row_order}"
            return con.sql(sql).to_arrow_table()

    # A DuckDB table scans in the order its rows were written; files of a Delta table do not.
    scan_keeps_written_order = True

    @staticmethod
    def _ordered_rows(ref: TableRef) -> tuple[str, str]:
        """Where a table's rows are read from, and the column that keeps them in written order."""
        return ref.qualified, "rowid"

    @staticmethod
    def _hidden_partitioned(con, ref: TableRef, present) -> bool:
        if (PARTITION_COLUMN, "VARCHAR") not in present:
            return False
        rows = con.execute("SELECT slice_where FROM main._checkpoints WHERE schema_name = ? AND table_name = ? "
                           "AND partition_key <> '' LIMIT 1", [ref.schema, ref.table]).fetchall()
        return bool(rows) and (rows[0][0] is None or rows[0][0].startswith(quote(PARTITION_COLUMN) + " ="))

    def table_columns(self, table_name: str, *, schema: str = "main") -> list[tuple[str, str]]:
        ref = TableRef(schema, table_name)
        with self.connect(ref.label) as con:
            return table_state.table_columns(con, ref)

    def table_exists(self, table_name: str, *, schema: str = "main") -> bool:
        return bool(self.table_columns(table_name, schema=schema))

    # -- checkpoints -------------------------------------------------------------------

    def _checkpoints_of(self, con, ref: TableRef) -> list[Checkpoint]:
        rows = con.execute(f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM main._checkpoints "
                           "WHERE schema_name = ? AND table_name = ?", [ref.schema, ref.table]).fetchall()
        return [Checkpoint.from_row(r) for r in rows]

    def _get_checkpoint(self, con, ref: TableRef) -> Checkpoint | None:
        rows = con.execute(
            f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM main._checkpoints "
            "WHERE schema_name = ? AND table_name = ? AND partition_key = ?",
            [ref.schema, ref.table, ref.partition_key or ""]).fetchall()
        return Checkpoint.from_row(rows[0]) if rows else None

    def get_checkpoint(self, table_name: str, *, schema: str = "main",
                       partition_key: str | None = None) -> Checkpoint | None:
        ref = TableRef(schema, table_name, partition_key)
        with self.connect(ref.label, f"reading the checkpoint of {ref.label} failed") as con:
            return self._get_checkpoint(con, ref)

    def get_checkpoints(self, refs: list[TableRef]) -> dict[TableRef, Checkpoint | None]:
        """Several checkpoints in one query (the skip decision reads a table's slices at once)."""
        found: dict[TableRef, Checkpoint] = {}
        for (schema, table), checkpoints in self.checkpoints_of_tables(refs).items():
            for checkpoint in checkpoints:
                found[TableRef(schema, table, checkpoint.partition_key)] = checkpoint
        return {ref: found.get(ref) for ref in refs}

    def checkpoints_of_tables(self, refs: list[TableRef]) -> dict[tuple[str, str], list[Checkpoint]]:
        """Every checkpoint of each named table, in one query: (schema, table) -> its slices in key order."""
        tables = list(dict.fromkeys((r.schema, r.table) for r in refs))
        if not tables:
            return {}
        where = " OR ".join("(schema_name = ? AND table_name = ?)" for _ in tables)
        with self.connect(None, "listing checkpoints (main._checkpoints) failed") as con:
            rows = con.execute(f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM main._checkpoints WHERE {where} "
                               "ORDER BY schema_name, table_name, partition_key",
                               [v for pair in tables for v in pair]).fetchall()
        found: dict[tuple[str, str], list[Checkpoint]] = {t: [] for t in tables}
        for row in rows:
            checkpoint = Checkpoint.from_row(row)
            found[(checkpoint.schema_name, checkpoint.table_name)].append(checkpoint)
        return found

    def has_checkpoint(self, table_name: str, *, schema: str = "main", partition_key: str | None = None) -> bool:
        return self.get_checkpoint(table_name, schema=schema, partition_key=partition_key) is not None

    def list_checkpoints(self, schema: str | None = None, table_name: str | None = None) -> list[Checkpoint]:
        sql = f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM main._checkpoints WHERE true"
        params: list = []
        if schema is not None:
            sql, params = sql + " AND schema_name = ?", params + [schema]
        if table_name is not None:
            sql, params = sql + " AND table_name = ?", params + [table_name]
        with self.connect(None, "listing checkpoints (main._checkpoints) failed") as con:
            rows = con.execute(sql + " ORDER BY schema_name, table_name, partition_key", params).fetchall()
        return [Checkpoint.from_row(r) for r in rows]

    def delete_checkpoint(self, table_name: str, *, schema: str = "main", partition_key: str | None = None,
                          drop_data: bool = False) -> bool:
        """Forget a checkpoint, so the next run recomputes it; `drop_data` also deletes its table or slice.

        Returns True if there was a checkpoint.
        """
        ref = TableRef(schema, table_name, partition_key)
        with self.transaction(TableRef(schema, table_name).label,
                              f"deleting the checkpoint of {ref.label} failed") as con:
            checkpoint = self._get_checkpoint(con, ref)
            con.execute("DELETE FROM main._checkpoints WHERE schema_name = ? AND table_name = ? AND partition_key = ?",
                        [schema, table_name, partition_key or ""])
            if drop_data and table_state.table_columns(con, ref):
                if partition_key is None:
                    con.execute(f"DROP TABLE {ref.qualified}")
                else:
                    where = (table_state.checkpoint_slice(checkpoint) if checkpoint
                             else hidden_slice(partition_key, PARTITION_COLUMN)).where
                    con.execute(f"DELETE FROM {ref.qualified} WHERE {where}")
            gone = drop_data and partition_key is None
        if gone:
            clear_damage(self.db_path, [TableRef(schema, table_name).label])  # its damaged blocks are free now
        return checkpoint is not None

    def verify_checkpoint(self, checkpoint: Checkpoint, *, content: bool = True) -> str | None:
        """None if the stored table or slice still matches its checkpoint, else what is wrong."""
        return self.verify_checkpoints([checkpoint], content=content)[0]

    def verify_checkpoints(self, checkpoints: list[Checkpoint], *, content: bool = True) -> list[str | None]:
        """verify_checkpoint for many, one scan per table (a partitioned table's slices are grouped)."""
        by_table: dict[tuple[str, str], list[int]] = {}
        for index, checkpoint in enumerate(checkpoints):
            by_table.setdefault((checkpoint.schema_name, checkpoint.table_name), []).append(index)
        problems: list[str | None] = [None] * len(checkpoints)
        with self.connect(None, "verifying checkpoints failed") as con:
            for (schema, table), indexes in by_table.items():
                ref = TableRef(schema, table)
                found = self._verify_readable(con, ref, [checkpoints[i] for i in indexes], content)
                for index, problem in zip(indexes, found):
                    problems[index] = problem
        return problems

    def _verify_readable(self, con, ref: TableRef, checkpoints: list[Checkpoint], content: bool) -> list[str | None]:
        """verify_table, going on past a damaged block: each slice is then read alone, and the damage recorded."""
        try:
            found = table_state.verify_table(con, ref, checkpoints, content)
        except duckdb.Error as exc:
            if not is_block_error(exc):
                raise
            found = [f"damaged block: {' '.join(str(exc).split())}"] if len(checkpoints) == 1 else \
                [self._verify_readable(con, ref, [c], content)[0] for c in checkpoints]
            record_damage(self.db_path, ref.label, exc)
            return found
        if content:
            clear_damage(self.db_path, [ref.label])  # every row read cleanly
        return found

    # -- remembered check outcomes ----------------------------------------------------

    def remembered_checks(self, ref: TableRef) -> dict[str, tuple[str, tuple[bool, str, dict]]]:
        """check name -> (the content key it was evaluated for, (passed, finding, metadata))."""
        with self.connect(ref.label, f"reading the check outcomes of {ref.label} failed") as con:
            rows = con.execute("SELECT check_name, content_hash, passed, finding, metadata FROM main._check_results "
                               "WHERE schema_name = ? AND table_name = ?", [ref.schema, ref.table]).fetchall()
        return {name: (key, (passed, finding, json.loads(metadata))) for name, key, passed, finding, metadata in rows}

    def remember_check(self, ref: TableRef, name: str, content_key: str, outcome: tuple[bool, str, dict]) -> None:
        passed, finding, metadata = outcome
        with self.transaction(ref.label, f"remembering check {name} of {ref.label} failed") as con:
            con.execute("DELETE FROM main._check_results WHERE schema_name = ? AND table_name = ? AND check_name = ?",
                        [ref.schema, ref.table, name])
            con.execute("INSERT INTO main._check_results VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [ref.schema, ref.table, name, content_key, passed, finding, json.dumps(metadata)])

    # -- queries, exports, file hashes -----------------------------------------------

    def execute_query(self, sql: str, params: list | dict | None = None) -> pl.DataFrame:
        """Run SQL with bound parameters and return the result as a polars DataFrame."""
        with self.connect(None, f"query {' '.join(sql.split())[:80]!r} failed") as con:
            return pl.from_arrow(con.sql(sql, params=params).to_arrow_table())

    def export_parquet(self, table_name: str, path: Path | str, *, schema: str = "main",
                       provenance=None, order_by: list[str] | None = None) -> Path:
        """Write a table to Parquet with DuckDB's COPY, plus a `.provenance.json` sidecar.

        The sidecar is the table's own latest `_provenance` record (run id, code version, fingerprint,
        row count, content hash, ...); a ProvenanceTracker passed in adds its export steps.
        """
        ref = TableRef(schema, table_name)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        order = f" ORDER BY {', '.join(quote(validate_name(c, 'column name')) for c in order_by)}" if order_by else ""
        with self.connect(ref.label, f"exporting {ref.label} to {path} failed") as con:
            if not table_state.table_columns(con, ref):
                raise StoreError(f"{self.db_path}: no stored table {ref.label} to export")
            con.execute(f"COPY (SELECT * FROM {ref.qualified}{order}) TO '{_sql_string(tmp)}' (FORMAT parquet)")
        tmp.replace(path)
        self.write_sidecar(path, ref, provenance)
        return path

    def table_record(self, ref: TableRef) -> dict:
        """The provenance a file made from this table carries: its latest record plus its checkpoint."""
        record = dict(self.latest_provenance(ref.table, schema=ref.schema, partition_key=ref.partition_key) or {})
        checkpoint = self.get_checkpoint(ref.table, schema=ref.schema, partition_key=ref.partition_key)
        if checkpoint is not None:
            record |= {"row_count": checkpoint.row_count, "content_hash": checkpoint.content_hash,
                       "fingerprint": checkpoint.fingerprint, "checkpoint_run_id": checkpoint.run_id}
        return record | {"table": ref.label}

    def write_sidecar(self, path: Path | str, ref: TableRef, provenance=None, **extra) -> Path:
        """`<path>.provenance.json` with the full record of the table the file was made from."""
        from usher_assets.storage.provenance import write_sidecar

        record = self.table_record(ref)
        if provenance is not None:
            record["export_steps"] = provenance.to_dict().get("steps", [])
        return write_sidecar(path, record | extra)

    def file_sha256(self, path: Path | str) -> str:
        """SHA-256 of a file, cached by path, size and mtime so unchanged files are not re-read."""
        path = Path(path).resolve()
        stat = path.stat()
        key = [str(path), stat.st_size, stat.st_mtime_ns]
        with self.connect(None, f"reading the cached hash of {path} failed") as con:
            rows = con.execute("SELECT sha256 FROM main._file_hashes WHERE path = ? AND size = ? AND mtime_ns = ?",
                               key).fetchall()
        if rows:
            return rows[0][0]
        digest = sha256_file(path)
        with self.transaction(None, f"caching the hash of {path} failed") as con:
            con.execute("DELETE FROM main._file_hashes WHERE path = ?", [str(path)])
            con.execute("INSERT INTO main._file_hashes VALUES (?, ?, ?, ?)", key + [digest])
        return digest


def open_store(location: Path | str, backend: str = "duckdb", *, lock_timeout: float = 120.0,
               connection_config: dict | None = None, storage_options: dict | None = None,
               delta_index: str | None = None) -> "PipelineStore":
    """The store at `location`: a DuckDB file ('duckdb'), or a directory of Delta tables ('delta'), whose index
    entries go to the PostgreSQL database `delta_index` names, else beside local tables."""
    if backend == "delta":
        from usher_assets.storage.delta_store import DeltaStore

        return DeltaStore(location, lock_timeout=lock_timeout, connection_config=connection_config,
                          storage_options=storage_options, index_url=delta_index)
    if backend != "duckdb":
        raise StoreError(f"unknown storage backend {backend!r}: use 'duckdb' or 'delta'")
    if storage_options or delta_index:
        raise StoreError(f"{location}: storage_options and delta_index are for backend 'delta', not a DuckDB file")
    return PipelineStore(location, lock_timeout=lock_timeout, connection_config=connection_config)


def provenance_row(ref: TableRef, checkpoint: Checkpoint, record: dict) -> list:
    """A main._provenance row (PROVENANCE_COLUMNS order) for a record attached to a checkpoint."""
    record = dict(record, row_count=checkpoint.row_count, content_hash=checkpoint.content_hash,
                  table=ref.label, fingerprint=checkpoint.fingerprint, partition_key=ref.partition_key)
    # Its own time, not the checkpoint's: a record attached later (record_provenance, or an
    # unchanged save) must sort after the one written with the table in latest_provenance.
    return [ref.schema, ref.table, ref.partition_key or "", datetime.now(timezone.utc), record.get("run_id"),
            record.get("asset_key"), checkpoint.fingerprint, record.get("code_version"),
            record.get("config_hash"), record.get("pipeline_version"),
            json.dumps(record.get("source_releases", {}), sort_keys=True),
            json.dumps(record.get("steps", []), default=str),
            json.dumps(record.get("library_versions", {}), sort_keys=True),
            checkpoint.row_count, checkpoint.content_hash, json.dumps(record, default=str, sort_keys=True)]


def _describe_conversion_error(df: Any, exc: Exception) -> str:
    """Which column could not be converted to Arrow, and what can be stored."""
    if isinstance(exc, UnsupportedTypeError):
        return str(exc)
    if type(df).__name__ == "LazyFrame":
        df = df.collect()
    columns = getattr(df, "columns", [])
    for name in columns:
        try:
            to_arrow(df[[name]] if type(df).__module__.startswith("pandas") else df.select(name))
        except Exception as column_exc:  # noqa: BLE001 - we only want the first failing column's message
            return (f"column {name!r} cannot be stored ({type(column_exc).__name__}: {column_exc}); columns hold "
                    "numbers, strings, booleans, dates and times, or lists and structs of them, not Python objects")
    return str(exc)


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _sql_string(path: Path) -> str:
    # COPY ... TO takes a literal, not a bound parameter.
    return str(path).replace("'", "''")
