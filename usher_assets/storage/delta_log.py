"""A table's checkpoints and provenance as the Delta log records them: one JSON entry in each commit's metadata.

A commit says what it changed (checkpoints set, checkpoints dropped, everything replaced), never the whole
state: delta-rs rebases a commit over ones that landed first, so a state computed before them would undo
them. Folding every commit oldest first gives the state. Plain data; knows neither Delta nor DuckDB.
"""

import json
from dataclasses import asdict, dataclass, field

from usher_assets.storage.fingerprint import canonical_hash

METADATA_KEY = "usher"
FORMAT = 1


@dataclass
class Change:
    """What one commit did to a table's bookkeeping."""

    columns: list[tuple[str, str]]  # the table's DuckDB columns after the commit (store-internal ones excluded)
    checkpoints: list[dict] = field(default_factory=list)  # rows of main._checkpoints, by column name
    provenance: list[dict] = field(default_factory=list)  # rows of main._provenance
    dropped: list[str] = field(default_factory=list)  # partition keys ('' for the whole table) whose checkpoint went
    replaced: bool = False  # every earlier checkpoint is gone (the table was written whole, or dropped)

    def encode(self) -> dict[str, str]:
        body = {"format": FORMAT, "columns": self.columns, "checkpoints": self.checkpoints,
                "provenance": self.provenance, "dropped": self.dropped, "replaced": self.replaced}
        return {METADATA_KEY: json.dumps(body, default=str, sort_keys=True)}

    @classmethod
    def decode(cls, commit_info: dict) -> "Change | None":
        """The change a commit records, or None for a commit not written through the store."""
        text = commit_info.get(METADATA_KEY)
        if not text:
            return None
        body = json.loads(text)
        if body.get("format") != FORMAT:
            raise ValueError(f"commit {commit_info.get('version')}: bookkeeping format {body.get('format')!r}, "
                             f"this store reads format {FORMAT}")
        return cls([tuple(c) for c in body["columns"]], body["checkpoints"], body["provenance"], body["dropped"],
                   body["replaced"])


@dataclass
class TableLog:
    """A table's bookkeeping folded from its commits up to `version`."""

    version: int = -1
    columns: list[tuple[str, str]] = field(default_factory=list)
    checkpoints: dict[str, dict] = field(default_factory=dict)  # partition key ('' whole) -> checkpoint row
    provenance: list[dict] = field(default_factory=list)
    foreign_commits: list[int] = field(default_factory=list)  # versions not written through the store
    last_commit: str = ""  # commit_digest of the commit at `version`: what a saved fold is checked against

    def apply(self, version: int, change: "Change | None") -> None:
        self.version = version
        if change is None:
            self.foreign_commits.append(version)
            return
        if change.replaced:
            self.checkpoints = {}
        for key in change.dropped:
            self.checkpoints.pop(key, None)
        for row in change.checkpoints:
            self.checkpoints[row["partition_key"]] = row
        self.provenance.extend(change.provenance)
        self.columns = [tuple(c) for c in change.columns]

    def encode(self) -> dict:
        """The fold as plain JSON data (the store's saved index entry)."""
        return {"format": FORMAT} | asdict(self)

    @classmethod
    def decode(cls, body: dict) -> "TableLog | None":
        """A fold saved by encode, or None for anything else (another format, a damaged entry)."""
        try:
            fields = dict(body)
            if fields.pop("format") != FORMAT:
                return None
            log = cls(**fields)
            log.columns = [tuple(c) for c in log.columns]
            return log if isinstance(log.version, int) and isinstance(log.checkpoints, dict) else None
        except (AttributeError, KeyError, TypeError):
            return None


def commit_digest(info: dict) -> str:
    """A digest of one Delta history entry (its time, operation and metadata): two different commits at one
    version, as when a table was dropped and written again, give different digests."""
    return canonical_hash(info)


def fold(log: TableLog, commits: list[dict]) -> TableLog:
    """Apply commits (Delta history entries, any order) newer than the log's version, oldest first."""
    for info in sorted(commits, key=lambda c: c["version"]):
        if info["version"] > log.version:
            log.apply(info["version"], Change.decode(info))
            log.last_commit = commit_digest(info)
    return log
