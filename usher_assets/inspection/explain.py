"""Would each asset's next materialization reuse its checkpoint, and if not, which part of its fingerprint changed.

Reuses the decorator's own fingerprint code (gather, slice_fingerprint, decide) with each asset's default run
config, so the answer matches what a run would decide; it never downloads (an unfetched URL is reported).
"""

from dataclasses import dataclass, field, replace
from pathlib import Path

from usher_assets.assets.fingerprints import FingerprintInputs, decide, slice_fingerprint
from usher_assets.config import PipelineConfig
from usher_assets.progress import silence_duckdb_bar
from usher_assets.schemas import CHROMOSOMES
from usher_assets.sources.download import RECORD_SUFFIX, cache_path_for
from usher_assets.storage.checkpoints import Checkpoint
from usher_assets.storage.fingerprint import Fingerprint, changed_parts, describe_part
from usher_assets.storage.store import PipelineStore

REUSE, RECOMPUTE = "reuse", "recompute"


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

    def as_dict(self) -> dict:
        return {"asset": self.asset, "table": self.table, "partitioned": self.partitioned,
                "status": RECOMPUTE if self.recomputes else REUSE,
                "upstream_recomputing": self.upstream_recomputing,
                "slices": [{"partition_key": s.partition_key, "status": s.status, "reasons": list(s.reasons)}
                           for s in self.slices]}


def unavailable_sources(store: PipelineStore, pipeline: PipelineConfig, keys: tuple[str, ...]) -> dict[str, str]:
    """Sources a run would have to download (or cannot find), each with why; nothing is fetched here."""
    missing = {}
    for key in keys:
        source = pipeline.sources.get(key)
        if source is None:
            continue
        if source.url is not None:
            cached = cache_path_for(source.url, pipeline.path(pipeline.storage.download_dir) / key)
            if not cached.is_file():
                missing[key] = f"not downloaded yet ({source.url})"
            elif _cached_sha256(source.sha256, cached) != store.file_sha256(cached):
                missing[key] = f"cached copy {cached} does not verify; the next run downloads it again"
            continue
        path = source.resolved_path(pipeline.root)
        if not path.is_file():
            missing[key] = f"file missing: {path}"
        elif source.sha256 and (digest := store.file_sha256(path)) != source.sha256:
            missing[key] = (f"sha256 {digest[:12]} differs from the configured {source.sha256[:12]}: the file was "
                            f"replaced; if on purpose, update sources.{key}.sha256 and its release")
    return missing


def _cached_sha256(configured: str | None, cached: Path) -> str | None:
    # Same rule as the downloader: the configured sha256, else the record written beside the download.
    if configured:
        return configured
    try:
        words = cached.with_name(cached.name + RECORD_SUFFIX).read_text().split()
    except OSError:
        return None
    return words[0].lower() if words else None


def gather_inputs(store: PipelineStore, pipeline: PipelineConfig, spec, specs: dict,
                  run_config: dict) -> tuple[FingerprintInputs, dict[str, str]]:
    """FingerprintInputs.gather over the sources that are on disk; the others get a marker part."""
    missing = unavailable_sources(store, pipeline, spec.sources)
    local = replace(spec, sources=tuple(k for k in spec.sources if k not in missing))
    inputs = FingerprintInputs.gather(store, pipeline, local, specs, run_config)
    for key, why in missing.items():
        inputs.sources[key] = {"unavailable": why}
        inputs.source_paths[key] = None
    return inputs, missing


def part_change(part: str, provenance: dict, pipeline: PipelineConfig, spec, inputs: FingerprintInputs,
                missing: dict[str, str]) -> str:
    """One changed fingerprint part in words, with the old and new value where the provenance has it."""
    kind, _, name = part.partition(":")
    if kind == "code_version":
        return f"code version {provenance.get('code_version')!r} -> {spec.code_version!r}"
    if kind == "config":
        return f"its config section {name!r}"
    if kind == "run_config":
        return f"its run config (now {inputs.run_config})"
    if kind == "source":
        if name in missing:
            return f"source file {name}: {missing[name]}"
        source = pipeline.sources.get(name)
        old = (provenance.get("source_releases") or {}).get(name)
        if source is None:
            return f"source {name}: no longer configured"
        if old != source.release:
            return f"source file {name}: release {old!r} -> {source.release!r}"
        return f"source file {name}: sha256 changed (now {inputs.sources[name]['sha256'][:12]}), release unchanged"
    if kind == "lineage":
        old_releases = provenance.get("source_releases") or {}
        changed = [f"{key} {old_releases.get(key)!r} -> {release!r}"
                   for key, release in getattr(inputs, "lineage", {}).items() if old_releases.get(key) != release]
        return "release of a source upstream: " + (", ".join(changed) or "changed")
    if kind == "upstream":
        lacking = inputs.incomplete.get(name)
        if lacking == ["(table)"]:
            return f"upstream asset {name}: no checkpoint yet"
        if lacking:
            return f"upstream asset {name}: slices {', '.join(lacking)} have no checkpoint yet"
        return f"upstream asset {name}: its content changed since"
    return describe_part(part)


