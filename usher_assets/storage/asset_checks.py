"""Asset checks on checkpointed tables as their own Dagster definitions, so the UI can execute each alone.

Each checked table gets one check, `table_integrity`, over all the rules its asset declares; one
multi_asset_check per asset group (one extra step per stage in a full run), and `can_subset` lets a run
evaluate any single table's check. Each reads the stored table through the asset's DuckDB I/O manager.
"""

from contextlib import ExitStack

import dagster as dg

from usher_assets.storage.checkpointed import STORE_READER_TAG, checkpoint_spec
from usher_assets.storage.dependencies import stored_node
from usher_assets.storage.io_manager import DuckDBIOManager, duckdb_manager
from usher_assets.storage.table_checks import TABLE_CHECK_NAME, TableCheck, rules_description, table_check_result


def check_definitions(assets_defs) -> list[dg.AssetChecksDefinition]:
    """The TableChecks each checkpointed asset declares (`checks=`): one `table_integrity` check per table,
    one multi_asset_check per group."""
    by_group: dict[str, list[tuple[dg.AssetKey, str, tuple[TableCheck, ...]]]] = {}
    for assets_def in assets_defs:
        spec = checkpoint_spec(assets_def) if isinstance(assets_def, dg.AssetsDefinition) else None
        for key in (assets_def.keys if spec and spec.checks else ()):
            group = assets_def.group_names_by_key.get(key, "default")
            manager = assets_def.get_io_manager_key_for_asset_key(key)
            by_group.setdefault(group, []).append((key, manager, tuple(spec.checks)))
    return [_group_checks(group, entries) for group, entries in sorted(by_group.items())]


def _group_checks(group: str, entries: list[tuple[dg.AssetKey, str, tuple[TableCheck, ...]]]
                  ) -> dg.AssetChecksDefinition:
    by_key = {dg.AssetCheckKey(key, TABLE_CHECK_NAME): (key, manager, checks) for key, manager, checks in entries}
    specs = [dg.AssetCheckSpec(TABLE_CHECK_NAME, asset=key, description=rules_description(checks))
             for key, _manager, checks in entries]

    # Tagged like a checkpointed step: it only reads through the store, so a run of checkpointed
    # steps and these may keep the DuckDB file open between steps.
    @dg.multi_asset_check(specs=specs, name=f"{group}_table_checks", can_subset=True,
                          required_resource_keys={m for _k, m, _c in entries}, op_tags={STORE_READER_TAG: "true"},
                          description=f"Table checks of the {group} assets, read from the stored tables.")
    def table_checks(context: dg.AssetCheckExecutionContext):
        graph = context.op_execution_context.job_def.asset_layer.asset_graph
        selected = sorted(context.selected_asset_check_keys, key=lambda k: (k.asset_key.path, k.name))
        with ExitStack() as sessions:
            for store in {_manager(context, *by_key[k][:2]).store() for k in selected}:
                sessions.enter_context(store.session())  # one connection for the step, not one per check
            for check_key in selected:
                key, manager_key, checks = by_key[check_key]
                manager = _manager(context, key, manager_key)
                yield table_check_result(manager.store(), stored_node(graph, key, manager.schema_).ref, checks, key)

    return table_checks


def _manager(context, key: dg.AssetKey, manager_key: str) -> DuckDBIOManager:
    return duckdb_manager(context.resources, manager_key, f"the checks of {key.to_user_string()} read its table")
