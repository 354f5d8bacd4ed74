"""DeltaStore: PipelineStore's interface on Delta Lake tables, one per asset, each checkpoint inside its data's commit.

Writers take no lock: delta-rs commits each table version atomically and rebases a commit over ones that landed
meanwhile, so workers write different tables, and different partitions of one table, at the same time. The
checkpoint rows, their provenance and the table's columns ride in the commit's own metadata (delta_log.py), so a
table version and its checkpoint cannot disagree, whatever is killed when.

Reads and checks run in DuckDB, in memory: each table is a view over its current version's Parquet files, and
_checkpoints and _provenance are brought up to the Delta logs' newest commits whenever a connection opens, so that
index never lags the commits and nobody waits for a writer. A process starts from each table's saved fold
(delta_index.py: files in `<root>/_index`, or rows in PostgreSQL), derived from the log and never trusted over it:
checked against the log's commit at the version it was folded to, brought up to the newest commit, and folded again
from the whole log when it does not match. The same SQL (writes.py, table_state.py) decides what a save changes, on
an in-memory copy of the rows it writes (of the whole table when it rewrites it); only the slices it changed are
committed.
"""

import hashlib
import json
import os
import random
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from usher_assets.storage import writes
from usher_assets.storage.checkpoints import BOOKKEEPING_DDL, CHECKPOINT_COLUMNS, PROVENANCE_COLUMNS, Checkpoint
from usher_assets.storage.delta_index import open_index, write_json
from usher_assets.storage.delta_log import Change, TableLog, commit_digest, fold
from usher_assets.storage.fingerprint import canonical_hash
from usher_assets.storage.sql import Slice, TableRef, any_of, literal, quote, validate_name
from usher_assets.storage.store import (
    PipelineStore, StoreError, StoreValueError, provenance_row, sha256_file)
from usher_assets.storage.table_state import table_columns
from usher_assets.storage.writes import INCOMING

PARTITION = "__usher_partition"  # the Delta partition column: each row's slice key (WHOLE for an unpartitioned table)
ROW = "__usher_row"  # each row's place in the write that stored it, so loads keep the written order
WHOLE = "__whole__"
ROWS_SCHEMA = "_delta_rows"  # views with ROW, for loads; the public views leave it out
# DuckDB settings that describe a database file, not a connection: an in-memory reader cannot take them.
_FILE_SETTINGS = {"access_mode", "read_only"}
_PATH_SAFE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_COMMIT_ATTEMPTS = 6


