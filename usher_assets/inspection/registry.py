"""The checkpointed assets the definitions register, each with the run config a run would fingerprint."""


def registered_assets() -> tuple[dict, dict[str, dict]]:
    """Import the definitions (which fills SPECS) and return SPECS with each asset's default run config.

    The run config is the asset's config class with its defaults, minus `force`, as the decorator
    fingerprints it.
    """
    import warnings

    import dagster as dg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # backfill_policy is beta: one warning per asset
        from usher_assets import definitions
    from usher_assets.assets.checkpointed import SPECS, CheckpointConfig

    run_configs = {}
    for name, spec in SPECS.items():
        config_class = getattr(spec, "config_class", None) or _declared_config_class(definitions.defs, name)
        run_configs[name] = (config_class or CheckpointConfig)().model_dump(exclude={"force"})
    return dict(SPECS), run_configs


def _declared_config_class(defs, name: str):
    # The decorator annotates its compute function with the config class; CheckpointedSpec does not carry it.
    compute = defs.resolve_assets_def(name).op.compute_fn
    return getattr(getattr(compute, "decorated_fn", None), "__annotations__", {}).get("config")
