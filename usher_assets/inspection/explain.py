"""Would each asset's next materialization reuse its checkpoint, and if not, which part of its fingerprint changed.

Reuses the run's own fingerprint code (asset_fingerprints over the definitions' asset graph, the declared
inputs, decide) with each asset's default run config, so the answer matches what a run would decide; it
never downloads (an unfetched URL is reported).
"""

from dataclasses import dataclass, field

import dagster as dg

from usher_assets.config import PipelineConfig
from usher_assets.inspection.registry import RegisteredAsset, offline_resources, registered_assets
from usher_assets.progress import silence_duckdb_bar
from usher_assets.storage.checkpoints import Checkpoint
from usher_assets.storage.dependencies import DeclaredInputs, asset_fingerprints, stored_node
from usher_assets.storage.fingerprint import Fingerprint, changed_parts, decide, describe_part
from usher_assets.storage.store import PipelineStore

REUSE, RECOMPUTE, CONDITIONAL = "reuse", "recompute", "conditional"


@dataclass(frozen=True)
class SliceStatus:
    partition_key: str | None
    status: str  # REUSE or RECOMPUTE
    reasons: tuple[str, ...] = ()


@dataclass
class AssetStatus:
    asset: str
    table: str  # schema.table
    partitioned: bool
    slices: list[SliceStatus]
    upstream_recomputing: list[str] = field(default_factory=list)

    @property
    def recomputes(self) -> bool:
        return any(s.status == RECOMPUTE for s in self.slices)

    @property
    def status(self) -> str:
        if self.recomputes:
            return RECOMPUTE
        return CONDITIONAL if any(s.status == CONDITIONAL for s in self.slices) else REUSE

    def as_dict(self) -> dict:
        return {"asset": self.asset, "table": self.table, "partitioned": self.partitioned,
                "status": self.status,
                "upstream_recomputing": self.upstream_recomputing,
                "slices": [{"partition_key": s.partition_key, "status": s.status, "reasons": list(s.reasons)}
                           for s in self.slices]}


def part_change(part: str, provenance: dict, pipeline: PipelineConfig, asset: RegisteredAsset,
                declared: DeclaredInputs, checkpoints_missing: dict[str, list[str]],
                ancestor_sources: set[str] = frozenset()) -> str | None:
    """One changed fingerprint part in words, with the old and new value where the provenance has it.

    None for a part another one already explains (its own sources' releases, said by their source part).
    """
    kind, _, name = part.partition(":")
    if kind == "code_version":
        return f"code version {provenance.get('code_version')!r} -> {asset.assets_def.code_versions_by_key[asset.key]!r}"
    if kind == "config":
        return f"its config section {name!r}"
    if kind == "run_config":
        return f"its run config (now {asset.run_config})"
    if kind == "source":
        value = declared.parts.get(part)
        if isinstance(value, dict) and "unavailable" in value:
            return f"source file {name}: {value['unavailable']}"
        source = pipeline.sources.get(name)
        old = (provenance.get("source_releases") or {}).get(name)
        if source is None:
            return f"source {name}: no longer configured"
        if old != source.release:
            return f"source file {name}: release {old!r} -> {source.release!r}"
        return f"source file {name}: sha256 changed (now {value['sha256'][:12]}), release unchanged"
    if kind == "lineage":
        if name == "own":
            return None
        old_releases = provenance.get("source_releases") or {}
        changed = [f"{key} {old_releases.get(key)!r} -> {pipeline.sources[key].release!r}"
                   for key in sorted(ancestor_sources) if pipeline.sources.get(key) and key in old_releases
                   and old_releases.get(key) != pipeline.sources[key].release]
        return "release of a source upstream: " + (", ".join(changed) or "changed")
    if kind == "upstream":
        short = name.split("/")[-1]
        lacking = checkpoints_missing.get(short)
        if lacking == ["(table)"]:
            return f"upstream asset {short}: no checkpoint yet"
        if lacking:
            return f"upstream asset {short}: slices {', '.join(lacking)} have no checkpoint yet"
        return f"upstream asset {short}: its content changed since"
    return describe_part(part)


def asset_status(store: PipelineStore, defs: dg.Definitions, asset: RegisteredAsset, resources,
                 pipeline: PipelineConfig, recomputing: set[str]) -> AssetStatus:
    graph = defs.resolve_asset_graph()
    manager = resources.io_manager
    declared = asset.spec.declared_inputs(resources) if asset.spec.declared_inputs else DeclaredInputs()
    partitions_def = asset.assets_def.partitions_def
    keys = list(partitions_def.get_partition_keys()) if partitions_def else None
    fingerprints = asset_fingerprints(store, graph, asset.key, keys, run_config=asset.run_config, declared=declared,
                                      default_schema=manager.schema_)
    target = stored_node(graph, asset.key, manager.schema_)
    refs = [target.ref.slice(k) for k in (keys or [None])]
    found = store.get_checkpoints(refs)
    checkpoints = [found[r] for r in refs]
    verdicts = decide(store, checkpoints, fingerprints, forced=False)  # one scan of the table for all slices
    absent_files = [str(p) for p in declared.required_files if not p.exists()]
    missing = {u: _missing_slices(store, graph, u, manager) for u in asset.upstream}
    ancestors = _ancestor_sources(graph, asset.key)
    slices = []
    for key, checkpoint, fingerprint, verdict in zip(keys or [None], checkpoints, fingerprints, verdicts):
        status, reasons = _slice_verdict(store, target.ref, asset, checkpoint, fingerprint, verdict, pipeline,
                                         declared, missing, recomputing, ancestors)
        if not reasons and absent_files:
            status, reasons = RECOMPUTE, (f"exported files missing: {', '.join(absent_files)}",)
        slices.append(SliceStatus(key, status, reasons))
    return AssetStatus(asset.name, target.ref.label, keys is not None, slices)


