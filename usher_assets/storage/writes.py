"""Replacing a table, or some partition slices of it, from a registered Arrow view, inside the caller's transaction.

A slice is replaced by DELETE of its predicate's rows and INSERT BY NAME; the table's columns evolve by
name. Nothing here commits: the store wraps every call, with its checkpoint rows, in one transaction.
"""

from dataclasses import dataclass

from usher_assets.storage.checkpoints import Checkpoint
from usher_assets.storage.sql import Slice, TableRef, any_of, literal, quote
from usher_assets.storage.table_state import (
    PARTITION_COLUMN, content_hash, data_columns, same_columns, slice_stats, table_columns, verify_table)

INCOMING = "_usher_incoming"


class SchemaChangeError(ValueError):
    """A slice's columns no longer fit the table and other slices would be lost by replacing it."""


@dataclass
class Written:
    """The outcome for one table or slice: what a checkpoint records, and whether rows were rewritten."""

    key: str | None
    slice: Slice | None
    row_count: int
    content_hash: str
    columns: list[tuple[str, str]]
    wrote: bool


def incoming_columns(con, ref: TableRef, names: list[str]) -> list[tuple[str, str]]:
    columns = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {INCOMING}").fetchall()]
    if [c[0] for c in columns] != names:
        # DuckDB silently renames duplicate, case-colliding ("A", "a") and empty names.
        raise ValueError(f"{ref.label}: column names {names} cannot be stored as they are (DuckDB would "
                         f"store {[c[0] for c in columns]}); make them unique ignoring case, and non-empty")
    return columns


def table_outcome(con, ref: TableRef, names: list[str], previous: Checkpoint | None) -> Written:
    """What replacing a whole table with the incoming rows would record; `wrote` False if its intact content
    already equals them."""
    columns = incoming_columns(con, ref, names)
    count, total = slice_stats(con, INCOMING, columns, None)[None]
    digest = content_hash(columns, count, total)
    unchanged = (previous is not None and previous.content_hash == digest
                 and verify_table(con, ref, [previous], content=True) == [None])
    return Written(None, None, count, digest, columns, not unchanged)


def write_table(con, ref: TableRef, names: list[str], previous: Checkpoint | None) -> Written:
    """Replace a whole table unless its intact content already equals the incoming rows."""
    outcome = table_outcome(con, ref, names, previous)
    if outcome.wrote:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(ref.schema)}")
        con.execute(f"CREATE OR REPLACE TABLE {ref.qualified} AS SELECT * FROM {INCOMING}")
        # Slices of an earlier partitioned version are gone with the table.
        con.execute("DELETE FROM main._checkpoints WHERE schema_name = ? AND table_name = ? AND partition_key <> ''",
                    [ref.schema, ref.table])
    return outcome


