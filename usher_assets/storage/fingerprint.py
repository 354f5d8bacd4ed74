"""Fingerprints: one hash over everything an output depends on, kept with its parts, and the reuse decision.

Plain data: the parts come from the checkpointing decorator (or the I/O manager for a plain asset), the
checkpoints from the store.
"""

import hashlib
import json
from dataclasses import dataclass

from usher_assets.storage.checkpoints import Checkpoint

# Part names are prefixed by kind, so a change can be explained as "its run config", "source hgnc", ...
PART_KINDS = {
    "asset": "the asset itself",
    "code_version": "code version",
    "run_config": "its run config",
    "config": "config section",
    "source": "source file",
    "upstream": "upstream asset",
    "lineage": "lineage",  # lineage:own (e.g. its sources' releases), lineage:upstream (inherited)
}


def canonical_hash(value) -> str:
    """SHA-256 of JSON with sorted keys and no whitespace: formatting never changes it."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


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
    if name == "lineage:upstream":
        return "lineage inherited from upstream (e.g. a source release)"
    kind, _, detail = name.partition(":")
    label = PART_KINDS.get(kind, kind)
    return f"{label} {detail}".strip()


def decide(store, checkpoints: list[Checkpoint | None], fingerprints: list[Fingerprint],
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
    problems = store.verify_checkpoints([checkpoints[i] for i in to_verify]) if to_verify else []
    for index, problem in zip(to_verify, problems):
        if problem:
            reasons[index] = f"checkpoint not intact: {problem}"
    return reasons
