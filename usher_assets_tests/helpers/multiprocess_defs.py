"""A small checkpointed graph run on dg.multiprocess_executor; its config file and barrier come with the job pointer."""

import time
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl

from usher_assets.resources import PipelineResource, load_config
from usher_assets.storage import checkpointed_asset
from usher_assets.storage.io_manager import DuckDBIOManager

LAYER_ROWS = 400_000
# Set when the job is reconstructed in each step's process. Not taken from the environment: forkserver
# children inherit the environment of the process that started the forkserver (the first test to use it).
_barrier: dict[str, Path] = {}


def _wait_for_each_other(name: str, parties: int = 2) -> None:
    """Both layers reach their save together, so their processes contend for the file lock."""
    directory = _barrier["directory"]
    (directory / name).touch()
    deadline = time.monotonic() + 60
    while len(list(directory.iterdir())) < parties and time.monotonic() < deadline:
        time.sleep(0.01)


def _layer(seed: int) -> pl.DataFrame:
    _wait_for_each_other(f"layer_{seed}")
    return pl.DataFrame({"gene_index": np.arange(LAYER_ROWS), "score": np.random.default_rng(seed).random(LAYER_ROWS)})


@checkpointed_asset(metadata={"schema": "evidence"}, code_version="1")
def mp_layer_a():
    """One row per index: a random score."""
    return _layer(1)


@checkpointed_asset(metadata={"schema": "evidence"}, code_version="1")
def mp_layer_b():
    """One row per index: a random score."""
    return _layer(2)


@checkpointed_asset(metadata={"schema": "scoring"}, code_version="1")
def mp_scores(mp_layer_a: pl.DataFrame, mp_layer_b: pl.DataFrame):
    """One row per index: the mean of the two layers."""
    return mp_layer_a.select("gene_index", (mp_layer_a["score"] + mp_layer_b["score"]) / 2)


ASSETS = [mp_layer_a, mp_layer_b, mp_scores]


def multiprocess_job(config_path: str, barrier: str) -> dg.JobDefinition:
    _barrier["directory"] = Path(barrier)
    config = load_config(config_path)
    # forkserver: each step forks from a process that has imported dagster once (startup is the slow part).
    executor = dg.multiprocess_executor.configured({"max_concurrent": 2, "start_method": {"forkserver": {
        "preload_modules": ["dagster", "usher_assets.storage.io_manager", "multiprocess_defs"]}}})
    job = dg.define_asset_job("multiprocess_job", executor_def=executor)
    defs = dg.Definitions(
        assets=ASSETS, jobs=[job],
        resources={"io_manager": DuckDBIOManager(**config.io_manager_config()),
                   "pipeline": PipelineResource(config_path=config_path)},
    )
    return defs.resolve_job_def("multiprocess_job")
