"""The launch-time decision as a declarative AutomationCondition: FingerprintsChanged.

Offered, not on by default (weekly_refresh stays the default mechanism). For each asset the condition is
true for exactly the candidate partitions that weekly_refresh's decision (usher_assets.inspection.launch:
fingerprints against checkpoints, verified, plus everything downstream) would request; an unpartitioned asset
is all or nothing. Each evaluation's label says why, so the UI's automation view of an asset shows e.g.
"fingerprints changed: source file hpa_subcellular: sha256 changed ...", "upstream requested in 25
partitions (1, 2, ...): reads hpa_subcellular, requested" or "fingerprints match: reused".

Dagster evaluates the condition asset by asset; the decision covers the whole graph, so it is made once per
evaluation tick (keyed by the tick's evaluation id and time) and read by every asset of the tick. The
condition's context has no resources: it loads PipelineConfig itself (resources.load_config, the config path
given or USHER_CONFIG) and builds the resources as build_definitions does.

Two ways to switch it on:

- the sensor `fingerprint_automation` (registered by build_definitions, STOPPED by default): start it in the
  UI. It is evaluated in the code server (a custom condition cannot run in the daemon) and applies
  FingerprintsChanged to every asset that has no automation condition of its own;
- `with_fingerprint_automation(defs)` attaches the condition to every asset's spec (Definitions.map_asset_specs),
  so the asset page shows it and `dg.evaluate_automation_conditions` evaluates it; the sensor above (or any
  AutomationConditionSensorDefinition with use_user_code_server=True) then evaluates it.

Several stale chromosomes become one backfill (emit_backfills), which the assets' single-run backfill policy
runs as one run per partitions definition, instead of one run per chromosome racing for the DuckDB file.
"""

import dataclasses
import threading
import warnings
from functools import cached_property

import dagster as dg
from dagster._core.definitions.declarative_automation.serialized_objects import AutomationConditionEvaluation
from dagster._utils.security import non_secure_md5_hash_str

from usher_assets.inspection.launch import graph_view, launch_plan, pipeline_resources
from usher_assets.resources import load_config
from usher_assets.storage.launch import LaunchPlan

NAME = "fingerprints_changed"
LABEL = "fingerprints changed"
DOWNSTREAM_LABEL = "upstream requested"
LABEL_LIMIT = 240  # one line in the UI's evaluation table
DESCRIPTION_LIMIT = 2000
SENSOR_NAME = "fingerprint_automation"
SENSOR_INTERVAL_SECONDS = 60
DESCRIPTION = ("True for the partitions weekly_refresh's launch-time decision would request: the fingerprint "
               "(sources, config sections, code version, upstream content) no longer matches an intact "
               "checkpoint, or the slice reads one that is requested.")


class _TickPlans:
    """The whole-graph LaunchPlan of the current evaluation tick, made once however many assets read it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._key = None
        self._plan: LaunchPlan | None = None
        self.made = 0  # how many plans were made, for the tests

    def get(self, key, make) -> LaunchPlan:
        with self._lock:
            if self._key != key:
                self._plan, self._key = make(), key
                self.made += 1
            return self._plan


TICK_PLANS = _TickPlans()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


class _ExplainedResult(dg.AutomationResult):
    """An AutomationResult whose recorded evaluation carries this evaluation's reasons as label and description.

    The UI's evaluation table shows a node's label; the condition's own label is the same for every asset and
    tick, so the result replaces it (and the description) in the snapshot it records.
    """

    def __init__(self, context, true_subset, *, label: str, description: str):
        super().__init__(context, true_subset)
        self._label, self._description = label, description

    @cached_property
    def serializable_evaluation(self) -> AutomationConditionEvaluation:
        evaluation = super().serializable_evaluation
        snapshot = evaluation.condition_snapshot._replace(label=self._label, description=self._description)
        return dataclasses.replace(evaluation, condition_snapshot=snapshot)

    @cached_property
    def value_hash(self) -> str:
        # A new record whenever the reasons change, even with the same subsets.
        return non_secure_md5_hash_str(f"{super().value_hash}{self._label}{self._description}".encode())


class FingerprintsChanged(dg.AutomationCondition[dg.AssetKey]):
    """True for the candidate partitions of an asset that the launch-time decision requests (see module doc)."""

    def __init__(self, config_path: str | None = None):
        self.config_path = None if config_path is None else str(config_path)

    @property
    def requires_cursor(self) -> bool:
        return False

    @property
    def name(self) -> str:
        return NAME

    @property
    def description(self) -> str:
        return DESCRIPTION

    def get_label(self) -> str | None:
        return LABEL

    def plan(self, context) -> LaunchPlan:
        """The tick's decision over every asset of the graph."""
        config = load_config(self.config_path)
        # load_config gives a new object when the file changed; an edited config makes a new plan.
        key = (context.evaluation_id, context.evaluation_time.timestamp(), id(context.asset_graph),
               self.config_path, id(config))

        def make() -> LaunchPlan:
            defs = graph_view(context.asset_graph, pipeline_resources(self.config_path))
            return launch_plan(defs, config, None, instance=context.asset_graph_view.instance)

        return TICK_PLANS.get(key, make)

    def evaluate(self, context) -> dg.AutomationResult:
        plan = self.plan(context)
        wanted = plan.requested.get(context.key, {})
        candidates = context.candidate_subset
        if context.partitions_def is None:
            true_subset = candidates if wanted and not candidates.is_empty else context.get_empty_subset()
        else:
            keys = {p for p in wanted if p is not None}
            true_subset = candidates.compute_intersection(context.asset_graph_view.get_subset_from_partition_keys(
                key=context.key, partitions_def=context.partitions_def, partition_keys=keys))
        order = list(context.partitions_def.get_partition_keys()) if context.partitions_def else [None]
        label, description = explain(plan, context.key, {p: wanted[p] for p in order if p in wanted}, true_subset)
        return _ExplainedResult(context, true_subset, label=label, description=description)