def write_slices(con, ref: TableRef, names: list[str], slices: list[Slice],
                 previous: dict[str, Checkpoint | None], checkpointed_keys: set[str],
                 was_whole: bool = False, keep: frozenset[str] = frozenset()) -> list[Written]:
    """Replace each slice whose content changed; rows of the incoming frame must each fall in one slice.

    `checkpointed_keys` are the table's slices that have a checkpoint: a schema change that would
    break one of them outside this write is refused, with the other slices left as they are. A table
    stored whole until now (`was_whole`) is replaced, its whole-table checkpoint dropped.
    """
    columns = incoming_columns(con, ref, names)
    hidden = any(s.hidden for s in slices)
    if hidden and PARTITION_COLUMN in names:
        raise ValueError(f"{ref.label}: the frame has a column named {PARTITION_COLUMN!r}, which the store uses "
                         "for partition slices when the asset gives no partition_expr; rename it, or name it as "
                         "the asset's partition_expr")
    if hidden:
        incoming = {0: slice_stats(con, INCOMING, columns, None)[None]}
    else:
        incoming = slice_stats(con, INCOMING, columns, slices)
        outside = incoming.pop(None, (0, None))[0]
        if outside:
            raise ValueError(f"{ref.label}: {outside} rows fall in none of the partitions written "
                             f"({', '.join(s.key for s in slices)}); check the asset's partition_expr "
                             "and the values of its partition column")
    if was_whole:
        con.execute(f"DROP TABLE IF EXISTS {ref.qualified}")
        con.execute("DELETE FROM main._checkpoints WHERE schema_name = ? AND table_name = ? AND partition_key = ''",
                    [ref.schema, ref.table])
    _fit_schema(con, ref, columns, hidden, [s for s in slices if s.key not in keep], checkpointed_keys)
    stored = _stored_hashes(con, ref, [previous.get(s.key) for s in slices])
    results = []
    for index, piece in enumerate(slices):
        if piece.key in keep:
            continue
        count, total = incoming.get(index, (0, None))
        digest = content_hash(columns, count, total)
        unchanged = previous.get(piece.key) is not None and stored[index] == digest == previous[piece.key].content_hash
        if not unchanged:
            con.execute(f"DELETE FROM {ref.qualified} WHERE {piece.where}")
            select = f"SELECT *, {literal(piece.key)}::VARCHAR AS {PARTITION_COLUMN} FROM {INCOMING}" if hidden \
                else f"SELECT * FROM {INCOMING} WHERE {piece.where}"
            con.execute(f"INSERT INTO {ref.qualified} BY NAME {select}")
        results.append(Written(piece.key, piece, count, digest, columns, not unchanged))
    return results


def _stored_hashes(con, ref: TableRef, checkpoints: list[Checkpoint | None]) -> list[str | None]:
    """The content hash each previous checkpoint's slice still verifies to (None when it does not)."""
    present = [c for c in checkpoints if c is not None]
    problems = iter(verify_table(con, ref, present, content=True)) if present else iter(())
    return [None if c is None or next(problems) is not None else c.content_hash for c in checkpoints]


def _fit_schema(con, ref: TableRef, columns, hidden: bool, slices: list[Slice], checkpointed_keys: set[str]) -> None:
    """Create the table, add new columns by name, or refuse a change that would break other slices."""
    present = table_columns(con, ref)
    wanted = columns + ([(PARTITION_COLUMN, "VARCHAR")] if hidden else [])
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(ref.schema)}")
    if not present:
        _create_empty(con, ref, hidden)
        return
    if same_columns(present, wanted):
        return
    types = dict(present)
    if all(types.get(name, kind) == kind for name, kind in wanted) and set(types) <= {n for n, _ in wanted}:
        # Only new columns: the other slices get NULL there, so their checkpoints no longer verify
        # and they recompute when next asked; nothing is deleted.
        for name, kind in wanted:
            if name not in types:
                con.execute(f"ALTER TABLE {ref.qualified} ADD COLUMN {quote(name)} {kind}")
        return
    written = {s.key for s in slices}
    others = sorted(checkpointed_keys - written)
    rows_elsewhere = con.execute(
        f"SELECT count(*) FROM {ref.qualified} WHERE NOT ({any_of([s.where for s in slices])})").fetchall()[0][0]
    if others or rows_elsewhere:
        raise SchemaChangeError(
            f"{ref.label}: the incoming slices have columns {data_columns(wanted, hidden)}, the stored table "
            f"{data_columns(present, hidden)}; replacing it would drop partitions {others or '(unrecorded rows)'}. "
            "Materialize every partition in one run to change the schema, or drop the table and its checkpoints "
            f"first (PipelineStore.delete_checkpoint(..., drop_data=True); `usher-assets checkpoints delete "
            f"{ref.label}` in this project). Nothing was written")
    _create_empty(con, ref, hidden)


def _create_empty(con, ref: TableRef, hidden: bool) -> None:
    extra = f", NULL::VARCHAR AS {PARTITION_COLUMN}" if hidden else ""
    con.execute(f"CREATE OR REPLACE TABLE {ref.qualified} AS SELECT *{extra} FROM {INCOMING} LIMIT 0")
