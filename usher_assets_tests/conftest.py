"""Shared fixtures: a store and a pipeline config whose storage lives under tmp_path."""

from pathlib import Path

import pytest
import yaml

from usher_assets.config import DEFAULT_CONFIG_PATH, PipelineConfig
from usher_assets.resources import PipelineResource
from usher_assets.storage import PipelineStore
from usher_assets.storage.io_manager import DuckDBIOManager


def write_config(directory: Path, name: str = "usher.yaml", **changes) -> Path:
    """The bundled default with storage moved into `directory`; `changes` replace top-level sections."""
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    raw["storage"] |= {"database": str(directory / "usher.duckdb"), "output_dir": str(directory / "outputs"),
                       "download_dir": str(directory / "downloads"), "lock_timeout_seconds": 30}
    raw |= changes
    path = directory / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "usher.duckdb"


@pytest.fixture
def store(db_path) -> PipelineStore:
    return PipelineStore(db_path)


@pytest.fixture
def config_writer(tmp_path):
    """write_config bound to tmp_path: `config_writer("other.yaml", scoring={...})`."""
    return lambda name="usher.yaml", **changes: write_config(tmp_path, name, **changes)


@pytest.fixture
def pipeline_config_path(config_writer) -> Path:
    return config_writer()


@pytest.fixture
def pipeline_config(pipeline_config_path) -> PipelineConfig:
    return PipelineConfig.load(pipeline_config_path)


@pytest.fixture
def resources(pipeline_config, pipeline_config_path) -> dict:
    """Resources for dg.materialize: the DuckDB I/O manager and the pipeline config, both under tmp_path."""
    return {
        "io_manager": DuckDBIOManager(database=str(pipeline_config.database_path),
                                      lock_timeout=pipeline_config.storage.lock_timeout_seconds),
        "pipeline": PipelineResource(config_path=str(pipeline_config_path)),
    }