class DeltaStore(PipelineStore):
    """A directory (or object-store prefix) of Delta tables, `<root>/<schema>/<table>`, with PipelineStore's API.

    `storage_options` go to delta-rs as they are (object-store credentials; for S3, conditional writes or a lock
    provider make concurrent commits safe, see docs/scaling.md).
    """

    backend = "delta"
    scan_keeps_written_order = False

    def __init__(self, root: Path | str, *, lock_timeout: float = 120.0, connection_config: dict | None = None,
                 storage_options: dict | None = None, index_url: str | None = None):
        super().__init__(root, lock_timeout=lock_timeout, connection_config=connection_config)
        self.storage_options = dict(storage_options or {})
        self._index_entries = open_index(str(root), index_url, self._local)
        if index_url:
            self._index_entries.connect()  # a wrong or unreachable database is named before anything is written
        self._logs: dict[tuple[str, str], tuple[str, TableLog]] = {}  # (schema, table) -> (table id, folded log)
        # This process's index: views and bookkeeping rows of every table, kept between connections and
        # brought up to date on each (only tables with new commits are read again).
        self._db: duckdb.DuckDBPyConnection | None = None
        self._versions: dict[tuple[str, str], object] = {}

    # -- connections: nothing to hold; each opens the last committed versions ----------------

    def hold(self, run_id: str | None = None) -> None:
        self._run_id = run_id or self._run_id

    def release(self) -> None:
        pass

    def close(self) -> None:
        """Close the in-memory index and end the session of a PostgreSQL index; the next use opens both again."""
        self._close_memory()
        if self._index_entries is not None:
            self._index_entries.close()

    def _close_memory(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db, self._versions = None, {}

    @contextmanager
    def session(self, run_id: str | None = None) -> Iterator["DeltaStore"]:
        if self._session is not None:
            yield self
            return
        self._run_id = run_id or self._run_id
        with self.connect() as con:
            self._session = con
            try:
                yield self
            finally:
                self._session = None

    @contextmanager
    def connect(self, table: str | None = None, action: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on this process's in-memory index, first brought up to every table's last commit."""
        if self._session is not None:
            with self._errors(table, action):
                yield self._session
            return
        with self._errors(table, action):
            self._sync()
            cursor = self._db.cursor()
        try:
            with self._errors(table, action):
                yield cursor
        finally:
            cursor.close()

    def _sync(self) -> None:
        """Attach what changed since the last look: a table whose log has no new commit costs a directory listing."""
        if self._db is None:
            self._db, self._versions = self._memory(), {}
        present = self._table_names()
        # Every table's bookkeeping rows in one insert each, not two per table (a new process attaches them all).
        pending: tuple[list, list] = ([], [])
        try:
            for schema, table in set(self._versions) - set(present):
                self._detach(self._db, TableRef(schema, table))
                del self._versions[(schema, table)]
            for schema, table in present:
                token = self._log_token(TableRef(schema, table))
                if token is None or self._versions.get((schema, table)) != token:
                    self._reattach(TableRef(schema, table), token, pending)
            _insert_rows(self._db, "main._checkpoints", CHECKPOINT_COLUMNS, pending[0])
            _insert_rows(self._db, "main._provenance", PROVENANCE_COLUMNS, pending[1])
        except BaseException:
            self._close_memory()  # half attached: the next connection starts the index again
            raise

    def _reattach(self, ref: TableRef, token=None, pending: tuple[list, list] | None = None) -> None:
        state = self._current(ref)
        if state is None:
            self._detach(self._db, ref)
            self._versions.pop((ref.schema, ref.table), None)
            return
        self._attach(self._db, ref, *state, pending=pending)
        self._versions[(ref.schema, ref.table)] = token if token is not None else self._log_token(ref)

    def _log_token(self, ref: TableRef):
        """The newest commit file's name and time, for a local table; None elsewhere (always re-read)."""
        log = Path(self._uri(ref)) / "_delta_log"
        try:
            newest = max((e for e in os.scandir(log) if e.name.endswith(".json")), key=lambda e: e.name)
            return newest.name, newest.stat().st_mtime_ns
        except (OSError, ValueError):
            return None

    def _memory(self) -> duckdb.DuckDBPyConnection:
        config = {k: v for k, v in self.connection_config.items() if k not in _FILE_SETTINGS}
        con = duckdb.connect(":memory:", config=config)
        con.execute("SET enable_progress_bar_print = false")
        for ddl in BOOKKEEPING_DDL:
            con.execute(ddl)
        return con

    # -- the tables and their logs ----------------------------------------------------------

    def _uri(self, ref: TableRef) -> str:
        return f"{str(self.db_path).rstrip('/')}/{ref.schema}/{ref.table}"

    def _table_names(self) -> list[tuple[str, str]]:
        names = []
        for log_dir in sorted(Path(self.db_path).glob("*/*/_delta_log")):
            schema, table = log_dir.parent.parent.name, log_dir.parent.name
            try:
                names.append((validate_name(schema, "schema name"), validate_name(table, "table name")))
            except ValueError:
                continue  # not a table this store wrote
        return names

    def _current(self, ref: TableRef):
        """(TableLog, DeltaTable) of the table's latest version, folding only commits not seen before; None if none.

        Not seen before by this process, or by any: a process starts from the table's saved index entry, the
        fold up to some version, once the log's commit at that version is the one the entry was folded to.
        """
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        key = (ref.schema, ref.table)
        try:
            table = DeltaTable(self._uri(ref), storage_options=self.storage_options or None)
        except TableNotFoundError:
            self._logs.pop(key, None)
            return None
        table_id, version = table.metadata().id, table.version()
        known_id, log = self._logs.get(key, (None, None))
        saved = log is None
        if saved:
            known_id, log = self._indexed(ref)
        if log is None or known_id != table_id or log.version > version:
            log, saved = TableLog(), False  # a table dropped and written again starts a new log
        stale = log.version < version  # the saved entry no longer matches this fold
        if log.version < 0:
            fold(log, self._commits(ref, table, 0))
        elif saved:
            # The entry may lag the log (a writer killed before it updated the entry), never lead or differ.
            commits = self._commits(ref, table, log.version)
            if not commits or commit_digest(commits[0]) != log.last_commit:
                log, commits, stale = TableLog(), self._commits(ref, table, 0), True
            fold(log, commits)
        elif stale:
            fold(log, self._commits(ref, table, log.version + 1))
        self._logs[key] = (table_id, log)
        if stale:
            self._index(ref, table_id, log)
        return log, table

    @property
    def _local(self) -> bool:
        """A directory on this host's file system (or a shared one), not an object-store URI."""
        return "://" not in str(self.db_path)

    def _commits(self, ref: TableRef, table, first: int) -> list[dict]:
        """The commit info of each version from `first` to the table's, oldest first, each with its version.

        Local tables: read from the commit files themselves. delta-rs's history() lists the newest commits in
        storage but numbers them down from the version the handle was opened at, so a commit landing in
        between would be folded under another commit's version.
        """
        last = table.version()
        if not self._local:
            return sorted(table.history(limit=last - first + 1), key=lambda c: c["version"])
        log_dir, commits = Path(self._uri(ref)) / "_delta_log", []
        for version in range(first, last + 1):
            try:
                lines = (log_dir / f"{version:020d}.json").read_text().splitlines()
            except FileNotFoundError:
                # Cleaned up after a Delta checkpoint (delta.logRetentionDuration): only history() has it now.
                return [c for c in sorted(table.history(), key=lambda c: c["version"]) if c["version"] >= first]
            actions = (json.loads(line) for line in lines if line.strip())
            info = next((action["commitInfo"] for action in actions if "commitInfo" in action), {})
            commits.append(info | {"version": version})
        return commits

    # The saved index (delta_index.py): each table's fold, with a digest of its own so that a damaged entry is
    # folded again rather than believed.
    def _indexed(self, ref: TableRef) -> tuple[str | None, TableLog | None]:
        if self._index_entries is None:
            return None, None
        entry = self._index_entries.get(f"{ref.schema}.{ref.table}")
        if not isinstance(entry, dict) or not isinstance(entry.get("log"), dict) \
                or entry.get("sha256") != canonical_hash(entry["log"]):
            return None, None
        return entry.get("table_id"), TableLog.decode(entry["log"])

    def _index(self, ref: TableRef, table_id: str, log: TableLog) -> None:
        if self._index_entries is not None:
            body = log.encode()
            self._index_entries.put(f"{ref.schema}.{ref.table}",
                                    {"table_id": table_id, "sha256": canonical_hash(body), "log": body})

    def _attach(self, con, ref: TableRef, log: TableLog, table, pending: tuple[list, list] | None = None) -> None:
        """The table as views over its current files, and its bookkeeping rows, in an in-memory connection (or,
        with `pending`, added to the rows the caller inserts)."""
        self._detach(con, ref)
        if not log.columns:
            return  # only commits written around the store: nothing it can vouch for
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(ref.schema)}")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {ROWS_SCHEMA}")
        # delta-rs gives URIs percent-encoded; DuckDB opens paths.
        files = sorted(unquote(uri) for uri in table.file_uris())
        if files:
            typed = ", ".join(f"CAST({quote(n)} AS {t}) AS {quote(n)}" for n, t in log.columns)
            # union_by_name: files written before a column was added give NULL there, as DuckDB's ADD COLUMN does.
            rows = f"SELECT {typed}, {ROW} FROM read_parquet([{', '.join(map(literal, files))}], union_by_name = true)"
        else:
            rows = f"SELECT {', '.join(f'NULL::{t} AS {quote(n)}' for n, t in log.columns)}, NULL::BIGINT AS {ROW} " \
                   "WHERE false"
        con.execute(f"CREATE OR REPLACE VIEW {self._rows_view(ref)} AS {rows}")
        con.execute(f"CREATE OR REPLACE VIEW {ref.qualified} AS SELECT * EXCLUDE ({ROW}) FROM {self._rows_view(ref)}")
        if pending is not None:
            pending[0].extend(log.checkpoints.values())
            pending[1].extend(log.provenance)
            return
        _insert_rows(con, "main._checkpoints", CHECKPOINT_COLUMNS, list(log.checkpoints.values()))
        _insert_rows(con, "main._provenance", PROVENANCE_COLUMNS, log.provenance)

    @staticmethod
    def _rows_view(ref: TableRef) -> str:
        return f"{ROWS_SCHEMA}.{quote(ref.schema + '.' + ref.table)}"

    def _ordered_rows(self, ref: TableRef) -> tuple[str, str]:
        return self._rows_view(ref), ROW

    def _refresh(self, ref: TableRef) -> None:
        """After a commit, the index (and so an open session) shows the table's new version, and the saved
        index entry the other processes start from holds it."""
        if self._db is not None:
            self._reattach(TableRef(ref.schema, ref.table))
        else:
            self._current(ref)

    def _detach(self, con, ref: TableRef) -> None:
        con.execute(f"DROP VIEW IF EXISTS {ref.qualified}")
        con.execute(f"DROP VIEW IF EXISTS {self._rows_view(ref)}")
        con.execute("DELETE FROM main._checkpoints WHERE schema_name = ? AND table_name = ?", [ref.schema, ref.table])
        con.execute("DELETE FROM main._provenance WHERE schema_name = ? AND table_name = ?", [ref.schema, ref.table])

    # -- writing ------------------------------------------------------------------------------

    def _incoming(self, df: Any, ref: TableRef) -> pa.Table:
        return delta_types(super()._incoming(df, ref), lambda problem: StoreValueError(
            f"{self.db_path}: saving {ref.label} failed, previous version kept: {problem}"))

    def save(self, df: Any, ref: TableRef, slices: list[Slice] | None,
             fingerprints: dict[str | None, tuple[str | None, dict]], *, description: str | None = None,
             provenance: dict | None = None, run_id: str | None = None,
             keep_unchanged: bool = True, keep: frozenset[str] = frozenset()) -> list[tuple[Checkpoint, bool]]:
        data = self._incoming(df, ref)
        label = ref.label if slices is None else f"{ref.label}[{', '.join(s.key for s in slices)}]"
        where = f"{self.db_path}: saving {label} failed, previous version kept"
        from deltalake.exceptions import CommitFailedError

        # delta-rs rebases a commit over others when they touch other partitions. What it cannot rebase (two
        # writers creating the table, or changing its schema, at once) is decided again from the new version.
        for attempt in range(_COMMIT_ATTEMPTS):
            try:
                saved = self._save_once(data, ref, slices, fingerprints, description, provenance, run_id,
                                        keep_unchanged, keep, where)
                break
            except StoreError as exc:
                if not isinstance(exc.__cause__, CommitFailedError) or attempt == _COMMIT_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * 2 ** attempt)
        self._refresh(ref)
        return saved

    def _save_once(self, data: pa.Table, ref: TableRef, slices, fingerprints, description, provenance, run_id,
                   keep_unchanged: bool, keep: frozenset[str], where: str) -> list[tuple[Checkpoint, bool]]:
        try:
            state = self._current(ref)
            con = self._memory()
            try:
                if state is not None:
                    self._attach(con, ref, *state)
                    con.execute("DELETE FROM main._provenance")  # the commit carries only this save's records
                con.register(INCOMING, data)
                previous = {c.partition_key: c for c in self._checkpoints_of(con, ref)}
                if slices is None:
                    outcomes = [writes.table_outcome(con, ref, data.column_names,
                                                     previous.get(None) if keep_unchanged else None)]
                    rewrite = outcomes[0].wrote
                else:
                    outcomes, rewrite = self._stage_slices(con, ref, data, slices, previous, keep_unchanged, keep,
                                                           state)
                saved = []
                for outcome in outcomes:
                    fingerprint, parts = fingerprints.get(outcome.key, (None, {}))
                    checkpoint = self._record_checkpoint(con, ref, outcome, previous.get(outcome.key), description,
                                                         fingerprint, parts, run_id)
                    self._insert_provenance(con, ref.slice(outcome.key), checkpoint,
                                            {"run_id": run_id} | (provenance or {}) | {"fingerprint": fingerprint})
                    saved.append((checkpoint, outcome.wrote))
                if outcomes:
                    self._commit(con, ref, slices, outcomes, previous, rewrite, state)
            finally:
                con.close()
        except StoreError:
            raise
        except (ValueError, duckdb.InvalidInputException) as exc:
            raise StoreValueError(f"{where}: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - DuckDB's and delta-rs's errors alike keep the previous version
            raise StoreError(f"{where}: {type(exc).__name__}: {exc}") from exc
        return saved

    def _stage_slices(self, con, ref: TableRef, data: pa.Table, slices: list[Slice], previous, keep_unchanged: bool,
                      keep: frozenset[str], state) -> tuple[list, bool]:
        """writes.write_slices on an in-memory copy of the rows of the slices written; True when the whole table
        must be rewritten, and then decided again on a copy of all its rows (a schema change other slices cannot
        take is refused there, as on one DuckDB file) unless the first copy already held every stored row."""
        prior = {s.key: previous.get(s.key) if keep_unchanged else None for s in slices}
        checkpointed = {k for k in previous if k is not None}
        if state is not None and None not in previous:
            written = any_of([s.where for s in slices])
            self._copy_rows(con, ref, written)
            outcomes = writes.write_slices(con, ref, data.column_names, slices, prior, checkpointed, False, keep)
            # Only new columns, or none: the other slices' files stay, reading NULL in a new column.
            if set(state[0].columns) <= set(table_columns(con, ref)):
                return outcomes, False
            # No stored row outside the slices written: a copy of all rows is the copy just decided on, and
            # deciding again on it would give the same outcomes and rows.
            if not self._rows_outside(con, ref, written):
                return outcomes, True
            con.execute(f"DROP TABLE {ref.qualified}")
        if state is not None:
            self._copy_rows(con, ref)
        outcomes = writes.write_slices(con, ref, data.column_names, slices, prior, checkpointed, None in previous,
                                       keep)
        return outcomes, True

    def _rows_outside(self, con, ref: TableRef, where: str) -> bool:
        """Whether a stored row is one `where` does not select (false or NULL there), so _copy_rows(where) left
        it out."""
        return con.execute(f"SELECT EXISTS (SELECT 1 FROM {self._rows_view(ref)} WHERE ({where}) IS NOT TRUE)"
                           ).fetchone()[0]

    def _copy_rows(self, con, ref: TableRef, where: str | None = None) -> None:
        """The stored rows (those `where` selects), in their stored order, as an in-memory table in place of the
        table's view."""
        con.execute(f"DROP VIEW IF EXISTS {ref.qualified}")
        con.execute(f"CREATE TABLE {ref.qualified} AS SELECT * EXCLUDE ({ROW}) FROM {self._rows_view(ref)} "
                    f"{'' if where is None else f'WHERE {where} '}ORDER BY {ROW}")

    def _commit(self, con, ref: TableRef, slices: list[Slice] | None, outcomes, previous, rewrite: bool, state) -> None:
        """One Delta commit: the changed rows (if any) and, in its metadata, the checkpoints and provenance."""
        from deltalake import CommitProperties

        rows = {r[2]: dict(zip(CHECKPOINT_COLUMNS, r)) for r in con.execute(
            f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM main._checkpoints WHERE schema_name = ? AND table_name = ?",
            [ref.schema, ref.table]).fetchall()}
        written = {o.key or "" for o in outcomes}
        provenance = [dict(zip(PROVENANCE_COLUMNS, r)) for r in con.execute(
            f"SELECT {', '.join(PROVENANCE_COLUMNS)} FROM main._provenance").fetchall()]
        before = {k or "" for k in previous}
        changed = [o for o in outcomes if o.wrote]
        # A whole-table write states every checkpoint: delta-rs lets it land over a commit that only added files
        # (another writer's new slice), whose rows it then drops, so that commit's checkpoints must go too.
        replaced = bool(changed) and (slices is None or rewrite)
        columns = table_columns(con, ref) if slices is not None else outcomes[0].columns
        change = Change(columns=columns, checkpoints=[rows[k] for k in sorted(set(rows) if replaced else written)],
                        provenance=provenance, dropped=[] if replaced else sorted(before - set(rows)),
                        replaced=replaced)
        commit = CommitProperties(custom_metadata=change.encode())
        if not changed:
            self._write(ref, state, _empty(state[1]), mode="append", commit_properties=commit)
            return
        if slices is None:
            data = con.sql(f"SELECT * FROM {INCOMING}").to_arrow_table()
            data = data.append_column(ROW, pa.array(np.arange(data.num_rows, dtype=np.int64)))
            data = data.append_column(PARTITION, pa.repeat(WHOLE, data.num_rows))
            self._write(ref, state, data, mode="overwrite", schema_mode="overwrite", partition_by=[PARTITION],
                        commit_properties=commit)
            return
        case = "CASE " + " ".join(f"WHEN {s.where} THEN {literal(partition_value(s.key))}" for s in slices) + " END"
        if rewrite:
            data = con.sql(f"SELECT *, {case} AS {PARTITION}, rowid AS {ROW} FROM {ref.qualified}").to_arrow_table()
            self._write(ref, state, data, mode="overwrite", schema_mode="overwrite", partition_by=[PARTITION],
                        commit_properties=commit)
            return
        # After every stored row, in the order written: the rows of the slices kept keep their places.
        after = f"(SELECT coalesce(max({ROW}), -1) + 1 FROM {self._rows_view(ref)})"
        data = con.sql(f"SELECT *, {case} AS {PARTITION}, {after} + rowid AS {ROW} FROM {ref.qualified} "
                       f"WHERE {any_of([o.slice.where for o in changed])}").to_arrow_table()
        predicate = f"{PARTITION} IN ({', '.join(literal(partition_value(o.key)) for o in changed)})"
        self._write(ref, state, data, mode="overwrite", predicate=predicate, partition_by=[PARTITION],
                    schema_mode="merge" if set(columns) != set(state[0].columns) else None, commit_properties=commit)

    def _write(self, ref: TableRef, state, data: pa.Table, mode: str, **options) -> None:
        """write_deltalake on the version the save was decided from, never on whatever is newest when it writes.

        Given the table read at that version, delta-rs checks the commits that landed since against this one and
        raises CommitFailedError where they conflict (the save is then decided again). Given a path it would write
        on the newest version: a whole-table write decided before another writer's commit would drop that commit's
        rows while the log kept its checkpoints. A table that did not exist when the save began is created only if
        it still does not.
        """
        from deltalake import write_deltalake
        from deltalake.exceptions import CommitFailedError, DeltaError

        if state is not None:
            write_deltalake(state[1], data, mode=mode, **options)
            return
        options.pop("schema_mode", None)  # a new table takes the data's schema
        try:
            write_deltalake(self._uri(ref), data, mode="error", storage_options=self.storage_options or None,
                            **options)
        except DeltaError as exc:
            if "exists" not in str(exc).lower():
                raise
            raise CommitFailedError(f"{ref.label} was created by another writer meanwhile: {exc}") from exc

    def record_provenance(self, table_name: str, record: dict, *, schema: str = "main",
                          partition_key: str | None = None) -> None:
        ref = TableRef(schema, table_name, partition_key)
        state = self._current(ref)
        checkpoint = state and state[0].checkpoints.get(partition_key or "")
        if not checkpoint:
            raise StoreError(f"{self.db_path}: {ref.label} has no checkpoint to attach provenance to")
        row = provenance_row(ref, Checkpoint.from_row(tuple(checkpoint[c] for c in CHECKPOINT_COLUMNS)), record)
        self._bookkeeping_commit(ref, state, Change(state[0].columns, provenance=[dict(zip(PROVENANCE_COLUMNS, row))]),
                                 f"recording provenance of {ref.label} failed")

    def delete_checkpoint(self, table_name: str, *, schema: str = "main", partition_key: str | None = None,
                          drop_data: bool = False) -> bool:
        ref = TableRef(schema, table_name, partition_key)
        state = self._current(ref)
        if state is None:
            return False
        found = (partition_key or "") in state[0].checkpoints
        if drop_data and partition_key is None:
            shutil.rmtree(self._uri(ref))  # local directories; an object-store table is dropped with its tools
            self._logs.pop((schema, table_name), None)
        elif drop_data:
            from deltalake import CommitProperties

            change = Change(state[0].columns, dropped=[partition_key])
            try:
                state[1].delete(f"{PARTITION} = {literal(partition_value(partition_key))}",
                                commit_properties=CommitProperties(custom_metadata=change.encode()))
            except Exception as exc:  # noqa: BLE001
                raise StoreError(f"{self.db_path}: deleting the checkpoint of {ref.label} failed: {exc}") from exc
        elif found:
            self._bookkeeping_commit(ref, state, Change(state[0].columns, dropped=[partition_key or ""]),
                                     f"deleting the checkpoint of {ref.label} failed")
        self._refresh(TableRef(schema, table_name))
        return found

    def _bookkeeping_commit(self, ref: TableRef, state, change: Change, failed: str) -> None:
        """A commit that adds no rows, only bookkeeping in its metadata."""
        from deltalake import CommitProperties, write_deltalake

        try:
            write_deltalake(self._uri(ref), _empty(state[1]), mode="append",
                            commit_properties=CommitProperties(custom_metadata=change.encode()),
                            storage_options=self.storage_options or None)
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"{self.db_path}: {failed}: {exc}") from exc
        self._refresh(TableRef(ref.schema, ref.table))

    # -- caches: one small file per entry, so writers never share one -------------------------

    def _cache_file(self, kind: str, key: str) -> Path:
        return Path(self.db_path) / kind / (hashlib.sha256(key.encode()).hexdigest() + ".json")

    def _read_cache(self, kind: str, key: str):
        try:
            return json.loads(self._cache_file(kind, key).read_text())
        except (OSError, ValueError):
            return None

    def _write_cache(self, kind: str, key: str, value) -> None:
        write_json(self._cache_file(kind, key), value)

    def file_sha256(self, path: Path | str) -> str:
        path = Path(path).resolve()
        stat = path.stat()
        key = [str(path), stat.st_size, stat.st_mtime_ns]
        cached = self._read_cache("_file_hashes", str(path))
        if isinstance(cached, dict) and cached.get("key") == key:
            return cached["sha256"]
        digest = sha256_file(path)
        self._write_cache("_file_hashes", str(path), {"key": key, "sha256": digest})
        return digest

    def remembered_checks(self, ref: TableRef) -> dict[str, tuple[str, tuple[bool, str, dict]]]:
        entries = self._read_cache("_check_results", ref.label) or {}
        return {name: (key, tuple(outcome)) for name, (key, outcome) in entries.items()}

    def remember_check(self, ref: TableRef, name: str, content_key: str, outcome: tuple[bool, str, dict]) -> None:
        # One file per table: two writers checking one table at once may lose an entry, which only costs a rescan.
        entries = self._read_cache("_check_results", ref.label) or {}
        entries[name] = [content_key, list(outcome)]
        self._write_cache("_check_results", ref.label, entries)

    # -- maintenance ------------------------------------------------------------------------------

    def vacuum(self, retention_hours: float) -> dict[str, int]:
        """Delete data files that no version younger than `retention_hours` reads; {table: files removed}."""
        removed = {}
        for schema, table in self._table_names():
            state = self._current(TableRef(schema, table))
            if state is not None:
                files = state[1].vacuum(retention_hours=int(retention_hours), dry_run=False,
                                        enforce_retention_duration=False)
                removed[f"{schema}.{table}"] = len(files)
        return removed


