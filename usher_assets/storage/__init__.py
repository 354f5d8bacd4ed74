"""Storage: a DuckDB store with checkpoints and provenance, and a thin Dagster I/O manager on top."""

from usher_assets.storage.checkpoints import Checkpoint
from usher_assets.storage.provenance import ProvenanceTracker
from usher_assets.storage.sql import TableRef
from usher_assets.storage.store import PipelineStore, StoreError, StoreLockedError

__all__ = ["Checkpoint", "PipelineStore", "ProvenanceTracker", "StoreError", "StoreLockedError", "TableRef"]
