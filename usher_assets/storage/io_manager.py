"""DuckDBIOManager: dagster-duckdb's conventions on a store that checkpoints every table and partition slice.

Context -> StoredAsset (schema, table, slices) -> PipelineStore call, plus metadata. The skip itself lives
in the `checkpointed` decorator; a plain asset or op output is stored with a fingerprint of what the
manager can see (asset, partition, code version, run config, upstream content).
"""

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import dagster as dg
from pydantic import ConfigDict, Field

from usher_assets.storage.checkpoints import Checkpoint
from usher_assets.storage.dependencies import StoredAsset, asset_fingerprints, schema_for, stored_asset
from usher_assets.storage.fingerprint import Fingerprint, canonical_hash, make_fingerprint
from usher_assets.storage.partitions import slices_for
from usher_assets.storage.sql import TableRef
from usher_assets.storage.store import PipelineStore, open_store
from usher_assets.storage.type_handlers import handler_for_type, handler_for_value


@dataclass
class CheckpointedOutput:
    """What the checkpointed decorator hands the manager: the frame to store and each slice's fingerprint."""

    frame: Any
    fingerprints: dict[str | None, Fingerprint]
    provenance: dict = field(default_factory=dict)
    description: str | None = None
    reused: dict[str, Checkpoint] = field(default_factory=dict)  # slices whose checkpoint stands; not rewritten
    files: tuple = ()  # files the body made from this table: each gets the table's record as its sidecar


def summarize(statuses: list[str]) -> str:
    counts = {s: statuses.count(s) for s in dict.fromkeys(statuses)}
    if len(counts) == 1:
        return statuses[0]
    return "mixed: " + ", ".join(f"{n} {s}" for s, n in counts.items())


def column_schema(columns: list[tuple[str, str]], described: dg.TableSchema | None = None) -> dg.TableSchema:
    """The stored columns, with the descriptions the asset declares in its own dagster/column_schema."""
    notes = {c.name: c.description for c in (described.columns if described else [])}
    return dg.TableSchema(columns=[dg.TableColumn(name=n, type=t, description=notes.get(n)) for n, t in columns])


@lru_cache(maxsize=16)
def _store(database: str, backend: str, lock_timeout: float, config: tuple, options: tuple,
           delta_index: str | None) -> PipelineStore:
    # One store object per location and process, so bookkeeping DDL runs once (and Delta logs are folded
    # incrementally), not per call.
    return open_store(database, backend, lock_timeout=lock_timeout, connection_config=dict(config),
                      storage_options=dict(options), delta_index=delta_index)


