"""Read or write a store in a loop, starting when a go-file appears; prints one JSON summary line."""

import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from usher_assets.storage import PipelineStore


def main(mode: str, db_path: str, go_file: str, rounds: int, rows: int) -> None:
    store = PipelineStore(db_path, lock_timeout=60)
    while not Path(go_file).exists():
        time.sleep(0.005)
    started = time.time()
    seen = []
    if mode == "write":
        for n in range(rounds):
            frame = pl.DataFrame({"id": np.arange(rows), "round": np.full(rows, n)})
            store.save_dataframe(frame, "shared", f"round {n}")
    else:
        # Read until the writer's last round shows up (bounded): the reader may win the lock often.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (not seen or seen[-1] < rounds - 1):
            frame = store.load_dataframe("shared")
            checkpoint = store.get_checkpoint("shared")
            if frame is not None:
                # A reader never sees a half-written table: one round, all rows.
                assert frame["round"].n_unique() == 1 and frame.height == rows, frame.describe()
                assert checkpoint is not None and checkpoint.row_count == rows
                seen.append(int(frame["round"][0]))
            time.sleep(0.01)
    print(json.dumps({"mode": mode, "started": started, "ended": time.time(), "seen": seen}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
