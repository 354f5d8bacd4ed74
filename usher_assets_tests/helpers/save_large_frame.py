"""Save a large frame into a store, printing "saving" just before the save starts (killed by tests)."""

import sys

import numpy as np
import polars as pl

from usher_assets.storage import PipelineStore


def large_frame(rows: int, version: int) -> pl.DataFrame:
    ids = np.arange(rows, dtype=np.int64)
    return pl.DataFrame({"id": ids, "value": ids * 0.5 * version, "version": np.full(rows, version, dtype=np.int64)})


def main(db_path: str, table: str, rows: int, version: int) -> None:
    frame = large_frame(rows, version)
    print("saving", flush=True)
    PipelineStore(db_path).save_dataframe(frame, table, f"version {version}")
    print("saved", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