class DuckDBIOManager(dg.ConfigurableIOManager):
    """Stores assets and op outputs as DuckDB tables, each table or partition slice with a checkpoint and provenance.

    Schema: asset metadata `schema`, else this manager's `schema`, else the key prefix, else `public`.
    Partitions are slices selected by `partition_expr` metadata (a column or SQL expression; a dict per
    dimension for multi-partitions), which a partitioned asset must give, as with dagster-duckdb.
    """

    model_config = ConfigDict(extra="forbid")  # a misspelt argument is an error, not silently ignored

    database: str = Field(description="Path to the DuckDB database file; with backend 'delta', the directory "
                                      "(or object-store URI) holding one Delta table per asset.")
    backend: Literal["duckdb", "delta"] = Field(
        default="duckdb", description="'duckdb': one database file, one writer at a time. 'delta': Delta Lake "
                                      "tables, many writers at once (see docs/scaling.md).")
    storage_options: dict[str, str] = Field(
        default={}, description="delta-rs storage options (object-store credentials, locking); backend 'delta' only.")
    delta_index: str | None = Field(
        default=None, description="Backend 'delta': a postgresql:// URL for the tables' index entries (hosts sharing "
                                  "an object-store root share them); by default files beside local tables.")
    schema_: str | None = Field(default=None, alias="schema", description="Schema for tables that name none.")
    connection_config: dict[str, Any] = Field(
        default={}, description="DuckDB connection settings, as in dagster-duckdb (https://duckdb.org/docs/configuration).")
    lock_timeout: float = Field(default=120.0, description="Seconds to wait for another process's lock on the file.")

    def store(self) -> PipelineStore:
        return _store(self.database, self.backend, self.lock_timeout, tuple(sorted(self.connection_config.items())),
                      tuple(sorted(self.storage_options.items())), self.delta_index)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.store().release()

    # -- where things go -------------------------------------------------------------

    def target_for_output(self, context: dg.OutputContext) -> StoredAsset:
        metadata = dict(context.definition_metadata or {})
        if context.has_asset_key:
            partitions_def = context.asset_partitions_def if context.has_asset_partitions else None
            return stored_asset(context.asset_key, metadata, partitions_def, self.schema_)
        # An op output: table named by its metadata or the output, as dagster-duckdb does.
        table = str(metadata.get("table") or context.name)
        schema = schema_for([table], metadata, self.schema_)
        return StoredAsset(dg.AssetKey([context.step_key, context.name]), TableRef(schema, table))

    # -- writing ---------------------------------------------------------------------

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        target = self.target_for_output(context)
        where = target.key.to_user_string()
        if obj is None:
            raise dg.DagsterInvariantViolationError(
                f"{where}: unexpected None output. If None is intentional, annotate the function with '-> None'")
        keys = list(map(str, context.asset_partition_keys)) if context.has_asset_partitions else None
        checkpointed = obj if isinstance(obj, CheckpointedOutput) else None
        frame = checkpointed.frame if checkpointed else obj
        handler_for_value(frame, where)  # an unsupported type fails here, named, before anything is written
        fingerprints = checkpointed.fingerprints if checkpointed else self._plain_fingerprints(context, target, keys)
        provenance = checkpointed.provenance if checkpointed else {"run_id": context.run_id, "asset_key": where}
        saved = self.store().save(
            frame, target.ref, target.slices(keys),
            {k: (fp.value, fp.parts) for k, fp in fingerprints.items()},
            description=checkpointed.description if checkpointed else None,
            provenance=provenance | {"code_version": _code_version(context)}, run_id=context.run_id,
            keep=frozenset(checkpointed.reused) if checkpointed else frozenset())
        outcome = {c.partition_key: (c, "written" if wrote else "unchanged") for c, wrote in saved}
        outcome |= {k: (c, "reused") for k, c in (checkpointed.reused if checkpointed else {}).items()}
        ordered = [outcome[k] for k in (keys or [None])]
        checkpoints, statuses = [c for c, _ in ordered], [s for _, s in ordered]
        for path in (checkpointed.files if checkpointed else ()):
            if path.exists():
                # Written after the table, so the sidecar carries its run id, fingerprint and content hash.
                self.store().write_sidecar(path, target.ref)
        context.log.info(f"{target.ref.label}: {summarize(statuses)}, {sum(c.row_count for c in checkpoints):,} rows"
                         + (f" in {len(checkpoints)} slices" if keys else ""))
        context.add_output_metadata(self.metadata_for(target.ref, checkpoints, statuses,
                                                      context.definition_metadata.get("dagster/column_schema")))
        if keys and len(keys) > 1 and context.has_asset_key:
            for checkpoint, status in zip(checkpoints, statuses):
                context.step_context.add_asset_metadata(partition_metadata(checkpoint, status),
                                                        asset_key=context.asset_key,
                                                        partition_key=checkpoint.partition_key)

    def _plain_fingerprints(self, context: dg.OutputContext, target: StoredAsset,
                            keys: list[str] | None) -> dict[str | None, Fingerprint]:
        step = context.step_context if context.has_asset_key else None
        run_config = _op_config(context)
        if step is None:
            base = {"asset": [target.ref.schema, target.ref.table, None], "run_config": run_config,
                    "code_version": _code_version(context)}
            return {k: make_fingerprint(base | {"asset": [target.ref.schema, target.ref.table, k]})
                    for k in (keys or [None])}
        graph = step.job_def.asset_layer.asset_graph
        fingerprints = asset_fingerprints(self.store(), graph, context.asset_key, keys, run_config=run_config,
                                          default_schema=self.schema_, instance=step.instance)
        return dict(zip(keys or [None], fingerprints))

    @staticmethod
    def metadata_for(ref: TableRef, checkpoints: list[Checkpoint], statuses: list[str],
                     described: dg.TableSchema | None = None) -> dict:
        """Standard table metadata plus `checkpoint` and `fingerprint`, for written and reused slices alike."""
        metadata: dict[str, Any] = {
            "dagster/table_name": f"{ref.schema}.{ref.table}",
            "dagster/row_count": sum(c.row_count for c in checkpoints),
            "checkpoint": summarize(statuses),
        }
        if checkpoints:
            metadata["dagster/column_schema"] = column_schema(checkpoints[0].columns, described)
        if len(checkpoints) == 1:
            metadata["fingerprint"] = checkpoints[0].fingerprint or ""
        elif checkpoints:
            # A range run's partitions each carry their own figures (partition_metadata); this is the whole,
            # which Dagster copies onto every partition's event: named as the run's, not the partition's.
            metadata["fingerprint"] = canonical_hash({c.partition_key: c.fingerprint for c in checkpoints})
            metadata["partitions_in_run"] = len(checkpoints)
        return metadata

    # -- reading ---------------------------------------------------------------------

    def load_input(self, context: dg.InputContext) -> Any:
        upstream = context.upstream_output
        target = self.target_for_output(upstream)
        where = context.asset_key.to_user_string() if context.has_asset_key else target.ref.label
        handler = handler_for_type(context.dagster_type.typing_type, f"input {context.name!r} ({where})")
        keys = list(map(str, context.asset_partition_keys)) if context.has_asset_partitions else None
        if keys is not None and target.partitions_def is None:
            target = StoredAsset(target.key, target.ref, context.asset_partitions_def,
                                 (upstream.definition_metadata or {}).get("partition_expr"))
        columns = (context.definition_metadata or {}).get("columns")
        return handler.from_arrow(self.load_slices(target, keys, columns, where))

    def load_slices(self, target: StoredAsset, keys: list[str] | None, columns: list[str] | None, where: str):
        """Arrow rows of exactly the given partitions (all rows for an unpartitioned table).

        No partitions (a self-dependent asset's first partition) gives an empty table with the stored
        columns, or none if nothing is stored yet; a missing table otherwise is an error.
        """
        slices = slices_for(target.partitions_def, keys, target.partition_expr, where) if keys is not None else None
        table = self.store().load(target.ref, slices, columns=columns)
        if table is None:
            if keys == []:
                import pyarrow as pa

                return pa.table({})
            raise dg.DagsterInvariantViolationError(
                f"{self.database}: no stored table {target.ref.label} for {where}; materialize "
                f"{target.key.to_user_string()} first")
        return table


