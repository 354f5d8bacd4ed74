"""The checkpointed assets of the project's definitions, upstream first, with what a run would fingerprint."""

from dataclasses import dataclass
from types import SimpleNamespace

import dagster as dg

from usher_assets.storage.checkpointed import CheckpointSpec, checkpoint_spec


@dataclass(frozen=True)
class RegisteredAsset:
    name: str
    key: dg.AssetKey
    assets_def: dg.AssetsDefinition
    spec: CheckpointSpec
    run_config: dict  # the asset's config class with its defaults, minus `force`, as a run fingerprints it

    @property
    def upstream(self) -> list[str]:
        return [k.path[-1] for k in self.spec.inputs.values()]

    @property
    def partitioned(self) -> bool:
        return self.assets_def.partitions_def is not None


def load_definitions(config_path: str | None = None) -> dg.Definitions:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # backfill_policy is beta: one warning per asset
        from usher_assets.definitions import build_definitions, defs
    return defs if config_path is None else build_definitions(config_path)


def registered_assets(defs: dg.Definitions) -> dict[str, RegisteredAsset]:
    """Name -> RegisteredAsset, in dependency order (Dagster's topological order of the asset graph)."""
    graph = defs.resolve_asset_graph()
    found = {}
    for key in graph.toposorted_asset_keys:
        assets_def = defs.resolve_assets_def(key)
        spec = checkpoint_spec(assets_def)
        if spec is not None:
            run_config = spec.config_class().model_dump(exclude={"force"})
            found[key.path[-1]] = RegisteredAsset(key.path[-1], key, assets_def, spec, run_config)
    return found


def offline_resources(defs: dg.Definitions) -> SimpleNamespace:
    """The definitions' resources as an asset's declared inputs see them, with downloads turned off."""
    resources = dict(defs.resources or {})
    pipeline = resources["pipeline"]
    resources["pipeline"] = SimpleNamespace(config=pipeline.config, offline=True)
    return SimpleNamespace(**resources)
