"""Where a Delta store keeps each table's index entry (its log folded up to some version): beside the tables, or
in PostgreSQL, which hosts sharing an object-store root reach where they share no directory.

An entry is only ever a shortcut. DeltaStore believes one only when its own digest holds and the log's commit at
its version is the commit it was folded to; otherwise it folds the table's commits again and writes a new entry.
"""

import json
import os
import threading
from pathlib import Path
from typing import Protocol

from usher_assets.storage.store import StoreError

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class DeltaIndex(Protocol):
    def get(self, table: str) -> object | None: ...

    def put(self, table: str, entry: dict) -> None: ...

    def close(self) -> None: ...


class FileIndex:
    """One JSON file per table under `<root>/_index/`, each save replacing its table's file whole."""

    def __init__(self, root: Path):
        self.directory = Path(root) / "_index"

    def _file(self, table: str) -> Path:
        return self.directory / f"{table}.json"

    def get(self, table: str) -> object | None:
        try:
            return json.loads(self._file(table).read_text())
        except (OSError, ValueError):
            return None

    def put(self, table: str, entry: dict) -> None:
        write_json(self._file(table), entry)

    def close(self) -> None:
        pass  # nothing stays open between a get or put and the next


class PostgresIndex:
    """Rows of `usher_delta_index` (root, table name, entry), one per table of each store root."""

    DDL = ("CREATE TABLE IF NOT EXISTS usher_delta_index (root TEXT NOT NULL, table_name TEXT NOT NULL, "
           "entry JSONB NOT NULL, PRIMARY KEY (root, table_name))")

    def __init__(self, url: str, root: str):
        self.url, self.root = url, root
        self._connection, self._pid = None, None

    def connect(self):
        # One connection per process (a forked worker opens its own), autocommit: each put is its own commit.
        if self._connection is None or self._connection.closed or self._pid != os.getpid():
            try:
                import psycopg2
            except ImportError:
                raise StoreError("storage.delta_index is a PostgreSQL URL: install psycopg2 "
                                 "(pip install psycopg2-binary)") from None
            try:
                self._connection = psycopg2.connect(self.url)
            except psycopg2.Error as exc:
                raise StoreError(f"the Delta index database {_without_password(self.url)}: {exc}".strip()) from None
            self._connection.autocommit = True
            self._pid = os.getpid()
            with self._connection.cursor() as cursor:
                cursor.execute(self.DDL)
        return self._connection

    def get(self, table: str) -> object | None:
        with self.connect().cursor() as cursor:
            cursor.execute("SELECT entry FROM usher_delta_index WHERE root = %s AND table_name = %s", (self.root, table))
            row = cursor.fetchone()
        return row[0] if row else None

    def put(self, table: str, entry: dict) -> None:
        with self.connect().cursor() as cursor:
            cursor.execute("INSERT INTO usher_delta_index VALUES (%s, %s, %s) ON CONFLICT (root, table_name) "
                           "DO UPDATE SET entry = EXCLUDED.entry", (self.root, table, json.dumps(entry)))

    def close(self) -> None:
        """End this process's session; the next get or put opens another. Again, or with none open, nothing.

        A connection inherited from the process that forked this one is only forgotten: closing it would send
        PostgreSQL the end of the parent's session over the socket both share. psycopg2 leaves a connection it
        collects in another process than the one that opened it as it is, so dropping it sends nothing.
        """
        connection, pid = self._connection, self._pid
        self._connection, self._pid = None, None
        if connection is not None and pid == os.getpid():
            connection.close()


def open_index(root: str, url: str | None, local: bool) -> DeltaIndex | None:
    """The index for a store root: PostgreSQL when `url` names a database; else files beside the tables of a
    `local` root; None for an object-store root without a database (each process then folds every log)."""
    if url:
        if not url.startswith(POSTGRES_SCHEMES):
            raise StoreError(f"storage.delta_index must be a postgresql:// URL, got {_without_password(url)!r}")
        return PostgresIndex(url, root)
    return FileIndex(Path(root)) if local else None


def write_json(target: Path, value) -> None:
    """`value` as JSON in `target`, replaced whole: a reader sees the old file or the new one, never a part."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    partial.write_text(json.dumps(value))
    partial.replace(target)


def _without_password(url: str) -> str:
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    return f"{scheme}://{credentials.split(':')[0]}{at}{host}" if at else url
