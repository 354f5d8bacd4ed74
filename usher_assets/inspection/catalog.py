"""Stored tables and their checkpoints, for people: find one by name, list, show, forget, export."""

from pathlib import Path

import duckdb

from usher_assets.config import PipelineConfig
from usher_assets.progress import ProgressBar, watch_query_progress
from usher_assets.schemas import CHROMOSOMES
from usher_assets.storage.checkpoints import Checkpoint
from usher_assets.storage.provenance import ProvenanceTracker
from usher_assets.storage.sql import TableRef
from usher_assets.storage.store import PipelineStore

FINGERPRINT_SHORT = 12


class InspectionError(RuntimeError):
    """Nothing to act on (no database, no such table, an ambiguous name); the message is one line for the user."""


def open_store(config: PipelineConfig) -> PipelineStore:
    """The store of `config`, refusing to create an empty database as a side effect of looking."""
    if not config.store_exists():
        raise InspectionError(f"no database at {config.store_location}: nothing was materialized with this config yet; "
                              "run `make run` first, or pass --config with the config you ran")
    return config.open_store()


def resolve_table(store: PipelineStore, name: str) -> TableRef:
    """`schema.table`, or a bare table name when exactly one schema holds it (as a table or a checkpoint)."""
    schema, _, table = name.rpartition(".")
    try:
        TableRef(schema or "main", table)
    except ValueError as exc:
        raise InspectionError(str(exc)) from None
    known = _schemas_holding(store, table)
    if schema:
        if schema not in known:
            raise InspectionError(f"no table {schema}.{table} in {store.db_path}"
                                  f"{_hint(known, table)}; `usher-assets checkpoints list` shows what is stored")
        return TableRef(schema, table)
    if not known:
        raise InspectionError(f"no table named {table!r} in {store.db_path}; "
                              "`usher-assets checkpoints list` shows what is stored")
    if len(known) > 1:
        raise InspectionError(f"{table!r} is ambiguous: write one of {', '.join(f'{s}.{table}' for s in known)}")
    return TableRef(known[0], table)


def _schemas_holding(store: PipelineStore, table: str) -> list[str]:
    frame = store.execute_query(
        "SELECT table_schema AS s FROM information_schema.tables WHERE table_name = ? "
        "UNION SELECT schema_name FROM main._checkpoints WHERE table_name = ? ORDER BY s", [table, table])
    return frame["s"].to_list()


def _hint(schemas: list[str], table: str) -> str:
    return f" (did you mean {' or '.join(f'{s}.{table}' for s in schemas)}?)" if schemas else ""


def checkpoint_label(checkpoint: Checkpoint) -> str:
    return TableRef(checkpoint.schema_name, checkpoint.table_name, checkpoint.partition_key).label


def checkpoint_row(checkpoint: Checkpoint) -> dict:
    """The columns of `checkpoints list`, as plain JSON-able values."""
    return {
        "table": f"{checkpoint.schema_name}.{checkpoint.table_name}",
        "partition": checkpoint.partition_key,
        "rows": checkpoint.row_count,
        "created_at": checkpoint.created_at.isoformat(timespec="seconds"),
        "fingerprint": (checkpoint.fingerprint or "")[:FINGERPRINT_SHORT] or None,
        "description": checkpoint.description,
    }


def list_checkpoints(store: PipelineStore, schema: str | None = None, table: str | None = None) -> list[Checkpoint]:
    """Checkpoints by schema and table, slices in chromosome order (1, 2, ..., 22, X, Y, MT)."""
    def order(checkpoint: Checkpoint) -> tuple:
        key = checkpoint.partition_key
        rank = CHROMOSOMES.index(key) if key in CHROMOSOMES else len(CHROMOSOMES)
        return checkpoint.schema_name, checkpoint.table_name, rank, key or ""
    return sorted(store.list_checkpoints(schema, table), key=order)


def slices_of(store: PipelineStore, ref: TableRef) -> list[Checkpoint]:
    return list_checkpoints(store, ref.schema, ref.table)


