"""The one Definitions object, built from PipelineConfig."""

import dagster as dg

from usher_assets.automation import fingerprint_automation_sensor
from usher_assets.assets.cell_sources import cell_source_assets
from usher_assets.assets.evidence import evidence_assets
from usher_assets.assets.scoring import build_scoring_assets
from usher_assets.assets.sources import source_assets
from usher_assets.config import ConfigError
from usher_assets.config_errors import exit_without_traceback
from usher_assets.inspection.launch import pipeline_resources
from usher_assets.resources import load_config
from usher_assets.schedules import refresh_job, weekly_refresh
from usher_assets.sensors import source_file_sensor
from usher_assets.storage.asset_checks import check_definitions


def build_definitions(config_path: str | None = None) -> dg.Definitions:
    # Loading here makes an invalid config fail before any asset runs, naming the file and field.
    load_config(config_path)
    assets = [*source_assets, *cell_source_assets, *evidence_assets, *scoring_assets]
    return dg.Definitions(
        assets=assets,
        asset_checks=check_definitions(assets),
        resources=pipeline_resources(config_path),
        executor=dg.in_process_executor,
        jobs=[refresh_job],
        schedules=[weekly_refresh],
        # Off by default: the declarative form of weekly_refresh's decision (usher_assets.automation).
        sensors=[source_file_sensor, fingerprint_automation_sensor(config_path)],
    )


scoring_assets = build_scoring_assets()
try:
    defs = build_definitions()
except ConfigError as error:
    exit_without_traceback(error)  # `dagster asset materialize` would print its loader's traceback too
    raise
