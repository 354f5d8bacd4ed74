"""Dagster's floor for benchmark 3: trivial assets shaped like the real graph, on the in-process executor.

The graph comes from the JSON file named by BENCH_TRIVIAL_GRAPH ([{name, group, partitioned, deps, checks}],
written by bench/pipeline_cli.py from the real definitions); without it, a chain of 20 unpartitioned assets.
bench/trivial_checked_defs.py builds the same graph with no-op asset checks of the real checks' names.
"""

import json
import os

import dagster as dg

CHROMOSOMES = [str(c) for c in range(1, 23)] + ["X", "Y", "MT"]
PARTITIONS = dg.StaticPartitionsDefinition(CHROMOSOMES)


def trivial_asset(node: dict, partitioned_names: set[str]) -> dg.AssetsDefinition:
    deps = [dg.AssetDep(d, partition_mapping=dg.AllPartitionMapping()) if d in partitioned_names else dg.AssetDep(d)
            for d in node["deps"]]

    @dg.asset(name=node["name"], group_name=node["group"], deps=deps,
              partitions_def=PARTITIONS if node["partitioned"] else None,
              backfill_policy=dg.BackfillPolicy.single_run())
    def body() -> dg.MaterializeResult:
        return dg.MaterializeResult()

    return body


def trivial_checks(graph: list[dict]) -> list[dg.AssetChecksDefinition]:
    """No-op checks of the real checks' names, one multi_asset_check per group as the real ones are."""
    by_group: dict[str, list[dg.AssetCheckSpec]] = {}
    for node in graph:
        by_group.setdefault(node["group"], []).extend(
            dg.AssetCheckSpec(check, asset=node["name"]) for check in node.get("checks", []))

    def group_checks(group: str, specs: list[dg.AssetCheckSpec]) -> dg.AssetChecksDefinition:
        @dg.multi_asset_check(specs=specs, name=f"{group}_table_checks", can_subset=True)
        def checks(context: dg.AssetCheckExecutionContext):
            for key in context.selected_asset_check_keys:
                yield dg.AssetCheckResult(asset_key=key.asset_key, check_name=key.name, passed=True)

        return checks

    return [group_checks(g, specs) for g, specs in sorted(by_group.items()) if specs]


def load_graph() -> list[dict]:
    path = os.environ.get("BENCH_TRIVIAL_GRAPH")
    if path:
        with open(path) as handle:
            return json.load(handle)
    return [{"name": f"step_{i}", "group": "chain", "partitioned": False, "deps": [f"step_{i - 1}"] if i else []}
            for i in range(20)]


def build_defs(with_checks: bool = False) -> dg.Definitions:
    graph = load_graph()
    partitioned = {n["name"] for n in graph if n["partitioned"]}
    return dg.Definitions(assets=[trivial_asset(n, partitioned) for n in graph],
                          asset_checks=trivial_checks(graph) if with_checks else [],
                          executor=dg.in_process_executor)


defs = build_defs()
