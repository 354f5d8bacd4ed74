"""What a checkpointed asset's fingerprint is made of, and the reuse decision, read cheaply from the store."""

from dataclasses import dataclass, field
from pathlib import Path

from usher_assets.config import PipelineConfig
from usher_assets.schemas import CHROMOSOMES
from usher_assets.sources.download import fetch
from usher_assets.storage.checkpoints import Checkpoint
from usher_assets.storage.fingerprint import Fingerprint, changed_parts, describe_part, make_fingerprint
from usher_assets.storage.store import PipelineStore


class MissingInputError(RuntimeError):
    """An upstream table, or some of its partitions, has not been materialized."""


def resolve_source(pipeline: PipelineConfig, key: str) -> Path | None:
    """The local file of a configured source, downloading it once into the cache if it has a URL."""
    source = pipeline.sources.get(key)
    if source is None:
        return None
    if source.url is not None:
        return fetch(source.url, pipeline.path(pipeline.storage.download_dir) / key, sha256=source.sha256)
    path = source.resolved_path(pipeline.root)
    if not path.is_file():
        raise FileNotFoundError(f"source {key!r}: file {path} does not exist (configured path {source.path}); "
                                "restore it, or point sources.{key}.path at the file")
    return path


def checked_sha256(store: PipelineStore, key: str, config, path: Path) -> str:
    """The file's SHA-256, checked against the configured one when the config gives it."""
    digest = store.file_sha256(path)
    if config.sha256 and digest != config.sha256:
        raise SourceChecksumError(
            f"source {key!r}: {path} has sha256 {digest}, but the config expects {config.sha256}. "
            f"If the file was replaced on purpose, update sources.{key}.sha256 (and its release) or remove it")
    return digest


def upstream_sources(spec, specs: dict) -> set[str]:
    """Source keys read by the asset's upstream assets, transitively (not its own)."""
    found: set[str] = set()
    for name in spec.upstream:
        found |= set(specs[name].sources) | upstream_sources(specs[name], specs)
    return found


class SourceChecksumError(ValueError):
    """A local source file does not match the sha256 its config gives."""


@dataclass
class FingerprintInputs:
    """Everything besides the partition key that goes into a fingerprint, gathered once per step."""

    run_config: dict
    config_sections: dict[str, str]
    sources: dict[str, object]
    source_paths: dict[str, Path | None]
    upstream: dict[str, object]
    lineage: dict[str, str | None] = field(default_factory=dict)
    incomplete: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def gather(cls, store: PipelineStore, pipeline: PipelineConfig, spec, specs: dict,
               run_config: dict) -> "FingerprintInputs":
        paths = {key: resolve_source(pipeline, key) for key in spec.sources}
        sources = {}
        for key, path in paths.items():
            config = pipeline.sources[key]
            sources[key] = "not configured" if path is None else {
                "release": config.release, "sha256": checked_sha256(store, key, config, path)}
        # Releases of every source upstream: a relabelled release reaches the outputs' provenance even
        # when the data are byte-identical (file changes travel as upstream content hashes).
        lineage = {k: pipeline.sources[k].release if pipeline.sources[k] else None
                   for k in sorted(upstream_sources(spec, specs))}
        upstream, incomplete = {}, {}
        for name in spec.upstream:
            up = specs[name]
            checkpoints = store.list_checkpoints(schema=up.group, table_name=name)
            if up.partitioned:
                upstream[name] = {c.partition_key: c.content_hash for c in checkpoints}
                missing = [k for k in CHROMOSOMES if k not in upstream[name]]
                if missing:
                    incomplete[name] = missing
            else:
                upstream[name] = checkpoints[0].content_hash if checkpoints else "missing"
                if not checkpoints:
                    incomplete[name] = ["(table)"]
        sections = {s: pipeline.section_hash(s) for s in spec.config_sections}
        return cls(run_config, sections, sources, paths, upstream, lineage, incomplete)

    def require_complete(self, name: str) -> None:
        if name in self.incomplete:
            missing = self.incomplete[name]
            what = "has no stored table" if missing == ["(table)"] else f"is missing partitions {missing}"
            raise MissingInputError(f"upstream asset {name!r} {what}; materialize it first "
                                    f"(e.g. dagster asset materialize --select '+{name}')")


def slice_fingerprint(spec, partition_key: str | None, inputs: FingerprintInputs) -> Fingerprint:
    parts: dict[str, object] = {
        "asset": [spec.group, spec.name, partition_key],
        "code_version": spec.code_version,
        "run_config": inputs.run_config,
    }
    parts |= {f"config:{name}": value for name, value in inputs.config_sections.items()}
    parts |= {f"source:{name}": value for name, value in inputs.sources.items()}
    parts |= {f"upstream:{name}": value for name, value in inputs.upstream.items()}
    if inputs.lineage:
        parts["lineage"] = inputs.lineage
    return make_fingerprint(parts)


def decide(store: PipelineStore, checkpoints: list[Checkpoint | None], fingerprints: list[Fingerprint],
           forced: bool) -> list[str | None]:
    """For each slice: None to reuse its checkpoint, otherwise why it must be computed."""
    reasons: list[str | None] = []
    to_verify = []
    for index, (checkpoint, fingerprint) in enumerate(zip(checkpoints, fingerprints)):
        if forced:
            reasons.append("forced")
        elif checkpoint is None:
            reasons.append("no checkpoint")
        elif checkpoint.fingerprint != fingerprint.value:
            changed = changed_parts(checkpoint.fingerprint_parts, fingerprint.parts)
            reasons.append("changed: " + ", ".join(describe_part(p) for p in changed) if changed
                           else "fingerprint changed")
        else:
            reasons.append(None)
            to_verify.append(index)
    # Only matching checkpoints are verified, in one scan per table: a tampered table is never trusted.
    problems = store.verify_checkpoints([checkpoints[i] for i in to_verify])
    for index, problem in zip(to_verify, problems):
        if problem:
            reasons[index] = f"checkpoint not intact: {problem}"
    return reasons
