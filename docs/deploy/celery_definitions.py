"""usher_assets with every step as a Celery task on a Redis broker: the project's assets, resources, same DuckDB.

Start the workers with docs/deploy/celery_worker.yaml and an instance on PostgreSQL; see docs/scaling.md.
"""

import dagster as dg
from dagster_celery import celery_executor

from usher_assets.definitions import build_definitions

# Runs and workers read the broker from the same variables, so they cannot disagree.
CELERY_REDIS_EXECUTOR = celery_executor.configured(
    {
        "broker": {"env": "USHER_CELERY_BROKER"},    # e.g. redis://127.0.0.1:6379/0
        "backend": {"env": "USHER_CELERY_BACKEND"},  # e.g. redis://127.0.0.1:6379/1
        # A worker acknowledges a task when it finishes, so it holds only the step it runs: one step queued
        # behind a long one goes to the idle worker instead of waiting in the busy worker's prefetch.
        "config_source": {"broker_connection_retry_on_startup": True, "task_acks_late": True},
    },
    name="celery_redis",
)


def celery_definitions() -> dg.Definitions:
    """build_definitions() with the Celery executor instead of the in-process one."""
    base = build_definitions()
    return dg.Definitions(assets=base.assets, resources=base.resources, jobs=base.jobs,
                          schedules=base.schedules, sensors=base.sensors, executor=CELERY_REDIS_EXECUTOR)


defs = celery_definitions()
