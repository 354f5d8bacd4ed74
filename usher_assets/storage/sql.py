"""Identifiers and references for SQL built from names: validated, then quoted."""

import re
from dataclasses import dataclass

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def validate_name(name: str, what: str = "table name") -> str:
    """Return `name` if it is a plain identifier; otherwise raise ValueError.

    Names reach SQL as quoted identifiers, so validation is a second fence, not the only
    one: a name like ``x"; DROP TABLE _checkpoints; --`` is refused outright.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"invalid {what} {name!r}: use letters, digits and underscores, starting with a "
            "letter or underscore, at most 63 characters"
        )
    return name


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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
