"""Dagster partitions as table slices (dagster-duckdb's partition_expr conventions), and upstream partition mapping.

Time windows select `expr >= start AND expr < end`; static and dynamic keys `expr IN (...)`; a multi-partition
key the AND of its dimensions, each by its own entry of a partition_expr dict. A partitioned asset must name
its partition_expr, as with dagster-duckdb.
"""

from typing import Any, Mapping

import dagster as dg

from usher_assets.storage.sql import Slice, static_predicate, time_window_predicate


class PartitionExprError(ValueError):
    """partition_expr does not fit the asset's partitions definition."""


def slices_for(partitions_def: dg.PartitionsDefinition | None, keys: list[str] | None, partition_expr: Any,
               where: str) -> list[Slice] | None:
    """One Slice per partition key (None for an unpartitioned table). `where` names the asset in errors."""
    if partitions_def is None or keys is None:
        return None
    if partition_expr is None:
        # dagster-duckdb's own words, so code written against it reads the same error.
        raise PartitionExprError(
            f"Asset '{where}' has partitions, but no 'partition_expr' metadata value, so we don't know what column "
            "it's partitioned on. To specify a column, set this metadata value. E.g. "
            '@asset(metadata={"partition_expr": "your_partition_column"}).')
    return [Slice(str(k), _predicate(partitions_def, k, partition_expr, where)) for k in keys]


def _predicate(partitions_def, key, partition_expr, where: str) -> str:
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        if not isinstance(partition_expr, Mapping):
            raise PartitionExprError(
                f"{where} is multi-partitioned ({', '.join(partitions_def.partition_dimension_names)}); its "
                "partition_expr must map each dimension to a column, e.g. {'date': 'day', 'color': 'color'}")
        by_dimension = partitions_def.get_partition_key_from_str(str(key)).keys_by_dimension
        parts = []
        for dimension in partitions_def.partitions_defs:
            expr = partition_expr.get(dimension.name)
            if expr is None:
                raise PartitionExprError(
                    f"{where} has partition dimension {dimension.name!r}, but its partition_expr has no "
                    f"{dimension.name!r} entry, so the column to filter it on is unknown")
            parts.append(_predicate(dimension.partitions_def, by_dimension[dimension.name], expr, where))
        return " AND ".join(f"({p})" for p in parts)
    if not isinstance(partition_expr, str):
        raise PartitionExprError(f"{where}: partition_expr must be a column name or SQL expression, "
                                 f"got {partition_expr!r}")
    if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        window = partitions_def.time_window_for_partition_key(str(key))
        return time_window_predicate(partition_expr, window.start, window.end)
    return static_predicate(partition_expr, [str(key)])


def upstream_partition_keys(asset_graph, key: dg.AssetKey, parent: dg.AssetKey, keys: list[str] | None,
                            instance=None) -> list[str] | None:
    """The partitions of `parent` that the given partitions of `key` read, by Dagster's own partition mapping.

    None when the parent is unpartitioned; an empty list when the mapping selects none (the first
    partition of a self-dependent asset).
    """
    parent_def = asset_graph.get(parent).partitions_def
    if parent_def is None:
        return None
    own_def = asset_graph.get(key).partitions_def
    mapping = asset_graph.get_partition_mapping(key, parent)
    subset = own_def.subset_with_partition_keys(keys) if own_def is not None and keys else None
    if own_def is not None and not keys:
        return []
    result = mapping.get_upstream_mapped_partitions_result_for_partitions(
        subset, own_def, parent_def, dynamic_partitions_store=instance)
    mapped = set(result.partitions_subset.get_partition_keys())
    ordered = [k for k in parent_def.get_partition_keys(dynamic_partitions_store=instance) if k in mapped]
    return ordered + sorted(mapped - set(ordered))