def pick_checkpoint(store: PipelineStore, ref: TableRef, partition: str | None) -> Checkpoint:
    """The checkpoint of a table or of one slice; a partitioned table needs `partition`."""
    checkpoints = slices_of(store, ref)
    keys = [c.partition_key for c in checkpoints]
    if partition is None and keys and keys != [None]:
        raise InspectionError(f"{ref.label} is partitioned ({len(keys)} slices: {', '.join(map(str, keys))}); "
                              "pass --partition KEY")
    for checkpoint in checkpoints:
        if checkpoint.partition_key == partition:
            return checkpoint
    target = ref.slice(partition).label
    raise InspectionError(f"{target} has no checkpoint (the table exists but was never completed, or it was "
                          f"deleted); materialize it again" + (f"; stored slices: {', '.join(map(str, keys))}"
                                                               if keys else ""))


def show_checkpoint(store: PipelineStore, ref: TableRef, partition: str | None) -> dict:
    """One checkpoint in full plus the latest provenance record of its table or slice."""
    checkpoint = pick_checkpoint(store, ref, partition)
    provenance = store.latest_provenance(ref.table, schema=ref.schema, partition_key=partition)
    return checkpoint.as_dict() | {"table": checkpoint_label(checkpoint), "provenance": provenance}


def delete_checkpoints(store: PipelineStore, ref: TableRef, partition: str | None, *,
                       keep_data: bool = False) -> list[str]:
    """Forget one slice, or every checkpoint of the table; its data goes too unless `keep_data`.

    Returns the labels of the forgotten checkpoints. The next run recomputes them.
    """
    if partition is not None:
        pick_checkpoint(store, ref, partition)
        store.delete_checkpoint(ref.table, schema=ref.schema, partition_key=partition, drop_data=not keep_data)
        return [ref.slice(partition).label]
    checkpoints = slices_of(store, ref)
    if not checkpoints:
        raise InspectionError(f"{ref.label} has no checkpoint to delete")
    with store.session():
        for checkpoint in checkpoints:
            store.delete_checkpoint(ref.table, schema=ref.schema, partition_key=checkpoint.partition_key,
                                    drop_data=False)
        if not keep_data:
            # The unpartitioned call drops the whole table, every slice at once.
            store.delete_checkpoint(ref.table, schema=ref.schema, drop_data=True)
    return [checkpoint_label(c) for c in checkpoints]


def export_destination(config: PipelineConfig, path: Path) -> Path:
    """Where `checkpoints export` writes: a relative path lands in the configured output dir, not the cwd."""
    destination = path if path.is_absolute() else config.output_dir / path
    destination.parent.mkdir(parents=True, exist_ok=True)
    return destination


def export_table(store: PipelineStore, ref: TableRef, path: Path, config: PipelineConfig, *,
                 bar: ProgressBar | None = None) -> Path:
    """Parquet copy of a whole table (slices keep their partition_key column) with a provenance sidecar.

    `bar` (its total in rows) follows DuckDB's own progress of the COPY.
    """
    if not store.table_exists(ref.table, schema=ref.schema):
        raise InspectionError(f"table {ref.label} is not stored (only its checkpoint is left); "
                              "materialize it again before exporting")
    provenance = ProvenanceTracker()
    provenance.step("export", tool="usher-assets checkpoints export", table=ref.label, path=str(path))
    try:
        with store.session(), store.connect() as con:
            follow = bar is not None and bar.enabled
            with watch_query_progress(con, lambda pct: bar.update(pct / 100 * (bar.total or 0)), enabled=follow):
                written = store.export_parquet(ref.table, path, schema=ref.schema, provenance=provenance)
    except (OSError, duckdb.IOException) as exc:
        raise InspectionError(f"cannot write {path}: {exc}; choose a writable path") from exc
    if bar is not None:
        bar.update(bar.total or 0)
    return written


def table_rows(store: PipelineStore, ref: TableRef) -> int:
    return int(store.execute_query(f"SELECT count(*) AS n FROM {ref.qualified}")["n"][0])

