"""ProvenanceTracker: what produced a table or file, recorded in _provenance and in sidecars."""

import json
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path

SIDECAR_SUFFIX = ".provenance.json"
TRACKED_LIBRARIES = ("dagster", "duckdb", "polars", "pyarrow")


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str | None]:
    versions = {}
    for name in TRACKED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def sidecar_path(path: Path | str) -> Path:
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def write_sidecar(path: Path | str, record: dict) -> Path:
    """Write `record` (plus the file's name) to `<path>.provenance.json` atomically; return the sidecar path."""
    target = sidecar_path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(record | {"file": Path(path).name}, indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(target)
    return target


class ProvenanceTracker:
    """Collects pipeline name and version, source releases, config hash, steps, run and library versions."""

    def __init__(self, *, config_hash: str | None = None, source_releases: dict | None = None,
                 run_id: str | None = None, asset_key: str | None = None,
                 code_version: str | None = None, pipeline: str | None = None,
                 pipeline_version: str | None = None):
        self.pipeline = pipeline
        self.pipeline_version = pipeline_version
        self.config_hash = config_hash
        self.source_releases = dict(source_releases or {})
        self.run_id = run_id
        self.asset_key = asset_key
        self.code_version = code_version
        self.fingerprint: str | None = None
        self.steps: list[dict] = []
        self.libraries = dict(library_versions())

    def step(self, name: str, **details) -> dict:
        """Record a processing step with a UTC timestamp and JSON-able details."""
        entry = {"step": name, "at": utc_now(), "details": details}
        self.steps.append(entry)
        return entry

    def to_dict(self) -> dict:
        return {
            "pipeline": self.pipeline,
            "pipeline_version": self.pipeline_version,
            "run_id": self.run_id,
            "asset_key": self.asset_key,
            "code_version": self.code_version,
            "fingerprint": self.fingerprint,
            "config_hash": self.config_hash,
            "source_releases": self.source_releases,
            "steps": self.steps,
            "library_versions": self.libraries,
            "recorded_at": utc_now(),
        }

    def save_sidecar(self, path: Path | str, **extra) -> Path:
        """Write `<path>.provenance.json` beside an exported file and return its path."""
        return write_sidecar(path, self.to_dict() | extra)

    @staticmethod
    def load_sidecar(path: Path | str) -> dict:
        """Read the sidecar of `path` (or the sidecar file itself)."""
        path = Path(path)
        target = path if path.name.endswith(SIDECAR_SUFFIX) else sidecar_path(path)
        return json.loads(target.read_text())

    def save_to_store(self, store, table_name: str, *, schema: str = "main",
                      partition_key: str | None = None) -> None:
        """Append this record to the store's _provenance table for an existing table."""
        store.record_provenance(table_name, self.to_dict(), schema=schema, partition_key=partition_key)