def explain(plan: LaunchPlan, key: dg.AssetKey, wanted: dict[str | None, str], true_subset) -> tuple[str, str]:
    """The label (one short line) and description (every requested partition's reason) of one evaluation."""
    if true_subset.is_empty:
        label = ("fingerprints match: reused" if not wanted else "fingerprints changed outside the candidates")
        return label, f"Not requested: checked {plan.checked_text()}; " + (
            "every fingerprint of this asset matches an intact checkpoint and nothing it reads is requested."
            if not wanted else "the requested partitions were not candidates of this evaluation.")
    chosen = {None} if not true_subset.is_partitioned else true_subset.expensively_compute_partition_keys()
    requested = {p: why for p, why in wanted.items() if p in chosen}  # `wanted` is in partition order
    stale = [p for p in requested if (key, p) in plan.stale]
    # "fingerprints changed" when a slice of this asset is stale itself, else it is requested for what it reads.
    prefix, first = (LABEL, requested[stale[0]]) if stale else (DOWNSTREAM_LABEL, next(iter(requested.values())))
    if None in requested:
        label = f"{prefix}: {first}"
    else:
        shown = ", ".join(list(requested)[:6]) + (", ..." if len(requested) > 6 else "")
        label = f"{prefix} in {len(requested)} partitions ({shown}): {first}"
    lines = [f"{p}: {why}" if p is not None else why for p, why in requested.items()]
    description = f"Requested {key.to_user_string()} (checked {plan.checked_text()}): " + "; ".join(lines)
    return _cut(label, LABEL_LIMIT), _cut(description, DESCRIPTION_LIMIT)


def fingerprint_automation(config_path: str | None = None) -> FingerprintsChanged:
    """The condition to attach (`automation_condition=`); it decides with `config_path` (or USHER_CONFIG)."""
    return FingerprintsChanged(config_path)


def with_fingerprint_automation(defs: dg.Definitions, config_path: str | None = None,
                                selection=None) -> dg.Definitions:
    """`defs` with FingerprintsChanged as the automation condition of every asset (or of `selection`)."""
    condition = fingerprint_automation(config_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)  # map_asset_specs is preview in Dagster 1.13
        return defs.map_asset_specs(func=lambda spec: spec.replace_attributes(automation_condition=condition),
                                    selection=selection)


def fingerprint_automation_sensor(config_path: str | None = None) -> dg.AutomationConditionSensorDefinition:
    """Evaluates FingerprintsChanged (or an asset's own condition) for every asset; STOPPED until started."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # use_user_code_server, default_condition: beta in 1.13
        return _sensor(config_path)


def _sensor(config_path: str | None) -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        SENSOR_NAME, target=dg.AssetSelection.all(), use_user_code_server=True,
        default_condition=fingerprint_automation(config_path), default_status=dg.DefaultSensorStatus.STOPPED,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        description=("Declarative form of weekly_refresh's decision: requests the assets and partitions whose "
                     "fingerprints no longer match their checkpoints and what reads them; each asset's automation "
                     "view says why. Off by default: the schedule is the default mechanism."))
