"""One handler per frame library: to Arrow for storing, from Arrow for loading (as dagster-duckdb's type handlers).

Types are recognised by module and name, so loading definitions does not import pandas (a third of a second).
"""

from dataclasses import dataclass
from typing import Any, Callable

import pyarrow as pa
from dagster_shared.check import CheckError


class UnsupportedTypeError(CheckError, TypeError):
    """A value or annotation no handler stores or loads; the message names the type and the asset.

    A CheckError, as dagster-duckdb raises for the same case, so code written against it still catches it.
    """


@dataclass(frozen=True)
class TypeHandler:
    name: str
    module: str  # top-level module of the type
    type_name: str
    to_arrow: Callable[[Any], pa.Table]
    from_arrow: Callable[[pa.Table], Any]

    def handles(self, cls: type) -> bool:
        return any(getattr(c, "__module__", "").split(".")[0] == self.module and c.__name__ == self.type_name
                   for c in getattr(cls, "__mro__", (cls,)))


def _polars_from_arrow(table: pa.Table):
    import polars as pl

    return pl.from_arrow(table) if table.num_columns else pl.DataFrame()


def _lazy_from_arrow(table: pa.Table):
    return _polars_from_arrow(table).lazy()


def _pandas_from_arrow(table: pa.Table):
    import pandas as pd

    return table.to_pandas() if table.num_columns else pd.DataFrame()


def _polars_to_arrow(frame) -> pa.Table:
    # polars exports an Object column (Python objects) as 8-byte memory addresses: refuse it, as pandas does.
    objects = [name for name, dtype in frame.schema.items() if "Object" in str(dtype)]
    if objects:
        raise pa.ArrowTypeError(f"polars dtype Object (Python objects) in column(s) {objects}, which Arrow "
                                "would store as memory addresses")
    return frame.to_arrow()


def _pandas_to_arrow(frame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


HANDLERS = (
    TypeHandler("polars", "polars", "DataFrame", _polars_to_arrow, _polars_from_arrow),
    TypeHandler("polars-lazy", "polars", "LazyFrame", lambda f: _polars_to_arrow(f.collect()), _lazy_from_arrow),
    TypeHandler("pandas", "pandas", "DataFrame", _pandas_to_arrow, _pandas_from_arrow),
    TypeHandler("pyarrow", "pyarrow", "Table", lambda t: t, lambda t: t),
)
DEFAULT_HANDLER = HANDLERS[0]
SUPPORTED = "polars DataFrame or LazyFrame, pandas DataFrame, pyarrow Table"


def handler_for_value(value: Any, where: str) -> TypeHandler:
    """The handler that stores `value`; UnsupportedTypeError naming its type and `where` (the asset)."""
    for handler in HANDLERS:
        if handler.handles(type(value)):
            return handler
    raise UnsupportedTypeError(f"DuckDBIOManager does not have a handler for type '{type(value)}' ({where}). "
                               f"It stores a {SUPPORTED}")


def handler_for_type(annotation: Any, where: str) -> TypeHandler:
    """The handler that loads as `annotation`; no annotation (Any, object, None) loads polars."""
    if annotation is None or annotation is Any or annotation is object or not isinstance(annotation, type):
        return DEFAULT_HANDLER
    for handler in HANDLERS:
        if handler.handles(annotation):
            return handler
    raise UnsupportedTypeError(f"DuckDBIOManager does not have a handler for type '{annotation}' ({where}). "
                               f"Annotate the input as a {SUPPORTED}")


def to_arrow(value: Any, where: str = "value") -> pa.Table:
    return handler_for_value(value, where).to_arrow(value)
