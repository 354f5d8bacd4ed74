"""FingerprintsChanged: the launch-time decision as a declarative AutomationCondition.

Daemon-free: dg.evaluate_automation_conditions on a clone of the golden build, with the condition attached to
every asset (with_fingerprint_automation), and the registered fingerprint_automation sensor (default_condition,
evaluated in the code server) ticked with dg.build_sensor_context. Nothing changed -> nothing requested; one
source file edited -> exactly the assets and partitions the schedule's decision requests, with the reasons.
"""

import dagster as dg
import pytest

from conftest import clone_build, write_config
from launch_support import only_request, requested_names, schedule_tick
from pipeline_runs import downstream_of
from test_launch_decision import EDITED_SOURCE, _edit_config, _edit_source
from usher_assets import automation
from usher_assets.automation import (DOWNSTREAM_LABEL, LABEL, NAME, SENSOR_NAME, FingerprintsChanged,
                                     fingerprint_automation, with_fingerprint_automation)
from usher_assets.definitions import build_definitions
from usher_assets.inspection.launch import definitions_view, launch_plan


def _labels(result) -> dict[str, tuple[str, str]]:
    """Asset -> (label, description) of its recorded evaluation, as the UI's automation view shows them."""
    found = {}
    for r in result.results:
        snapshot = r.serializable_evaluation.condition_snapshot
        found[r.key.to_user_string()] = (snapshot.label, snapshot.description)
    return found


def _requested(result, defs) -> dict[str, set]:
    return {k.to_user_string(): set(result.get_requested_partitions(k)) for k in defs.resolve_all_asset_keys()
            if result.get_num_requested(k)}


@pytest.fixture(scope="module")
def automation_series(golden_build, tmp_path_factory):
    work = tmp_path_factory.mktemp("automation_condition")
    clone_build(golden_build, work)
    config_path = write_config(work)
    (work / "dagster_home").mkdir()
    out = {}
    with pytest.MonkeyPatch.context() as patch, dg.DagsterInstance.local_temp(str(work / "dagster_home")) as instance:
        patch.setenv("USHER_CONFIG", str(config_path))

        def evaluate(label):
            defs = build_definitions(str(config_path))
            attached = with_fingerprint_automation(defs, str(config_path))
            made = automation.TICK_PLANS.made
            result = dg.evaluate_automation_conditions(defs=attached, instance=instance)
            with dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def()) as context:
                tick = defs.get_sensor_def(SENSOR_NAME).evaluate_tick(context)
            plan = launch_plan(definitions_view(defs.get_repository_def(), defs.resources),
                               defs.resources["pipeline"].config, instance=instance)
            out[label] = dict(result=result, defs=attached, plans=automation.TICK_PLANS.made - made, tick=tick,
                              schedule=schedule_tick(defs, instance), plan=plan)

        evaluate("nothing")
        _edit_config(config_path, _edit_source(work))
        evaluate("source edited")
    return out


@pytest.mark.slow
def test_nothing_changed_requests_nothing_and_says_so(automation_series):
    step = automation_series["nothing"]
    result = step["result"]
    assert not step["schedule"].run_requests
    assert result.total_requested == 0
    assert len(result.results) == len(step["defs"].resolve_all_asset_keys())
    labels = _labels(result)
    assert {label for label, _ in labels.values()} == {"fingerprints match: reused"}
    assert all("every fingerprint of this asset matches an intact checkpoint" in d for _, d in labels.values())
    assert not step["tick"].run_requests


@pytest.mark.slow
def test_an_edited_source_requests_what_the_schedule_requests(automation_series):
    step = automation_series["source edited"]
    result, defs = step["result"], step["defs"]
    request = only_request(step["schedule"])
    requested = _requested(result, defs)
    assert set(requested) == requested_names(request) == downstream_of(defs, {EDITED_SOURCE})
    # Partition by partition, exactly the plan's slices (None: unpartitioned).
    assert requested == {k.to_user_string(): set(s) for k, s in step["plan"].requested.items()}
    label, description = _labels(result)[EDITED_SOURCE]
    assert label.startswith(f"{LABEL}: source file {EDITED_SOURCE}") and "sha256 changed" in label, label
    assert f"Requested {EDITED_SOURCE}" in description and "sha256 changed" in description
    not_requested = {n for n in _labels(result)} - set(requested)
    assert not_requested and all(_labels(result)[n][0] == "fingerprints match: reused" for n in not_requested)
    # What reads the edited source is requested for that, and says so.
    for name, parts in requested.items():
        if name == EDITED_SOURCE:
            continue
        expected = DOWNSTREAM_LABEL + ("" if None in parts else f" in {len(parts)} partitions")
        assert _labels(result)[name][0].startswith(expected), (name, _labels(result)[name])
        assert "reads " in _labels(result)[name][0]


@pytest.mark.slow
def test_the_decision_is_made_once_per_evaluation(automation_series):
    # evaluate_automation_conditions (every asset) and the sensor tick: one plan each.
    assert automation_series["nothing"]["plans"] == 2
    assert automation_series["source edited"]["plans"] == 2


@pytest.mark.slow
def test_the_registered_sensor_requests_the_same_slices(automation_series):
    step = automation_series["source edited"]
    tick = step["tick"]
    assert tick.run_requests, tick.skip_message
    subsets = {}
    for run_request in tick.run_requests:
        if run_request.asset_graph_subset is not None:  # a backfill: several partitions of an asset
            for ap in run_request.asset_graph_subset.iterate_asset_partitions():
                subsets.setdefault(ap.asset_key.to_user_string(), set()).add(ap.partition_key)
        else:
            for key in run_request.asset_selection:
                subsets.setdefault(key.to_user_string(), set()).add(run_request.partition_key)
    assert subsets == _requested(step["result"], step["defs"])
    assert tick.automation_condition_evaluations, "the sensor records each asset's evaluation for the UI"
    labels = {e.key.to_user_string(): e.condition_snapshot.label for e in tick.automation_condition_evaluations}
    assert "sha256 changed" in labels[EDITED_SOURCE]


def test_the_condition_is_offered_not_on_by_default(tmp_path):
    defs = build_definitions(str(write_config(tmp_path)))
    graph = defs.resolve_asset_graph()
    assert all(graph.get(k).automation_condition is None for k in graph.get_all_asset_keys())
    sensor = defs.get_sensor_def(SENSOR_NAME)
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    assert isinstance(sensor.default_condition, FingerprintsChanged)
    condition = fingerprint_automation()
    snapshot = condition.get_snapshot().node_snapshot
    assert (snapshot.name, snapshot.label) == (NAME, LABEL) and "launch-time decision" in snapshot.description
