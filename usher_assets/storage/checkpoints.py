"""The bookkeeping tables, declared once as data, and the Checkpoint record."""

import json
from dataclasses import dataclass, field
from datetime import datetime

# Columns only ever go at the end; existing ones are never reordered.
CHECKPOINTS_DDL = """
CREATE TABLE IF NOT EXISTS main._checkpoints (
    schema_name VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    partition_key VARCHAR NOT NULL,      -- '' for an unpartitioned table
    created_at TIMESTAMPTZ NOT NULL,
    row_count BIGINT NOT NULL,
    description VARCHAR,
    fingerprint VARCHAR,
    fingerprint_parts VARCHAR,           -- JSON: part name -> hash
    content_hash VARCHAR NOT NULL,
    columns VARCHAR NOT NULL,            -- JSON: [[name, type], ...]
    run_id VARCHAR,
    slice_where VARCHAR                  -- SQL predicate selecting the slice's rows; NULL for a whole table
)
"""
# A file written before slices were selected by predicate gains the column (new columns go at the end).
CHECKPOINTS_MIGRATION = "ALTER TABLE main._checkpoints ADD COLUMN IF NOT EXISTS slice_where VARCHAR"

PROVENANCE_DDL = """
CREATE TABLE IF NOT EXISTS main._provenance (
    schema_name VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    partition_key VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    run_id VARCHAR,
    asset_key VARCHAR,
    fingerprint VARCHAR,
    code_version VARCHAR,
    config_hash VARCHAR,
    pipeline_version VARCHAR,
    source_releases VARCHAR,             -- JSON
    steps VARCHAR,                       -- JSON list of {step, at, details}
    library_versions VARCHAR,            -- JSON
    row_count BIGINT,
    content_hash VARCHAR,
    record VARCHAR                       -- the whole provenance record as JSON
)
"""

FILE_HASHES_DDL = """
CREATE TABLE IF NOT EXISTS main._file_hashes (
    path VARCHAR NOT NULL,
    size BIGINT NOT NULL,
    mtime_ns BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL
)
"""

# Asset check outcomes by table content: a reused table's checks need not scan it again.
CHECK_RESULTS_DDL = """
CREATE TABLE IF NOT EXISTS main._check_results (
    schema_name VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    check_name VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    passed BOOLEAN NOT NULL,
    finding VARCHAR,
    metadata VARCHAR                     -- JSON
)
"""

BOOKKEEPING_DDL = (CHECKPOINTS_DDL, CHECKPOINTS_MIGRATION, PROVENANCE_DDL, FILE_HASHES_DDL, CHECK_RESULTS_DDL)

CHECKPOINT_COLUMNS = (
    "schema_name", "table_name", "partition_key", "created_at", "row_count", "description",
    "fingerprint", "fingerprint_parts", "content_hash", "columns", "run_id", "slice_where",
)

PROVENANCE_COLUMNS = (
    "schema_name", "table_name", "partition_key", "created_at", "run_id", "asset_key", "fingerprint",
    "code_version", "config_hash", "pipeline_version", "source_releases", "steps", "library_versions",
    "row_count", "content_hash", "record",
)


@dataclass(frozen=True)
class Checkpoint:
    """One stored table or partition slice, as the store vouches for it."""

    schema_name: str
    table_name: str
    partition_key: str | None
    created_at: datetime
    row_count: int
    description: str | None
    fingerprint: str | None
    content_hash: str
    columns: list[tuple[str, str]]
    fingerprint_parts: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
    slice_where: str | None = None

    @classmethod
    def from_row(cls, row: tuple) -> "Checkpoint":
        values = dict(zip(CHECKPOINT_COLUMNS, row))
        return cls(
            schema_name=values["schema_name"],
            table_name=values["table_name"],
            partition_key=values["partition_key"] or None,
            created_at=values["created_at"],
            row_count=values["row_count"],
            description=values["description"],
            fingerprint=values["fingerprint"],
            fingerprint_parts=json.loads(values["fingerprint_parts"] or "{}"),
            content_hash=values["content_hash"],
            columns=[tuple(c) for c in json.loads(values["columns"])],
            run_id=values["run_id"],
            slice_where=values.get("slice_where"),
        )

    def as_dict(self) -> dict:
        return {
            "schema_name": self.schema_name,
            "table_name": self.table_name,
            "partition_key": self.partition_key,
            "created_at": self.created_at.isoformat(),
            "row_count": self.row_count,
            "description": self.description,
            "fingerprint": self.fingerprint,
            "fingerprint_parts": self.fingerprint_parts,
            "content_hash": self.content_hash,
            "columns": [list(c) for c in self.columns],
            "run_id": self.run_id,
            "slice_where": self.slice_where,
        }
