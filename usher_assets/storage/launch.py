"""What a launch should request, decided before any run starts, from the same per-slice verdicts a run makes.

Generic: the caller passes one SliceVerdict per asset and partition (stale = the run would compute it;
conditional = only a recomputing upstream changed it), and this module adds everything downstream of those in
the selection by Dagster's asset graph and partition mappings (upstream_partition_keys, as the run reads them),
then turns the result into one RunRequest or a SkipReason whose words name what was checked.
"""

from dataclasses import dataclass, field

import dagster as dg

from usher_assets.storage.fingerprint import canonical_hash
from usher_assets.storage.partitions import upstream_partition_keys

STALE, CONDITIONAL, REUSE = "stale", "conditional", "reuse"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
TAG_LIMIT = 255  # Dagster's limit on a tag value


@dataclass(frozen=True)
class SliceVerdict:
    key: dg.AssetKey
    partition_key: str | None  # None: an unpartitioned asset
    status: str  # STALE, CONDITIONAL or REUSE
    reasons: tuple[str, ...] = ()


@dataclass
class LaunchPlan:
    """The slices a launch requests (stale, conditional, downstream of either) and why, per asset."""

    checked_assets: int
    checked_slices: int
    requested: dict[dg.AssetKey, dict[str | None, str]] = field(default_factory=dict)  # key -> slice -> why
    stale: set[tuple[dg.AssetKey, str | None]] = field(default_factory=set)
    forced: bool = False

    @property
    def empty(self) -> bool:
        return not self.requested

    def requested_slices(self) -> int:
        return sum(len(slices) for slices in self.requested.values())

    def checked_text(self) -> str:
        return f"{self.checked_assets} assets, {self.checked_slices} slices"

    def stale_summary(self, limit: int = TAG_LIMIT) -> str:
        """E.g. 'hpa_subcellular: source file hpa_subcellular: sha256 changed; ...', cut to `limit` characters."""
        first: dict[str, str] = {}
        for key, slices in self.requested.items():
            for partition, why in slices.items():
                if (key, partition) in self.stale:
                    first.setdefault(key.to_user_string(), why)
        return _cut("; ".join(f"{name}: {why}" for name, why in first.items()), limit)

    def digest(self) -> str:
        """Changes with what is requested and why: a sensor's run key, so one change launches one run."""
        return canonical_hash({k.to_user_string(): {str(p): w for p, w in s.items()}
                               for k, s in self.requested.items()})[:16]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def plan_launch(asset_graph, verdicts: list[SliceVerdict], selection: set[dg.AssetKey] | None = None,
                instance=None) -> LaunchPlan:
    """Stale and conditional slices, plus every slice in the selection that reads one of them (transitively).

    A selected asset without any verdict (not checkpointed, so nothing can be reused) is requested whole.
    """
    selection = set(selection) if selection is not None else set(asset_graph.get_all_asset_keys())
    judged = {(v.key, v.partition_key): v for v in verdicts if v.key in selection}
    plan = LaunchPlan(len({k for k, _ in judged}), len(judged))
    for verdict in judged.values():
        if verdict.status != REUSE:
            why = "; ".join(verdict.reasons) or verdict.status
            plan.requested.setdefault(verdict.key, {})[verdict.partition_key] = (
                why if verdict.status == STALE else f"conditional: {why}")
            if verdict.status == STALE:
                plan.stale.add((verdict.key, verdict.partition_key))
    for key in asset_graph.toposorted_asset_keys:
        if key not in selection:
            continue
        if not any(k == key for k, _ in judged):
            for partition in _all_partitions(asset_graph, key):
                plan.requested.setdefault(key, {})[partition] = "not checkpointed: always run"
                plan.stale.add((key, partition))
            continue
        _add_downstream(plan, asset_graph, key, instance)
    return plan


def _all_partitions(asset_graph, key) -> list[str | None]:
    partitions_def = asset_graph.get(key).partitions_def
    return list(partitions_def.get_partition_keys()) if partitions_def else [None]


def _add_downstream(plan: LaunchPlan, asset_graph, key: dg.AssetKey, instance) -> None:
    """Request each slice of `key` that reads a requested slice of a parent (parents come first in topological order)."""
    for parent in asset_graph.get(key).parent_keys:
        wanted = plan.requested.get(parent)
        if not wanted:
            continue
        for partition in _all_partitions(asset_graph, key):
            if partition in plan.requested.get(key, {}):
                continue
            mapped = upstream_partition_keys(asset_graph, key, parent, None if partition is None else [partition],
                                             instance)
            read = [None] if mapped is None else mapped
            if any(p in wanted for p in read):
                plan.requested.setdefault(key, {})[partition] = f"reads {parent.to_user_string()}, requested"


def covering_range(asset_graph, plan: LaunchPlan) -> tuple[str, str] | None:
    """The smallest contiguous partition range holding every requested partition, or None if none is partitioned.

    One run over a range (a single-run backfill) covers every partitioned asset it selects, so
    non-contiguous stale slices get the range between them; the slices inside that did not change are
    reused by the run at the cost of a checkpoint lookup. Several runs instead would race for the store
    and each recompute the unpartitioned assets downstream.
    """
    defs = {asset_graph.get(k).partitions_def for k in plan.requested if asset_graph.get(k).partitions_def}
    if not defs:
        return None
    if len(defs) > 1:
        raise dg.DagsterInvariantViolationError(
            "one run over a partition range needs one partitions definition; the requested assets have "
            f"{len(defs)}: {', '.join(sorted(k.to_user_string() for k in plan.requested))}")
    order = list(next(iter(defs)).get_partition_keys())
    wanted = {p for slices in plan.requested.values() for p in slices if p is not None}
    positions = sorted(order.index(p) for p in wanted)
    return order[positions[0]], order[positions[-1]]


def launch_result(asset_graph, plan: LaunchPlan, *, what: str, run_key: str | None, tag_prefix: str,
                  tags: dict[str, str] | None = None) -> dg.RunRequest | dg.SkipReason:
    """One RunRequest for exactly the requested assets over their covering range, or a SkipReason."""
    if plan.empty:
        return dg.SkipReason(f"nothing changed: checked {what} ({plan.checked_text()}); every fingerprint matches "
                             "an intact checkpoint, so a run would reuse everything")
    run_tags = dict(tags or {})
    span = covering_range(asset_graph, plan)
    if span is not None:
        run_tags |= {RANGE_START_TAG: span[0], RANGE_END_TAG: span[1]}
    stale_assets = {k for k, _ in plan.stale}
    run_tags[f"{tag_prefix}/stale"] = plan.stale_summary() or "(none stale: forced)"
    run_tags[f"{tag_prefix}/requested"] = _cut(
        f"{len(plan.requested)} assets ({len(stale_assets)} stale, {len(plan.requested) - len(stale_assets)} "
        f"downstream), {plan.requested_slices()} of {plan.checked_slices} slices"
        + (f", partitions {span[0]}...{span[1]}" if span else ""), TAG_LIMIT)
    keys = [k for k in asset_graph.toposorted_asset_keys if k in plan.requested]
    return dg.RunRequest(run_key=run_key, asset_selection=keys, tags=run_tags)