def slice_reasons(store: PipelineStore, spec, checkpoint: Checkpoint | None, fingerprint: Fingerprint,
                  verdict: str | None, pipeline: PipelineConfig, inputs: FingerprintInputs,
                  missing: dict[str, str]) -> tuple[str, ...]:
    """The decorator's verdict for one slice, with each changed fingerprint part spelled out."""
    if verdict is None:
        return ()
    if checkpoint is None:
        return ("no checkpoint yet", *(f"source file {key}: {why}" for key, why in missing.items()))
    parts = changed_parts(checkpoint.fingerprint_parts, fingerprint.parts)
    if not verdict.startswith("changed") or not parts:
        return (verdict,)
    provenance = store.latest_provenance(spec.name, schema=spec.group, partition_key=checkpoint.partition_key) or {}
    return tuple(part_change(p, provenance, pipeline, spec, inputs, missing) for p in parts)


def asset_status(store: PipelineStore, pipeline: PipelineConfig, spec, specs: dict, run_config: dict) -> AssetStatus:
    inputs, missing = gather_inputs(store, pipeline, spec, specs, run_config)
    keys = list(CHROMOSOMES) if spec.partitioned else [None]
    existing = store.get_checkpoints([spec.ref.slice(k) for k in keys])
    checkpoints = [existing[spec.ref.slice(k)] for k in keys]
    fingerprints = [slice_fingerprint(spec, k, inputs) for k in keys]
    verdicts = decide(store, checkpoints, fingerprints, forced=False)  # one scan of the table for all slices
    absent_files = [str(p) for p in (spec.outputs(pipeline) if spec.outputs else []) if not p.exists()]
    slices = []
    for key, checkpoint, fingerprint, verdict in zip(keys, checkpoints, fingerprints, verdicts):
        reasons = slice_reasons(store, spec, checkpoint, fingerprint, verdict, pipeline, inputs, missing)
        if not reasons and absent_files:
            reasons = (f"exported files missing: {', '.join(absent_files)}",)
        slices.append(SliceStatus(key, RECOMPUTE if reasons else REUSE, reasons))
    return AssetStatus(spec.name, spec.ref.label, spec.partitioned, slices)


def explain_assets(store: PipelineStore | None, pipeline: PipelineConfig, specs: dict, run_configs: dict[str, dict],
                   selected: list[str] | None = None) -> list[AssetStatus]:
    """The status of each selected asset (default: all), in dependency order.

    Upstream assets are evaluated too, so an asset that is up to date now but whose upstream will
    recompute says so. `store` None means no database yet: nothing has a checkpoint.
    """
    chosen = list(specs) if not selected else selected
    needed = _with_ancestors(chosen, specs)
    statuses: dict[str, AssetStatus] = {}
    for name, spec in specs.items():  # SPECS is filled upstream-first
        if name not in needed:
            continue
        if store is None:
            keys = list(CHROMOSOMES) if spec.partitioned else [None]
            status = AssetStatus(name, spec.ref.label, spec.partitioned,
                                 [SliceStatus(k, RECOMPUTE, ("no checkpoint yet",)) for k in keys])
        else:
            status = _guarded_status(store, pipeline, spec, specs, run_configs[name])
        status.upstream_recomputing = [u for u in spec.upstream if statuses[u].recomputes]
        statuses[name] = status
    return [statuses[name] for name in specs if name in chosen]


def _guarded_status(store: PipelineStore, pipeline: PipelineConfig, spec, specs: dict,
                    run_config: dict) -> AssetStatus:
    """asset_status, or the reason a run could not even fingerprint the asset (it would stop there too)."""
    try:
        with store.session(), store.connect() as con:
            silence_duckdb_bar(con)  # explain --json must print JSON only
            return asset_status(store, pipeline, spec, specs, run_config)
    except (ValueError, OSError) as exc:
        keys = list(CHROMOSOMES) if spec.partitioned else [None]
        return AssetStatus(spec.name, spec.ref.label, spec.partitioned,
                           [SliceStatus(k, RECOMPUTE, (f"a run would stop: {exc}",)) for k in keys])


def _with_ancestors(names: list[str], specs: dict) -> set[str]:
    seen, stack = set(), list(names)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(specs[name].upstream)
    return seen
