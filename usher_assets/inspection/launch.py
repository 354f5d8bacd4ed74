"""This pipeline's launch-time decision: `checkpoints explain`'s verdicts, planned over the asset graph.

explain_assets runs the run's own fingerprint code (asset_fingerprints, the declared source files and config
sections, decide with its content-hash verification) offline: a source that would need a download, a missing
checkpoint, a table that fails verification or a file that cannot be read all make a slice stale. The
generic storage.launch module then adds everything downstream and builds the request.
"""

from dataclasses import dataclass
from typing import Any, Mapping

import dagster as dg

from usher_assets.config import PipelineConfig
from usher_assets.inspection.explain import CONDITIONAL, RECOMPUTE, explain_assets
from usher_assets.inspection.explain import REUSE as EXPLAIN_REUSE
from usher_assets.inspection.registry import registered_assets
from usher_assets.storage.launch import REUSE, STALE, LaunchPlan, SliceVerdict, plan_launch
from usher_assets.storage.launch import CONDITIONAL as PLAN_CONDITIONAL

STATUS = {RECOMPUTE: STALE, CONDITIONAL: PLAN_CONDITIONAL, EXPLAIN_REUSE: REUSE}


@dataclass(frozen=True)
class DefinitionsView:
    """What explain reads of dg.Definitions, from a schedule's or sensor's repository and resources."""

    asset_graph: Any
    assets_defs: Mapping[dg.AssetKey, dg.AssetsDefinition]
    resources: dict

    def resolve_asset_graph(self):
        return self.asset_graph

    def resolve_assets_def(self, key: dg.AssetKey) -> dg.AssetsDefinition:
        return self.assets_defs[key]


def definitions_view(repository_def, resources: dict) -> DefinitionsView:
    return DefinitionsView(repository_def.asset_graph, repository_def.assets_defs_by_key, dict(resources))


def pipeline_resources(config_path: str | None = None) -> dict:
    """The resources build_definitions gives the assets, for a caller without any (an AutomationCondition)."""
    from usher_assets.resources import PipelineResource, load_config
    from usher_assets.storage.io_manager import DuckDBIOManager

    config = load_config(config_path)
    return {"io_manager": DuckDBIOManager(**config.io_manager_config()),
            "pipeline": PipelineResource(config_path=config_path)}


def graph_view(asset_graph, resources: dict) -> DefinitionsView:
    """A DefinitionsView from an AssetGraph alone (what an AutomationCondition's context holds)."""
    assets_defs = {key: assets_def for assets_def in asset_graph.assets_defs for key in assets_def.keys}
    return DefinitionsView(asset_graph, assets_defs, dict(resources))


def launch_verdicts(defs, pipeline: PipelineConfig, selection: set[dg.AssetKey] | None = None) -> list[SliceVerdict]:
    """One verdict per checkpointed asset and partition of the selection (default: all)."""
    assets = registered_assets(defs)
    names = [a.name for a in assets.values() if selection is None or a.key in selection]
    if not names:
        return []
    store = defs.resources["io_manager"].store() if pipeline.store_exists() else None
    try:
        if store is None:
            statuses = explain_assets(None, pipeline, defs, names)
        else:
            with store.session():  # one connection for every asset: opening the file is the slow part
                statuses = explain_assets(store, pipeline, defs, names)
    except Exception as exc:  # in doubt, request: a run would meet the same problem and say so
        return [SliceVerdict(a.key, p, STALE, (f"could not decide before the run: {type(exc).__name__}: {exc}",))
                for a in assets.values() if a.name in names for p in _partitions(a)]
    return [SliceVerdict(assets[s.asset].key, slice_.partition_key, STATUS[slice_.status], slice_.reasons)
            for s in statuses for slice_ in s.slices]


def _partitions(asset) -> list[str | None]:
    return list(asset.assets_def.partitions_def.get_partition_keys()) if asset.partitioned else [None]


def launch_plan(defs, pipeline: PipelineConfig, selection: set[dg.AssetKey] | None = None, *,
                forced: bool = False, instance=None) -> LaunchPlan:
    """What a run of `selection` would compute and why, plus what reads it; everything when `forced`."""
    graph = defs.resolve_asset_graph()
    keys = set(selection) if selection is not None else set(graph.get_all_asset_keys())
    if forced:
        verdicts = [SliceVerdict(k, p, STALE, ("forced",)) for k in keys for p in _all(graph, k)]
        plan = plan_launch(graph, verdicts, keys, instance)
        plan.forced = True
        return plan
    return plan_launch(graph, launch_verdicts(defs, pipeline, keys), keys, instance)


def _all(graph, key) -> list[str | None]:
    partitions_def = graph.get(key).partitions_def
    return list(partitions_def.get_partition_keys()) if partitions_def else [None]