def partition_value(key: str) -> str:
    """A slice key as its Delta partition value: itself when path-safe, else a digest, so no writer or reader
    has to agree on how a key's other characters are escaped in directory names."""
    if _PATH_SAFE.fullmatch(key):
        return key
    return "x_" + hashlib.sha256(key.encode()).hexdigest()[:24]


def _empty(table) -> pa.Table:
    """No rows, in the table's own Delta schema: an append of it is a commit of metadata alone."""
    return pa.schema(table.schema().to_arrow()).empty_table()


def _insert_rows(con, target: str, columns: tuple[str, ...], rows: list[dict]) -> None:
    # Through Arrow: executemany costs milliseconds a row, and a log holds hundreds of provenance rows. Built by
    # polars and read with from_arrow: pa.array on Python lists and con.register import pandas (0.4 s), which a
    # rerun that saves nothing has no other use for.
    if rows:
        import polars as pl

        batch = pl.DataFrame({c: [row.get(c) for row in rows] for c in columns},
                             schema={c: pl.Int64 if c == "row_count" else pl.String for c in columns}).to_arrow()
        con.from_arrow(batch).create_view("_usher_rows", replace=True)
        try:
            con.execute(f"INSERT INTO {target} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM _usher_rows")
        finally:
            con.execute("DROP VIEW IF EXISTS _usher_rows")


