"""DuckDBIOManager: asset context -> TableRef -> PipelineStore call, plus standard metadata."""

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import dagster as dg
import polars as pl

from usher_assets.config import canonical_hash
from usher_assets.progress import LoggedProgress
from usher_assets.storage.checkpoints import Checkpoint
from usher_assets.storage.sql import TableRef
from usher_assets.storage.store import PipelineStore


@dataclass
class SliceOutcome:
    """One table or partition slice of a checkpointed asset: a frame to write, or a reused checkpoint."""

    partition_key: str | None
    fingerprint: str
    fingerprint_parts: dict[str, str]
    frame: Any = None
    checkpoint: Checkpoint | None = None
    status: str = "reused"  # reused | written | unchanged


@dataclass
class AssetOutcome:
    """What a checkpointed asset hands its I/O manager: every slice and the provenance record."""

    slices: list[SliceOutcome]
    provenance: dict = field(default_factory=dict)
    description: str | None = None


def table_ref(asset_key: dg.AssetKey, definition_metadata: dict | None) -> TableRef:
    """Schema from the asset's declared table name (its group), else the key prefix, else `main`."""
    declared = (definition_metadata or {}).get("dagster/table_name")
    if declared:
        schema, _, table = str(declared).partition(".")
        return TableRef(schema, table)
    path = asset_key.path
    return TableRef(path[0] if len(path) > 1 else "main", path[-1])


def column_schema(columns: list[tuple[str, str]]) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name=n, type=t) for n, t in columns])


def frame_kind(annotation: Any) -> str:
    """`pandas`, `arrow` or `polars` (the default) for an input's type annotation.

    Compared by module and name, so loading the definitions does not import pandas (a third of a second).
    """
    module, name = getattr(annotation, "__module__", ""), getattr(annotation, "__name__", "")
    if module.startswith("pandas") and name == "DataFrame":
        return "pandas"
    if module.startswith("pyarrow") and name == "Table":
        return "arrow"
    return "polars"


def summarize(statuses: list[str]) -> str:
    counts = {s: statuses.count(s) for s in dict.fromkeys(statuses)}
    if len(counts) == 1:
        return statuses[0]
    return "mixed: " + ", ".join(f"{n} {s}" for s, n in counts.items())


@lru_cache(maxsize=8)
def _store(database: str, lock_timeout: float) -> PipelineStore:
    # One store object per file and process, so bookkeeping DDL runs once, not per call.
    return PipelineStore(database, lock_timeout=lock_timeout)


class DuckDBIOManager(dg.ConfigurableIOManager):
    """Stores every asset as a DuckDB table with a checkpoint and provenance row per write."""

    database: str
    lock_timeout: float = 120.0

    def store(self) -> PipelineStore:
        return _store(self.database, self.lock_timeout)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # One open database for the run (or, on the multiprocess executor, for the step's process).
        self.store().hold()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.store().release()

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        ref = table_ref(context.asset_key, context.definition_metadata)
        store = self.store()
        outcome = obj if isinstance(obj, AssetOutcome) else self._plain_outcome(context, obj)
        written = [p for p in outcome.slices if p.frame is not None]
        saving = LoggedProgress(context.log, f"{ref.label}: saving", sum(len(p.frame) for p in written))
        with store.session():
            for piece in written:
                self._save(context, store, ref, outcome, piece)
                saving.advance(len(piece.frame))
        if len(written) > 1:
            saving.finish()
            context.log.info(f"{ref.label}: {len(written)} slices ({summarize([p.status for p in written])})")
        context.add_output_metadata(self.metadata_for(ref, outcome))

    @staticmethod
    def _save(context, store, ref: TableRef, outcome: AssetOutcome, piece: SliceOutcome) -> None:
        piece.checkpoint, wrote = store.save_if_changed(
            piece.frame, ref.table, outcome.description, schema=ref.schema,
            partition_key=piece.partition_key, fingerprint=piece.fingerprint,
            fingerprint_parts=piece.fingerprint_parts,
            provenance=outcome.provenance | {"fingerprint": piece.fingerprint},
            run_id=context.run_id)
        piece.status = "written" if wrote else "unchanged"
        if piece.partition_key is None:
            context.log.info(f"{ref.label}: {piece.status}, {piece.checkpoint.row_count:,} rows")

    def _plain_outcome(self, context: dg.OutputContext, obj: Any) -> AssetOutcome:
        # An asset outside the checkpointed decorator: store it, with no fingerprint to skip on.
        keys = context.asset_partition_keys if context.has_asset_partitions else [None]
        if len(keys) > 1:
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()}: a plain asset can store one partition per run; "
                "use the checkpointed_asset decorator for partition ranges")
        return AssetOutcome([SliceOutcome(keys[0], "", {}, frame=obj, status="written")],
                            provenance={"run_id": context.run_id, "asset_key": context.asset_key.to_user_string()})

    @staticmethod
    def metadata_for(ref: TableRef, outcome: AssetOutcome) -> dict:
        """Standard table metadata plus `fingerprint` and `checkpoint`, for written and reused slices alike."""
        checkpoints = [s.checkpoint for s in outcome.slices if s.checkpoint is not None]
        metadata: dict[str, Any] = {
            "dagster/table_name": f"{ref.schema}.{ref.table}",
            "dagster/row_count": sum(c.row_count for c in checkpoints),
            "checkpoint": summarize([s.status for s in outcome.slices]),
        }
        if checkpoints:
            metadata["dagster/column_schema"] = column_schema(checkpoints[0].columns)
        if len(outcome.slices) == 1:
            metadata["fingerprint"] = outcome.slices[0].fingerprint
        else:
            # Dagster copies this metadata into every partition's event: one hash, not 25-entry maps
            # (each slice's own fingerprint is in _checkpoints and `usher-assets checkpoints list`).
            metadata["fingerprint"] = canonical_hash({s.partition_key: s.fingerprint for s in outcome.slices})
            if len({s.status for s in outcome.slices}) > 1:
                metadata["checkpoint_by_partition"] = dg.MetadataValue.json(
                    {s.partition_key: s.status for s in outcome.slices})
        return metadata

    def load_input(self, context: dg.InputContext) -> Any:
        upstream = context.upstream_output
        ref = table_ref(upstream.asset_key, upstream.definition_metadata)
        partition = None
        if context.has_asset_partitions and len(context.asset_partition_keys) == 1:
            partition = context.asset_partition_keys[0]
        return self.load_table(ref, partition, context.dagster_type.typing_type)

    def load_table(self, ref: TableRef, partition_key: str | None = None, as_type: Any = pl.DataFrame) -> Any:
        kind = frame_kind(as_type)
        frame = self.store().load_dataframe(ref.table, schema=ref.schema, partition_key=partition_key, as_type=kind)
        if frame is None:
            where = ref.label if partition_key is None else ref.slice(partition_key).label
            raise dg.DagsterInvariantViolationError(
                f"{self.database}: no stored table {where}; materialize its asset first")
        return frame
