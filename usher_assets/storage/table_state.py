"""What a stored table or slice holds, in one scan: row counts and order-free content hashes, per slice.

Plain DuckDB over a connection; the store calls these inside its own transactions.
"""

import hashlib
import json
import re

from usher_assets.storage.checkpoints import Checkpoint
from usher_assets.storage.sql import Slice, TableRef, any_of, hidden_slice, quote, slice_case

PARTITION_COLUMN = "partition_key"  # store-managed slice column of a partitioned table with no partition_expr


def table_columns(con, ref: TableRef) -> list[tuple[str, str]]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [ref.schema, ref.table]).fetchall()
    return [(r[0], r[1]) for r in rows]


def data_columns(columns: list[tuple[str, str]], hidden: bool) -> list[tuple[str, str]]:
    return [c for c in columns if not (hidden and c[0] == PARTITION_COLUMN)]


def hash_expression(columns: list[tuple[str, str]]) -> str:
    """Sum of row hashes over the columns in name order: a reordered but equal table hashes the same."""
    if not columns:
        return "NULL::HUGEINT"
    names = ", ".join(quote(name) for name, _ in sorted(columns))
    return f"sum(hash({names})::HUGEINT)"


def content_hash(columns: list[tuple[str, str]], row_count: int, hash_sum) -> str:
    text = json.dumps([sorted([list(c) for c in columns]), row_count, str(hash_sum)], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def same_columns(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> bool:
    """Equal as sets of (name, type): a mere reorder is not a schema change."""
    return sorted(map(tuple, a)) == sorted(map(tuple, b))


def slice_stats(con, source: str, columns: list[tuple[str, str]], slices: list[Slice] | None,
                ) -> dict[int | None, tuple[int, object]]:
    """{slice index (None: rows in no slice, or the whole source): (row count, hash sum)} in one scan."""
    hashed = hash_expression(columns)
    if slices is None:
        count, total = con.execute(f"SELECT count(*), {hashed} FROM {source}").fetchall()[0]
        return {None: (count, total)}
    rows = con.execute(f"SELECT {slice_case(slices)} AS s, count(*), {hashed} FROM {source} GROUP BY 1").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def checkpoint_slice(checkpoint: Checkpoint) -> Slice | None:
    """The slice a checkpoint vouches for; files written before predicates kept slices in partition_key."""
    if checkpoint.partition_key is None:
        return None
    legacy = hidden_slice(checkpoint.partition_key, PARTITION_COLUMN)
    if checkpoint.slice_where is None or checkpoint.slice_where == legacy.where:
        return legacy
    return Slice(checkpoint.partition_key, checkpoint.slice_where)


_ONE_KEY = re.compile(r"^(?P<expr>.+?) (?:IN \('(?P<key>(?:[^']|'')*)'\)|= '(?P<eq>(?:[^']|'')*)')$", re.S)


def _grouped_by_key(con, ref: TableRef, slices: list[Slice], hashed: str) -> dict | None:
    """Slice stats by GROUP BY the partition column, when every slice is one key of the same column.

    The common case (static, dynamic or store-kept partitions): cheaper than testing each row against a CASE
    of every slice's predicate. None when the slices are not of that form (time windows, multi-partitions).
    """
    matches = [_ONE_KEY.match(s.where) for s in slices]
    if not all(matches) or len({m["expr"] for m in matches}) != 1:
        return None
    keys = {(m["key"] if m["key"] is not None else m["eq"]).replace("''", "'"): i for i, m in enumerate(matches)}
    expr = matches[0]["expr"]
    rows = con.execute(f"SELECT {expr}, count(*), {hashed} FROM {ref.qualified} "
                       f"WHERE {any_of([s.where for s in slices])} GROUP BY 1").fetchall()
    found = {}
    for value, count, total in rows:
        if str(value) not in keys:
            return None  # a value whose text is not its key (a typed column): let the CASE decide
        found[keys[str(value)]] = (count, total)
    return found


def verify_table(con, ref: TableRef, checkpoints: list[Checkpoint], content: bool) -> list[str | None]:
    """For each checkpoint of one table: None if the stored rows still match it, else what differs."""
    present = table_columns(con, ref)
    if not present:
        return [f"table {ref.qualified} is missing"] * len(checkpoints)
    slices = [checkpoint_slice(c) for c in checkpoints]
    hidden = any(s is not None and s.hidden for s in slices)
    columns = data_columns(present, hidden)
    hashed = hash_expression(columns) if content else "NULL"
    found: dict[int | None, tuple[int, object]] = {}
    partial = [s for s in slices if s is not None]
    if partial:
        # Only the slices' rows are read: one slice's check skips the other slices' row groups (and their blocks).
        by_index = _grouped_by_key(con, ref, partial, hashed)
        if by_index is None:
            rows = con.execute(f"SELECT {slice_case(partial)} AS s, count(*), {hashed} FROM {ref.qualified} "
                               f"WHERE {any_of([s.where for s in partial])} GROUP BY 1").fetchall()
            by_index = {r[0]: (r[1], r[2]) for r in rows}
        positions = [i for i, s in enumerate(slices) if s is not None]
        found |= {positions[i]: v for i, v in by_index.items() if i is not None}
    if len(partial) < len(slices):
        count, total = con.execute(f"SELECT count(*), {hashed} FROM {ref.qualified}").fetchall()[0]
        found |= {i: (count, total) for i, s in enumerate(slices) if s is None}
    problems = []
    for index, checkpoint in enumerate(checkpoints):
        row_count, hash_sum = found.get(index, (0, None))
        if not same_columns(columns, checkpoint.columns):
            problems.append(f"columns changed: expected {checkpoint.columns}, found {columns}")
        elif row_count != checkpoint.row_count:
            problems.append(f"row count is {row_count}, checkpoint recorded {checkpoint.row_count}")
        elif content and content_hash(columns, row_count, hash_sum) != checkpoint.content_hash:
            problems.append("content changed since the checkpoint was written")
        else:
            problems.append(None)
    return problems
