"""The checkpointing storage integration: a DuckDB store with checkpoints and provenance, a Dagster I/O manager
with dagster-duckdb's conventions, and decorators that skip an asset's body when nothing it depends on changed.

Knows DuckDB and Dagster, nothing of genes; the Usher pipeline is one of its users. Names are imported on
first use, so `usher_assets.storage.store` alone (the CLI) does not import Dagster.
"""

import importlib

_EXPORTS = {
    "FORCE_TAG": "checkpointed", "CheckpointConfig": "checkpointed", "checkpoint_spec": "checkpointed",
    "check_definitions": "asset_checks", "checkpointed_asset": "checkpointed", "checkpointed_multi_asset": "checkpointed",
    "Checkpoint": "checkpoints", "DeclaredInputs": "dependencies", "asset_fingerprints": "dependencies",
    "DuckDBIOManager": "io_manager", "ProvenanceTracker": "provenance", "Slice": "sql", "TableRef": "sql",
    "PipelineStore": "store", "DeltaStore": "delta_store", "open_store": "store", "StoreError": "store", "StoreLockedError": "store", "TableCheck": "table_checks",
    "UnsupportedTypeError": "type_handlers",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'usher_assets.storage' has no attribute {name!r}")
    return getattr(importlib.import_module(f"usher_assets.storage.{_EXPORTS[name]}"), name)