def delta_types(data: pa.Table, error) -> pa.Table:
    """Columns in types a Delta table holds and gives back unchanged: unsigned integers widened (delta-rs would
    wrap them into signed ones of the same width), nanoseconds rounded down to microseconds (Delta's unit).

    Types Delta has no equivalent for (time of day, durations, ...) raise `error(problem)`.
    """
    from deltalake import Schema

    wider = {pa.uint8(): pa.int16(), pa.uint16(): pa.int32(), pa.uint32(): pa.int64()}
    columns = []
    for name, column in zip(data.column_names, data.columns):
        kind = column.type
        if kind in wider:
            column = column.cast(wider[kind])
        elif kind == pa.uint64():
            if len(column) and (pc.max(column).as_py() or 0) > 2**63 - 1:
                raise error(f"column {name!r} holds unsigned 64-bit values beyond the signed range a Delta "
                            "table stores")
            column = column.cast(pa.int64())
        elif pa.types.is_timestamp(kind) and kind.unit == "ns":
            column = column.cast(pa.timestamp("us", kind.tz), safe=False)
        elif pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
        columns.append(column)
    data = pa.table(columns, names=data.column_names)
    try:
        Schema.from_arrow(data.schema)
    except Exception as exc:  # noqa: BLE001 - delta-rs names the first type it has no equivalent for
        raise error(f"a column's type has no Delta Lake equivalent ({exc}); columns hold numbers, strings, "
                    "booleans, dates and timestamps, or lists and structs of them") from exc
    return data
