"""A store writer or reader in its own process that reports what it is doing, one line at a time on stdout.

    save DB TABLE ROWS VERSION PAUSE   save a frame of ROWS rows all carrying VERSION; PAUSE is
                                       none, begin (inside the save's transaction, nothing written yet)
                                       or commit (everything written, not committed). At a pause it
                                       prints "paused <where>" and waits for a line on stdin, so the
                                       test decides what happens next: kill it, or let it commit.
    read DB TABLE                      read the table (waiting for the lock up to 60 s); prints
                                       "refused" the first time DuckDB turns it away because another
                                       process holds the file, then one JSON line of what it read.

The pauses wrap PipelineStore.transaction, so the save itself runs unchanged.
"""

import json
import sys
from contextlib import contextmanager

import duckdb
import numpy as np
import polars as pl

from usher_assets.storage import PipelineStore


def say(line: str) -> None:
    print(line, flush=True)


def frame(rows: int, version: int) -> pl.DataFrame:
    ids = np.arange(rows, dtype=np.int64)
    return pl.DataFrame({"id": ids, "value": ids * 0.5 * version, "version": np.full(rows, version, dtype=np.int64)})


def pause_transactions(where: str) -> None:
    original = PipelineStore.transaction

    @contextmanager
    def paused(self, *args, **kwargs):
        with original(self, *args, **kwargs) as con:
            if where == "begin":
                say("paused begin")
                sys.stdin.readline()
            yield con
            if where == "commit":
                say("paused commit")
                sys.stdin.readline()

    PipelineStore.transaction = paused


def save(db_path: str, table: str, rows: int, version: int, pause: str) -> None:
    data = frame(rows, version)
    if pause != "none":
        pause_transactions(pause)
    say("saving")
    PipelineStore(db_path, lock_timeout=60).save_dataframe(data, table, f"version {version}")
    say("saved")


def read(db_path: str, table: str) -> None:
    real_connect = duckdb.connect
    refused = []

    def connect(*args, **kwargs):
        try:
            return real_connect(*args, **kwargs)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower() and not refused:
                refused.append(True)
                say("refused")
            raise

    duckdb.connect = connect
    store = PipelineStore(db_path, lock_timeout=60)
    loaded = store.load_dataframe(table)
    checkpoint = store.get_checkpoint(table)
    say(json.dumps({"rows": loaded.height, "versions": sorted(set(loaded["version"].to_list())),
                    "checkpoint": checkpoint.description, "checkpoint_rows": checkpoint.row_count}))


if __name__ == "__main__":
    if sys.argv[1] == "save":
        save(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    else:
        read(sys.argv[2], sys.argv[3])
