"""The pipeline resource: hands assets the validated PipelineConfig."""

import os
from functools import lru_cache
from pathlib import Path

import dagster as dg

from usher_assets.config import CONFIG_ENV_VAR, DEFAULT_CONFIG_PATH, PipelineConfig


@lru_cache(maxsize=16)
def _load(path: str, mtime_ns: int) -> PipelineConfig:
    return PipelineConfig.load(path)


def load_config(config_path: str | None = None) -> PipelineConfig:
    """Load once per file version: an edited config file is read again (the webserver lives long)."""
    chosen = Path(config_path or os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH)
    try:
        mtime = chosen.stat().st_mtime_ns
    except OSError:
        mtime = -1  # let PipelineConfig.load name the missing file
    return _load(str(chosen), mtime)


class PipelineResource(dg.ConfigurableResource):
    """Loads PipelineConfig from `config_path` (or USHER_CONFIG, or the bundled default)."""

    config_path: str | None = None

    @property
    def config(self) -> PipelineConfig:
        return load_config(self.config_path)
