"""Materialize an upstream asset and a slow one on the DuckDB I/O manager; the slow body waits for the test.

Usage: slow_body_run.py DB EVENTS_DIR plain|checkpointed. The body appends "body started" to EVENTS_DIR/log,
waits (60 s at most) for EVENTS_DIR/release, then appends "body ended". Prints "success" or "failure".
"""

import sys
import time
from pathlib import Path

import dagster as dg
import polars as pl

from usher_assets.storage import DuckDBIOManager, checkpointed_asset


def log(events: Path, line: str) -> None:
    with open(events / "log", "a") as handle:
        handle.write(line + "\n")


def main(db_path: str, events_dir: str, kind: str) -> None:
    events = Path(events_dir)
    decorate = dg.asset if kind == "plain" else checkpointed_asset

    @decorate
    def genes() -> pl.DataFrame:
        return pl.DataFrame({"hgnc_id": ["HGNC:12597", "HGNC:12601"]})

    @decorate
    def slow(genes: pl.DataFrame) -> pl.DataFrame:
        log(events, "body started")
        deadline = time.monotonic() + 60
        while not (events / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        log(events, "body ended")
        return genes.with_columns(scored=pl.lit(True))

    result = dg.materialize([genes, slow], resources={"io_manager": DuckDBIOManager(database=db_path,
                                                                                     lock_timeout=60)},
                            raise_on_error=False)
    print("success" if result.success else "failure", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
