"""Table checks on stored tables: unique and non-null keys, plausible row counts against the previous version.

They run inside the asset's own step, right after its table is stored (or reused), so a checkpointed
rerun pays a few milliseconds for them instead of one extra step per check.
"""

import json
from dataclasses import dataclass

import dagster as dg

from usher_assets.storage.sql import TableRef, quote, validate_name
from usher_assets.storage.store import PipelineStore

# A new release may grow or shrink a table, but not by this much without someone looking.
ROW_COUNT_TOLERANCE = 0.25


@dataclass(frozen=True)
class TableCheck:
    """`unique` / `not_null` over columns, or `row_count` against the previous write."""

    kind: str
    columns: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.kind}_{'_'.join(self.columns)}" if self.columns else self.kind

    @property
    def description(self) -> str:
        if self.kind == "unique":
            return f"No two rows share {', '.join(self.columns)}."
        if self.kind == "not_null":
            return f"No row has a NULL {', '.join(self.columns)}."
        return f"Row count within {ROW_COUNT_TOLERANCE:.0%} of the previous write of this table."


def id_checks(*columns: str) -> tuple[TableCheck, ...]:
    """Unique and non-null IDs, plus the row-count check."""
    return (TableCheck("unique", columns), TableCheck("not_null", columns), TableCheck("row_count"))


def run_check(store: PipelineStore, ref: TableRef, check: TableCheck) -> tuple[bool, str, dict]:
    """(passed, finding, metadata) for one check, remembered per table content.

    Unique/not-null outcomes depend only on the content, so a reused table's are read back instead
    of scanning it again; the row-count check compares versions and is always evaluated.
    """
    if check.kind == "row_count":
        return evaluate_check(store, ref, check)
    checkpoint = store.get_checkpoint(ref.table, schema=ref.schema)
    content = checkpoint.content_hash if checkpoint else ""
    known = store.execute_query(
        "SELECT passed, finding, metadata FROM main._check_results WHERE schema_name = ? AND table_name = ? "
        "AND check_name = ? AND content_hash = ?", [ref.schema, ref.table, check.name, content])
    if known.height:
        passed, finding, metadata = known.row(0)
        return passed, finding, json.loads(metadata)
    passed, finding, metadata = evaluate_check(store, ref, check)
    with store.transaction() as con:
        con.execute("DELETE FROM main._check_results WHERE schema_name = ? AND table_name = ? AND check_name = ?",
                    [ref.schema, ref.table, check.name])
        con.execute("INSERT INTO main._check_results VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [ref.schema, ref.table, check.name, content, passed, finding, json.dumps(metadata)])
    return passed, finding, metadata


def evaluate_check(store: PipelineStore, ref: TableRef, check: TableCheck) -> tuple[bool, str, dict]:
    """(passed, description of the finding, metadata) for one check on a stored table."""
    cols = ", ".join(quote(validate_name(c, "column name")) for c in check.columns)
    if check.kind == "unique":
        dupes = store.execute_query(
            f"SELECT {cols}, count(*) AS n FROM {ref.qualified} GROUP BY ALL HAVING count(*) > 1 LIMIT 5")
        examples = [list(r)[:-1] for r in dupes.rows()]
        return not dupes.height, f"duplicated {check.columns}: {examples}" if dupes.height else "unique", \
            {"duplicate_examples": str(examples)}
    if check.kind == "not_null":
        condition = " OR ".join(f"{quote(c)} IS NULL" for c in check.columns)
        nulls = store.execute_query(f"SELECT count(*) AS n FROM {ref.qualified} WHERE {condition}")["n"][0]
        return nulls == 0, f"{nulls} rows with NULL {check.columns}", {"null_rows": int(nulls)}
    history = store.execute_query(
        "SELECT DISTINCT content_hash, row_count, created_at FROM main._provenance "
        "WHERE schema_name = ? AND table_name = ? AND partition_key = '' ORDER BY created_at DESC LIMIT 20",
        [ref.schema, ref.table])
    counts = [r for r in history.unique(subset="content_hash", keep="first", maintain_order=True).iter_rows()]
    if len(counts) < 2:
        return True, "first version of this table", {}
    current, previous = counts[0][1], counts[1][1]
    change = (current - previous) / previous if previous else float("inf")
    return abs(change) <= ROW_COUNT_TOLERANCE, f"{current} rows, previous version {previous} ({change:+.1%})", \
        {"rows": current, "previous_rows": previous}


def check_results(store: PipelineStore, ref: TableRef, checks, key: dg.AssetKey):
    """The AssetCheckResults of `checks` against what is stored now."""
    with store.session():
        for check in checks:
            passed, finding, metadata = run_check(store, ref, check)
            yield dg.AssetCheckResult(asset_key=key, check_name=check.name, passed=passed,
                                      metadata={"finding": finding, **metadata})