def duckdb_manager(resources, name: str, why: str) -> "DuckDBIOManager":
    """The resource `name`, which `why` (e.g. "sources.hgnc is checkpointed") needs to be a DuckDBIOManager."""
    manager = getattr(resources, name)
    if not isinstance(manager, DuckDBIOManager):
        raise dg.DagsterInvalidDefinitionError(
            f"{why}, so its I/O manager {name!r} must be a usher_assets.storage.DuckDBIOManager, "
            f"not {type(manager).__name__}")
    return manager


def partition_metadata(checkpoint: Checkpoint, status: str) -> dict:
    """What one partition's materialization shows in a range run: its own rows, status and fingerprint."""
    return {"dagster/row_count": checkpoint.row_count, "checkpoint": status,
            "fingerprint": checkpoint.fingerprint or ""}


def _code_version(context: dg.OutputContext) -> str | None:
    try:
        return context.step_context.job_def.asset_layer.get(context.asset_key).code_version \
            if context.has_asset_key else None
    except Exception:  # noqa: BLE001 - a context built outside a run has no step
        return None


def _op_config(context: dg.OutputContext) -> dict:
    try:
        config = context.step_context.op_config
    except Exception:  # noqa: BLE001 - a context built outside a run has no step
        return {}
    return config if isinstance(config, dict) else {"value": config}
