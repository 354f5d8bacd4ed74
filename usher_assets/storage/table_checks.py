"""Table checks on stored tables: unique and non-null keys, values in range, row counts near the previous version.

`check_definitions` turns a table's rules into one Dagster asset check, `table_integrity`, whose result lists
each rule's finding: every check result is events a rerun writes too, so one per table keeps a fully reused
run near Dagster's own floor. The evaluation reads only the store, and a reused table's unique/not-null/range
outcomes are read back by content hash instead of scanned again.
"""

import hashlib
import json
from datetime import timezone
from dataclasses import dataclass

import dagster as dg

from usher_assets.storage.sql import TableRef, quote, validate_name
from usher_assets.storage.store import PipelineStore

# A new release may grow or shrink a table, but not by this much without someone looking.
ROW_COUNT_TOLERANCE = 0.25
# The one Dagster asset check of each checked table.
TABLE_CHECK_NAME = "table_integrity"


@dataclass(frozen=True)
class TableCheck:
    """`unique` / `not_null` over columns, `range` (each non-NULL value within `bounds`), or `row_count`."""

    kind: str
    columns: tuple[str, ...] = ()
    bounds: tuple[float, float] = (0.0, 1.0)

    @property
    def name(self) -> str:
        if self.kind == "range" and len(self.columns) > 1:
            return f"range_{self.columns[0]}_and_{len(self.columns) - 1}_more"
        return f"{self.kind}_{'_'.join(self.columns)}" if self.columns else self.kind

    @property
    def description(self) -> str:
        if self.kind == "unique":
            return f"No two rows share {', '.join(self.columns)}."
        if self.kind == "not_null":
            return f"No row has a NULL {', '.join(self.columns)}."
        if self.kind == "range":
            return f"Every non-NULL {', '.join(self.columns)} lies within [{self.bounds[0]:g}, {self.bounds[1]:g}]."
        return (f"Row count (summed over partitions) within {ROW_COUNT_TOLERANCE:.0%} of the previous different "
                f"version of this table.")


def id_checks(*columns: str) -> tuple[TableCheck, ...]:
    """Unique and non-null IDs, plus the row-count check."""
    return (TableCheck("unique", columns), TableCheck("not_null", columns), TableCheck("row_count"))


def range_checks(*columns: str, bounds: tuple[float, float] = (0.0, 1.0)) -> tuple[TableCheck, ...]:
    """One `range` rule over these columns (scores, percentiles): one scan per table."""
    return (TableCheck("range", tuple(columns), bounds),) if columns else ()


def run_checks(store: PipelineStore, ref: TableRef, checks) -> dict[str, tuple[bool, str, dict]]:
    """name -> (passed, finding, metadata) for each rule, remembered per table content.

    Unique/not-null/range outcomes depend only on the content, so a reused table's are read back (two
    queries for the table, whatever its rules) instead of scanned again; the row-count rule compares
    versions and is always evaluated.
    """
    slices = store.execute_query(
        "SELECT partition_key, content_hash FROM main._checkpoints WHERE schema_name = ? AND table_name = ? "
        "ORDER BY partition_key", [ref.schema, ref.table]).rows()
    # What a content-only outcome depends on: every slice's content hash, and the rule's own settings.
    content = {check.name: hashlib.sha256(json.dumps([slices, repr(check)]).encode()).hexdigest() for check in checks}
    known = {name: outcome for name, (remembered, outcome) in store.remembered_checks(ref).items()
             if content.get(name) == remembered}
    outcomes = {}
    for check in checks:
        if check.kind == "row_count":
            outcomes[check.name] = evaluate_check(store, ref, check)
            continue
        if check.name in known:
            outcomes[check.name] = known[check.name]
            continue
        outcomes[check.name] = evaluate_check(store, ref, check)
        store.remember_check(ref, check.name, content[check.name], outcomes[check.name])
    return outcomes


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
    if check.kind == "range":
        low, high = check.bounds
        names = [validate_name(c, "column name") for c in check.columns]
        counts = ", ".join(f"count(*) FILTER (WHERE {quote(c)} < $1 OR {quote(c)} > $2 OR isnan({quote(c)})) "
                           f"AS {quote(c)}" for c in names)
        out = store.execute_query(f"SELECT {counts} FROM {ref.qualified}", [low, high]).row(0)
        bad = {c: int(n) for c, n in zip(names, out) if n}
        finding = (f"rows outside [{low:g}, {high:g}]: {bad}" if bad
                   else f"{', '.join(names)} within [{low:g}, {high:g}]")
        return not bad, finding, {"rows_out_of_range": sum(bad.values())}
    return row_count_check(store, ref)


def row_count_check(store: PipelineStore, ref: TableRef) -> tuple[bool, str, dict]:
    """Rows now (summed over slices) against the table before each slice's latest content change.

    Reused and unchanged writes keep a slice's content hash, so they are not a new version; a table no
    slice of which ever changed content is compared with nothing and says since when it is unchanged.
    """
    history = store.execute_query(
        "SELECT p.partition_key, p.content_hash, p.row_count, p.created_at FROM main._provenance p "
        "JOIN main._checkpoints c ON c.schema_name = p.schema_name AND c.table_name = p.table_name "
        "AND c.partition_key = p.partition_key "
        "WHERE p.schema_name = ? AND p.table_name = ? ORDER BY p.partition_key, p.created_at DESC",
        [ref.schema, ref.table])
    current = previous = 0
    changed, since = False, None
    for _part, rows in history.group_by("partition_key", maintain_order=True):
        hashes, counts, times = rows["content_hash"].to_list(), rows["row_count"].to_list(), rows["created_at"]
        current += counts[0]
        earlier = next((i for i, h in enumerate(hashes) if h != hashes[0]), None)
        changed |= earlier is not None
        previous += counts[0] if earlier is None else counts[earlier]
        first_of_current = times[(earlier or rows.height) - 1]
        since = first_of_current if since is None else max(since, first_of_current)
    if not changed:
        # Reused and unchanged materializations are the same version: nothing earlier to compare with.
        when = f" (this content since {since.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC)" if since else ""
        return True, f"{current} rows, the only version so far{when}", {"rows": current}
    change = (current - previous) / previous if previous else float("inf")
    return abs(change) <= ROW_COUNT_TOLERANCE, f"{current} rows, previous version {previous} ({change:+.1%})", \
        {"rows": current, "previous_rows": previous}


def rules_description(checks) -> str:
    """The asset check's description: each of its rules."""
    return " ".join(check.description for check in checks)


def table_check_result(store: PipelineStore, ref: TableRef, checks, key: dg.AssetKey) -> dg.AssetCheckResult:
    """The table's one AssetCheckResult: passed when every rule holds; each rule's finding in the metadata
    (`unique_hgnc_id`: "unique"), its figures beside it (`row_count/rows`), the failed rules named."""
    with store.session():
        outcomes = run_checks(store, ref, checks)
    failed = [name for name, (passed, _finding, _figures) in outcomes.items() if not passed]
    metadata: dict = {"failed_rules": ", ".join(failed) or "none"}
    for name, (_passed, finding, figures) in outcomes.items():
        metadata[name] = finding
        metadata.update({f"{name}/{field}": value for field, value in figures.items()})
    summary = (f"{len(failed)} of {len(outcomes)} rules failed: {', '.join(failed)}" if failed
               else f"all {len(outcomes)} rules hold")
    return dg.AssetCheckResult(asset_key=key, check_name=TABLE_CHECK_NAME, passed=not failed,
                               description=summary, metadata=metadata)
