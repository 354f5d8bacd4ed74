"""End to end: a real `dagster-daemon run` evaluates source_file_sensor on a fully built clone and launches nothing.

The sensor, not the schedule, because a cron schedule only ticks at its cron time; the sensor's first tick
comes as soon as the daemon has loaded the code location. A separate module from test_launch_decision.py
because it starts processes (the daemon, a code server) and needs a DAGSTER_HOME of its own.
"""

import os
import signal
import subprocess
import time

import dagster as dg
from dagster._core.scheduler.instigation import TickStatus
import pytest
import yaml

from conftest import clone_build, write_config
from local_services import VENV_BIN
from usher_assets.config import PROJECT_ROOT
from usher_assets.inspection.registry import load_definitions, registered_assets

TICK_WAIT_SECONDS = 240  # code server start-up plus one evaluation, on a busy two-core machine
LOCATION = "usher"


def _workspace(directory, config_path):
    home = directory / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    workspace = directory / "workspace.yaml"
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_module": {
        "module_name": "usher_assets.definitions", "working_directory": str(PROJECT_ROOT),
        "location_name": LOCATION}}]}))
    return home, workspace


def _start_sensor(instance, workspace) -> object:
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import WorkspaceFileTarget

    with WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[str(workspace)])) as process:
        location = process.create_request_context().get_code_location(LOCATION)
        repository = next(iter(location.get_repositories().values()))
        sensor = repository.get_sensor("source_file_sensor")
        instance.start_sensor(sensor)
        return sensor


def _first_tick(instance, sensor, daemon: subprocess.Popen):
    deadline = time.monotonic() + TICK_WAIT_SECONDS
    while time.monotonic() < deadline:
        ticks = instance.get_ticks(sensor.get_remote_origin_id(), sensor.selector_id)
        done = [t for t in ticks if t.status != TickStatus.STARTED]
        if done:
            return done[-1]
        assert daemon.poll() is None, f"dagster-daemon exited {daemon.returncode}"
        time.sleep(1)
    raise AssertionError(f"no finished sensor tick within {TICK_WAIT_SECONDS} s")


@pytest.mark.slow
def test_the_daemon_skips_the_sensor_tick_when_nothing_changed(golden_build, tmp_path, monkeypatch):
    clone_build(golden_build, tmp_path)
    config_path = write_config(tmp_path)
    home, workspace = _workspace(tmp_path, config_path)
    monkeypatch.setenv("USHER_CONFIG", str(config_path))  # the code servers inherit it
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        sensor = _start_sensor(instance, workspace)
        log = open(tmp_path / "daemon.log", "wb")
        daemon = subprocess.Popen([str(VENV_BIN / "dagster-daemon"), "run", "-w", str(workspace)], cwd=tmp_path,
                                  env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        try:
            tick = _first_tick(instance, sensor, daemon)
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait(timeout=30)
            log.close()
        assert tick.status == TickStatus.SKIPPED, (tick.status, tick.error,
                                                      (tmp_path / "daemon.log").read_text()[-3000:])
        assets = registered_assets(load_definitions()).values()
        slices = sum(len(a.assets_def.partitions_def.get_partition_keys()) if a.partitioned else 1 for a in assets)
        assert "nothing changed" in tick.skip_reason and f"{len(assets)} assets, {slices} slices" in tick.skip_reason
        assert instance.get_runs() == []
