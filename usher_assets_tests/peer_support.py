"""Shared by the peer-scenario tests: frame libraries, the manager under test, raw SQL reads.

The scenarios come from dagster-duckdb(-polars, -pandas)'s own tests and Dagster's
TemplateTypeHandlerTestSuite; they run against usher_assets.storage.DuckDBIOManager exactly as a
dagster-duckdb user would configure it. For a by-hand comparison, USHER_PEER_STOCK=1 swaps in the
stock DuckDBPandasIOManager / DuckDBPolarsIOManager (not a project dependency: install
dagster-duckdb-pandas and dagster-duckdb-polars into the venv first).
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa


@dataclass(frozen=True)
class FrameLib:
    """One in-memory table type: how to build one, and how to look inside what the manager hands back."""

    name: str
    type: type
    build: Callable[[dict], Any]
    rows: Callable[[Any], int]
    column: Callable[[Any], Callable[[str], list]]
    columns: Callable[[Any], list[str]]

    def __repr__(self) -> str:
        return self.name

    def is_empty(self, frame: Any) -> bool:
        return self.rows(frame) == 0

    def values(self, frame: Any, name: str) -> list:
        return self.column(frame)(name)


POLARS = FrameLib("polars", pl.DataFrame, pl.DataFrame, lambda f: f.height,
                  lambda f: lambda c: f[c].to_list(), lambda f: list(f.columns))
PANDAS = FrameLib("pandas", pd.DataFrame, pd.DataFrame, lambda f: len(f.index),
                  lambda f: lambda c: f[c].tolist(), lambda f: [str(c) for c in f.columns])
ARROW = FrameLib("pyarrow", pa.Table, pa.table, lambda f: f.num_rows,
                 lambda f: lambda c: f.column(c).to_pylist(), lambda f: list(f.column_names))
LAZY = FrameLib("polars-lazy", pl.LazyFrame, pl.LazyFrame, lambda f: f.collect().height,
                lambda f: lambda c: f.collect()[c].to_list(), lambda f: list(f.collect_schema().names()))

# The peer's own tests run each scenario on polars and on pandas (one test file per library).
PEER_LIBS = [POLARS, PANDAS]
ALL_LIBS = [POLARS, LAZY, PANDAS, ARROW]


def stock() -> bool:
    return bool(os.environ.get("USHER_PEER_STOCK"))


def make_manager(database: Path | str, lib: FrameLib = PANDAS, **config):
    """The I/O manager as a dagster-duckdb user writes it: `DuckDBIOManager(database=..., **config)`."""
    if stock():
        if lib.type in (pl.DataFrame, pl.LazyFrame):
            from dagster_duckdb_polars import DuckDBPolarsIOManager as Stock
        else:
            from dagster_duckdb_pandas import DuckDBPandasIOManager as Stock
        return Stock(database=str(database), **config)
    from usher_assets.storage import DuckDBIOManager

    return DuckDBIOManager(database=str(database), **config)


def sql(database: Path | str, query: str) -> tuple[list[str], list[tuple]]:
    """What raw SQL on the file sees: column names and rows, no frame library in between."""
    with duckdb.connect(str(database)) as con:
        cursor = con.execute(query)
        return [d[0] for d in cursor.description], cursor.fetchall()


def sql_column(database: Path | str, table: str, column: str) -> list:
    names, rows = sql(database, f"SELECT * FROM {table}")
    index = names.index(column)
    return [row[index] for row in rows]


def sql_columns(database: Path | str, table: str) -> list[str]:
    return sql(database, f"SELECT * FROM {table} LIMIT 0")[0]


def tables(database: Path | str) -> set[str]:
    """Every user table as schema.table (our bookkeeping tables, names starting `_`, left out)."""
    _, rows = sql(database, "SELECT table_schema, table_name FROM information_schema.tables")
    return {f"{s}.{t}" for s, t in rows if not t.startswith("_")}
