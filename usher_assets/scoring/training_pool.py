"""The cilia model's trainings spread over worker interpreters: `python -m usher_assets.scoring.training_pool`.

Plain subprocesses, not multiprocessing: a worker imports only numpy and scikit-learn (never a copy of a
process whose polars, DuckDB or Dagster threads may hold locks), whatever the caller's main module is, and
from inside a daemonic process too (a Celery prefork worker may not start multiprocessing children).
"""

import os
import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding usher_assets/


def processes_allowed() -> int:
    """USHER_MODEL_PROCESSES if set, else the CPUs this process may run on."""
    wanted = os.environ.get("USHER_MODEL_PROCESSES")
    if wanted:
        try:
            count = int(wanted)
        except ValueError:
            raise ValueError(f"USHER_MODEL_PROCESSES must be a whole number of processes, got {wanted!r}") from None
        if count < 1:
            raise ValueError(f"USHER_MODEL_PROCESSES must be at least 1, got {count}")
        return count
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def map_in_processes(fn: Callable, tasks: list, processes: int) -> list:
    """[fn(task) for task in tasks], the tasks dealt round-robin to `processes` worker interpreters.

    `fn` must be a module-level function (it is sent by name). An exception a task raises is raised here.
    """
    chunks = [list(range(i, len(tasks), processes)) for i in range(min(processes, len(tasks)))]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH"))
                                                        if p))

    def run(indexes: list[int]) -> list:
        payload = pickle.dumps((fn, [tasks[i] for i in indexes]), protocol=pickle.HIGHEST_PROTOCOL)
        done = subprocess.run([sys.executable, "-m", __name__], input=payload, capture_output=True, env=env)
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace")[-3000:]
            raise RuntimeError(f"a cilia-model training process exited with status {done.returncode}:\n{tail}")
        outcome, value = pickle.loads(done.stdout)
        if outcome == "error":
            raise value
        return value

    results: list = [None] * len(tasks)
    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        for indexes, values in zip(chunks, pool.map(run, chunks)):
            for i, value in zip(indexes, values):
                results[i] = value
    return results


def _serve() -> None:
    fn, tasks = pickle.loads(sys.stdin.buffer.read())
    try:
        outcome = ("ok", [fn(task) for task in tasks])
    except Exception as exc:  # sent back and raised in the caller, with its own type and message
        outcome = ("error", exc)
    sys.stdout.buffer.write(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    _serve()
