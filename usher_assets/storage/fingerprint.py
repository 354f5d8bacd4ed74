"""Fingerprints: one hash over everything an asset's output depends on, kept with its parts."""

from dataclasses import dataclass

from usher_assets.config import canonical_hash

# Part names are prefixed by kind, so a change can be explained as "its config", "source hgnc", ...
PART_KINDS = {
    "asset": "the asset itself",
    "code_version": "code version",
    "run_config": "its run config",
    "config": "pipeline config section",
    "source": "source file",
    "upstream": "upstream asset",
    "lineage": "release of a source upstream",
}


@dataclass(frozen=True)
class Fingerprint:
    value: str
    parts: dict[str, str]  # part name -> hash of that part


def make_fingerprint(parts: dict[str, object]) -> Fingerprint:
    """Hash each part, then hash the sorted part hashes."""
    hashed = {name: canonical_hash(value) for name, value in parts.items()}
    return Fingerprint(canonical_hash(hashed), hashed)


def changed_parts(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Part names whose hash differs, appeared, or disappeared."""
    return sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name))


def describe_part(name: str) -> str:
    kind, _, detail = name.partition(":")
    label = PART_KINDS.get(kind, kind)
    return f"{label} {detail}".strip()