def _ancestor_sources(graph, key: dg.AssetKey) -> set[str]:
    """Source keys read by any asset upstream of `key` (their metadata `sources_read`)."""
    found, stack, seen = set(), list(graph.get(key).parent_keys), set()
    while stack:
        parent = stack.pop()
        if parent in seen:
            continue
        seen.add(parent)
        found |= set(graph.get(parent).metadata.get("sources_read") or [])
        stack.extend(graph.get(parent).parent_keys)
    return found


def _missing_slices(store, graph, name: str, manager) -> list[str]:
    target = stored_node(graph, dg.AssetKey(name), manager.schema_)
    have = {c.partition_key for c in store.list_checkpoints(schema=target.ref.schema, table_name=target.ref.table)}
    partitions_def = graph.get(dg.AssetKey(name)).partitions_def
    if partitions_def is None:
        return [] if None in have else ["(table)"]
    return [k for k in partitions_def.get_partition_keys() if k not in have]


def _slice_verdict(store, ref, asset: RegisteredAsset, checkpoint: Checkpoint | None, fingerprint: Fingerprint,
                   verdict: str | None, pipeline, declared, missing, recomputing: set[str],
                   ancestors: set[str] = frozenset()) -> tuple[str, tuple]:
    """The run's verdict for one slice, each changed part spelled out; CONDITIONAL when only recomputing
    upstreams changed it (a recompute that yields the same content leaves this slice reused)."""
    if verdict is None:
        return REUSE, ()
    if checkpoint is None:
        unavailable = [f"source file {p.split(':', 1)[1]}: {v['unavailable']}" for p, v in declared.parts.items()
                       if isinstance(v, dict) and "unavailable" in v]
        return RECOMPUTE, ("no checkpoint yet", *unavailable)
    parts = changed_parts(checkpoint.fingerprint_parts, fingerprint.parts)
    if not verdict.startswith("changed") or not parts:
        return RECOMPUTE, (verdict,)
    provenance = store.latest_provenance(ref.table, schema=ref.schema, partition_key=checkpoint.partition_key) or {}
    said = (part_change(p, provenance, pipeline, asset, declared, missing, ancestors) for p in parts)
    reasons = tuple(r for r in said if r is not None) or ("release of its own source",)
    # Inherited lineage comes from upstream checkpoints, so it moves with them.
    upstream_only = bool(recomputing) and all(
        p == "lineage:upstream" or (p.startswith("upstream:") and p.split(":", 1)[1].split("/")[-1] in recomputing)
        for p in parts)
    if upstream_only:
        return CONDITIONAL, tuple(f"{r} (only if its recompute changes its content)" for r in reasons)
    return RECOMPUTE, reasons


def explain_assets(store: PipelineStore | None, pipeline: PipelineConfig, defs: dg.Definitions,
                   selected: list[str] | None = None) -> list[AssetStatus]:
    """The status of each selected asset (default: all), in dependency order.

    Upstream assets are evaluated too, so an asset that is up to date now but whose upstream will
    recompute says so. `store` None means no database yet: nothing has a checkpoint.
    """
    assets = registered_assets(defs)
    chosen = list(assets) if not selected else selected
    needed = _with_ancestors(chosen, assets)
    resources = offline_resources(defs)
    statuses: dict[str, AssetStatus] = {}
    for name, asset in assets.items():
        if name not in needed:
            continue
        keys = list(asset.assets_def.partitions_def.get_partition_keys()) if asset.partitioned else [None]
        if store is None:
            status = AssetStatus(name, name, asset.partitioned,
                                 [SliceStatus(k, RECOMPUTE, ("no checkpoint yet",)) for k in keys])
        else:
            maybe = {u for u in asset.upstream if statuses[u].status != REUSE}
            status = _guarded_status(store, defs, asset, resources, pipeline, maybe, keys)
        status.upstream_recomputing = [u for u in asset.upstream if statuses[u].status != REUSE]
        statuses[name] = status
    return [statuses[name] for name in assets if name in chosen]


def _guarded_status(store, defs, asset: RegisteredAsset, resources, pipeline, recomputing, keys) -> AssetStatus:
    """asset_status, or the reason a run could not even fingerprint the asset (it would stop there too)."""
    try:
        with store.session(), store.connect() as con:
            silence_duckdb_bar(con)  # explain --json must print JSON only
            return asset_status(store, defs, asset, resources, pipeline, recomputing)
    except (ValueError, OSError) as exc:
        return AssetStatus(asset.name, asset.name, asset.partitioned,
                           [SliceStatus(k, RECOMPUTE, (f"a run would stop: {exc}",)) for k in keys])


def _with_ancestors(names: list[str], assets: dict[str, RegisteredAsset]) -> set[str]:
    seen, stack = set(), list(names)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(assets[name].upstream)
    return seen
