"""Identifiers, table references and partition slices for SQL built from names: validated, then quoted."""

import re
from dataclasses import dataclass
from datetime import datetime

# Unicode letters, digits and underscores, not starting with a digit: what DuckDB and dagster-duckdb store
# (quoted), without quotes, spaces, semicolons or control characters that could not be quoted safely.
_NAME = re.compile(r"[^\W\d]\w{0,62}")  # used with fullmatch: "$" would let a trailing newline through
DUCKDB_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # how dagster-duckdb writes time-window bounds


def validate_name(name: str, what: str = "table name") -> str:
    """Return `name` if it is a plain identifier; otherwise raise ValueError.

    Names reach SQL as quoted identifiers, so validation is a second fence, not the only
    one: a name like ``x"; DROP TABLE _checkpoints; --`` is refused outright.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"invalid {what} {name!r}: use letters (any script), digits and underscores, starting with a "
            "letter or underscore, at most 63 characters"
        )
    return name


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A single-quoted SQL string literal (dagster-duckdb inlines partition bounds the same way)."""
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class TableRef:
    """A table in the store: schema and table name, optionally one partition slice of it."""

    schema: str
    table: str
    partition_key: str | None = None

    def __post_init__(self):
        validate_name(self.schema, "schema name")
        validate_name(self.table, "table name")

    @property
    def qualified(self) -> str:
        return f"{quote(self.schema)}.{quote(self.table)}"

    @property
    def label(self) -> str:
        base = f"{self.schema}.{self.table}"
        return base if self.partition_key is None else f"{base}[{self.partition_key}]"

    def slice(self, partition_key: str | None) -> "TableRef":
        return TableRef(self.schema, self.table, partition_key)


@dataclass(frozen=True)
class Slice:
    """One partition of a table: its key and the SQL predicate that selects its rows.

    `hidden` slices live in a store-managed `partition_key` column (PipelineStore.save_dataframe with a
    partition_key and no predicate); the others are selected by the user's own columns, as dagster-duckdb does.
    """

    key: str
    where: str
    hidden: bool = False


def hidden_slice(key: str, column: str) -> Slice:
    return Slice(key, f"{quote(column)} = {literal(key)}", hidden=True)


def static_predicate(expr: str, keys: list[str]) -> str:
    """`expr IN ('a', 'b')`; no keys selects nothing."""
    if not keys:
        return "false"
    return f"{expr} IN ({', '.join(literal(k) for k in keys)})"


def time_window_predicate(expr: str, start: datetime, end: datetime) -> str:
    """Rows whose `expr` falls in [start, end), bounds written as dagster-duckdb writes them."""
    return (f"{expr} >= {literal(start.strftime(DUCKDB_DATETIME_FORMAT))} AND "
            f"{expr} < {literal(end.strftime(DUCKDB_DATETIME_FORMAT))}")


def any_of(predicates: list[str]) -> str:
    return " OR ".join(f"({p})" for p in predicates) if predicates else "false"


def slice_case(slices: list[Slice]) -> str:
    """A CASE giving each row the index of the first slice that selects it (NULL for none)."""
    if not slices:
        return "NULL::INTEGER"
    whens = " ".join(f"WHEN {s.where} THEN {i}" for i, s in enumerate(slices))
    return f"CASE {whens} END"
