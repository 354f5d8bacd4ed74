"""A writer process for the Delta concurrency and kill tests: `python delta_writer.py ROOT NAME ROUNDS ROWS`.

Each round saves this writer's own table whole and its own slice (NAME) of the shared partitioned table, with
content that says which round wrote it; it prints `round N` after both commits, so a killer knows how far it got.
"""

import sys

import numpy as np
import polars as pl

from usher_assets.storage.delta_store import DeltaStore
from usher_assets.storage.sql import Slice, TableRef, literal


def frame(name: str, round_: int, rows: int) -> pl.DataFrame:
    values = np.random.default_rng([round_, sum(map(ord, name))]).random(rows)
    return pl.DataFrame({"writer": [name] * rows, "round": [round_] * rows, "i": np.arange(rows), "value": values})


def main(root: str, name: str, rounds: int, rows: int) -> None:
    store = DeltaStore(root)
    shared = TableRef("main", "shared")
    for round_ in range(rounds):
        data = frame(name, round_, rows)
        store.save(data, TableRef("main", f"own_{name}"), None, {None: (f"{name}-{round_}", {})})
        store.save(data, shared, [Slice(name, f"writer = {literal(name)}")], {name: (f"{name}-{round_}", {})})
        print(f"round {round_}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
