"""Where an asset is stored, and what its output depends on, read from Dagster's asset graph and the stored checkpoints.

The same function fingerprints an asset inside a run (the decorator, the I/O manager) and outside one
(`checkpoints explain`, a schedule deciding what to launch), so both always agree.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from usher_assets.storage.fingerprint import Fingerprint, canonical_hash, make_fingerprint
from usher_assets.storage.partitions import slices_for, upstream_partition_keys
from usher_assets.storage.sql import Slice, TableRef

DEFAULT_SCHEMA = "public"  # dagster-duckdb's default when neither metadata, manager nor key prefix names one


@dataclass(frozen=True)
class DeclaredInputs:
    """What an asset reads besides its upstream assets, declared by the project that defines it.

    `parts` become fingerprint parts (e.g. {"source:hgnc": {"release": ..., "sha256": ...}}); `lineage`
    values are inherited by every fingerprint downstream, even where the content did not change (a
    relabelled release); a missing `required_files` entry (a file the body writes) forces a recompute;
    `provenance` adds ProvenanceTracker fields (pipeline, pipeline_version, config_hash, source_releases).
    """

    parts: dict[str, Any] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict)
    required_files: tuple[Path, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredAsset:
    """An asset's table and how its partitions map to slices."""

    key: dg.AssetKey
    ref: TableRef
    partitions_def: dg.PartitionsDefinition | None = None
    partition_expr: Any = None

    def slices(self, keys: list[str] | None) -> list[Slice] | None:
        return slices_for(self.partitions_def, keys, self.partition_expr, self.key.to_user_string())


def schema_for(path: list[str], metadata: dict, default_schema: str | None) -> str:
    """dagster-duckdb's precedence: metadata `schema`, then the manager's schema, then the key prefix."""
    if metadata.get("schema"):
        return str(metadata["schema"])
    if default_schema:
        return default_schema
    return path[-2] if len(path) > 1 else DEFAULT_SCHEMA


def stored_asset(key: dg.AssetKey, metadata: dict | None, partitions_def, default_schema: str | None) -> StoredAsset:
    metadata = dict(metadata or {})
    ref = TableRef(schema_for(list(key.path), metadata, default_schema), key.path[-1])
    return StoredAsset(key, ref, partitions_def, metadata.get("partition_expr"))


def stored_node(asset_graph, key: dg.AssetKey, default_schema: str | None) -> StoredAsset:
    node = asset_graph.get(key)
    return stored_asset(key, node.metadata, node.partitions_def, default_schema)


def asset_fingerprints(store, asset_graph, key: dg.AssetKey, keys: list[str] | None, *, run_config: dict,
                       declared: DeclaredInputs | None = None, default_schema: str | None = None,
                       instance=None) -> list[Fingerprint]:
    """One fingerprint per partition key (one for an unpartitioned asset, `keys` None).

    Parts: the asset and partition, code version, run config, the declared parts, the content hashes
    of exactly the upstream slices Dagster's partition mapping gives each partition, and the lineage
    inherited from those slices.
    """
    declared = declared or DeclaredInputs()
    node = asset_graph.get(key)
    target = stored_asset(key, node.metadata, node.partitions_def, default_schema)
    parents = sorted(node.parent_keys, key=lambda k: k.to_user_string())
    refs = {p: stored_node(asset_graph, p, default_schema).ref for p in parents}
    by_table = store.checkpoints_of_tables(list(refs.values()))
    stored = {p: {c.partition_key: c for c in by_table[(ref.schema, ref.table)]} for p, ref in refs.items()}
    fingerprints = []
    for partition in keys if keys is not None else [None]:
        parts: dict[str, object] = {"asset": [target.ref.schema, target.ref.table, partition],
                                    "code_version": node.code_version, "run_config": run_config}
        parts |= declared.parts
        inherited = {}
        for parent in parents:
            mapped = upstream_partition_keys(asset_graph, key, parent, None if partition is None else [partition],
                                             instance)
            content, lineage = _upstream_state(stored[parent], mapped, instance, parent)
            parts[f"upstream:{parent.to_user_string()}"] = content
            if lineage:
                inherited[parent.to_user_string()] = lineage
        if declared.lineage:
            parts["lineage:own"] = declared.lineage
        if inherited:
            parts["lineage:upstream"] = inherited
        fingerprints.append(make_fingerprint(parts))
    return fingerprints


def _upstream_state(checkpoints: dict, mapped: list[str] | None, instance, parent: dg.AssetKey):
    """(content part, inherited lineage hashes) of the upstream slices a partition reads."""
    if mapped == []:
        return {}, None  # the mapping reads no partition (a self-dependent asset's first one)
    if not checkpoints:
        # Not stored here (another I/O manager, an external asset): its latest recorded event stands in.
        return {"external": _latest_event_id(instance, parent)}, None
    wanted = [None] if mapped is None else mapped
    content = {str(k): (checkpoints[k].content_hash if k in checkpoints else "missing") for k in wanted}
    lineage = sorted({_lineage_of(checkpoints[k]) for k in wanted if k in checkpoints} - {None})
    return (content[str(None)] if mapped is None else content), (canonical_hash(lineage) if lineage else None)


def _lineage_of(checkpoint) -> str | None:
    """What a slice passes downstream: its own lineage and what it inherited, as one hash."""
    parts = checkpoint.fingerprint_parts
    own, upstream = parts.get("lineage:own"), parts.get("lineage:upstream")
    return canonical_hash([own, upstream]) if own or upstream else None


def _latest_event_id(instance, key: dg.AssetKey) -> int | None:
    if instance is None:
        return None
    for fetch in (instance.fetch_materializations, instance.fetch_observations):
        records = fetch(key, limit=1).records
        if records:
            return records[0].storage_id
    return None
