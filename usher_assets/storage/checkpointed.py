"""checkpointed_asset / checkpointed_multi_asset: dg.asset and dg.multi_asset that skip their body when unchanged.

Takes every argument of the Dagster decorator. Before any input is loaded, each output slice is fingerprinted
(asset, partition, code version, run config, what the project declares, the content of exactly the upstream
slices its partition mapping reads); when every fingerprint matches an intact checkpoint the body is not run
and the materialization is recorded as `checkpoint: reused`. Inputs are loaded by the DuckDB I/O manager only
when the body runs.
"""

import inspect
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import dagster as dg
from pydantic import Field

from usher_assets.storage.dependencies import DeclaredInputs, asset_fingerprints, stored_node
from usher_assets.storage.fingerprint import canonical_hash, decide
from usher_assets.storage.io_manager import CheckpointedOutput, DuckDBIOManager, duckdb_manager, partition_metadata
from usher_assets.storage.metadata import plain_metadata, restore_metadata
from usher_assets.storage.partitions import upstream_partition_keys
from usher_assets.storage.provenance import ProvenanceTracker
from usher_assets.storage.table_checks import TableCheck
from usher_assets.storage.type_handlers import handler_for_type

FORCE_TAG = "checkpoint/force"
OPT_IN_TAG = "checkpoint/skip_when_unchanged"
STORE_READER_TAG = "checkpoint/store_reader"  # a step that only reads through the store (table checks)
STATUS_TAG = "checkpoint"  # on each materialization: reused (body skipped) or computed


class CheckpointConfig(dg.Config):
    """Run config every checkpointed asset accepts, beside its own."""

    force: bool = Field(False, description="Recompute even if the checkpoint matches the fingerprint.")


@dataclass(frozen=True)
class CheckpointSpec:
    """What the decorator knows of one definition beyond Dagster's own arguments."""

    inputs: dict[str, dg.AssetKey]  # parameter name -> upstream key
    input_types: dict[str, Any]
    input_metadata: dict[str, dict]
    declared_inputs: Callable[[Any], DeclaredInputs] | None
    checks: tuple[TableCheck, ...]
    force_tags: tuple[str, ...]
    config_param: bool
    context_param: bool
    config_class: type


def checkpoint_spec(assets_def: dg.AssetsDefinition) -> CheckpointSpec | None:
    """The spec of a definition built by this module, None for any other."""
    return getattr(getattr(assets_def.op.compute_fn, "decorated_fn", None), "checkpoint_spec", None)


def is_forced(run_tags: dict, config: CheckpointConfig, key: dg.AssetKey, tags: tuple[str, ...]) -> bool:
    """`force: true` in run config, or a force tag = all | name[,name...]."""
    names = {key.to_user_string(), key.path[-1]}
    for tag in tags:
        value = run_tags.get(tag, "").strip()
        if value.lower() in {"all", "*", "true"} or names & {p.strip() for p in value.split(",")}:
            return True
    return config.force


def checkpointed_asset(fn: Callable | None = None, *, declared_inputs: Callable[[Any], DeclaredInputs] | None = None,
                       checks: tuple[TableCheck, ...] = (), force_tags: tuple[str, ...] = (FORCE_TAG,),
                       **asset_kwargs) -> Any:
    """`@dg.asset` (same arguments) whose body is skipped when nothing it depends on changed.

    `declared_inputs(resources)` names what else the output depends on (source files, settings); `checks`
    become asset checks of their own through `check_definitions`, which read the stored table.
    """

    def decorate(fn: Callable) -> dg.AssetsDefinition:
        resolved = _resolve(dg.asset, fn, asset_kwargs)
        spec = _spec(fn, resolved, declared_inputs, checks, force_tags)
        key = resolved.key

        def compute(context: dg.AssetExecutionContext, config):
            yield from _run(context, config, spec, [key], fn)

        return _build(dg.asset, fn, compute, spec, resolved, asset_kwargs, [key])

    return decorate(fn) if fn is not None else decorate


def checkpointed_multi_asset(fn: Callable | None = None, *,
                             declared_inputs: Callable[[Any], DeclaredInputs] | None = None,
                             force_tags: tuple[str, ...] = (FORCE_TAG,), **asset_kwargs) -> Any:
    """`@dg.multi_asset` (same arguments): the body runs when any output's fingerprint changed, else none does.

    The body returns one value per output, in `outs` order, or yields `dg.Output(value, output_name=...)`.
    """

    def decorate(fn: Callable) -> dg.AssetsDefinition:
        resolved = _resolve(dg.multi_asset, fn, asset_kwargs)
        spec = _spec(fn, resolved, declared_inputs, (), force_tags)
        # In `outs` order (AssetsDefinition.keys is a set): returned values pair with outputs by position.
        keys = [resolved.keys_by_output_name[d.name] for d in resolved.op.output_defs]

        def compute(context: dg.AssetExecutionContext, config):
            yield from _run(context, config, spec, keys, fn)

        return _build(dg.multi_asset, fn, compute, spec, resolved, asset_kwargs, keys)

    return decorate(fn) if fn is not None else decorate


def _resolve(decorator, fn: Callable, asset_kwargs: dict) -> dg.AssetsDefinition:
    # Let Dagster resolve input keys, key prefixes and mappings exactly as for a plain definition.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return decorator(**asset_kwargs)(fn)


def _spec(fn, resolved: dg.AssetsDefinition, declared_inputs, checks, force_tags) -> CheckpointSpec:
    params = inspect.signature(fn).parameters
    inputs = dict(resolved.keys_by_input_name)
    input_defs = {d.name: d for d in resolved.op.input_defs}
    config_param = "config" in params
    user_config = params["config"].annotation if config_param else None
    config_class = CheckpointConfig
    if isinstance(user_config, type) and issubclass(user_config, dg.Config) and user_config is not CheckpointConfig:
        config_class = type(user_config.__name__, (user_config, CheckpointConfig), {"__doc__": user_config.__doc__})
    return CheckpointSpec(
        inputs=inputs, input_types={n: input_defs[n].dagster_type.typing_type for n in inputs},
        input_metadata={n: dict(input_defs[n].metadata or {}) for n in inputs},
        declared_inputs=declared_inputs, checks=tuple(checks), force_tags=tuple(force_tags),
        config_param=config_param, context_param="context" in params, config_class=config_class)


def _build(decorator, fn, compute, spec: CheckpointSpec, resolved: dg.AssetsDefinition, asset_kwargs: dict,
           keys) -> dg.AssetsDefinition:
    # Inputs become deps: Dagster then loads nothing before the body, and the graph keeps its edges.
    deps = [dg.AssetDep(key, partition_mapping=resolved.get_partition_mapping(key)) if
            resolved.get_partition_mapping(key) else dg.AssetDep(key) for key in spec.inputs.values()]
    deps += list(asset_kwargs.get("deps") or [])
    kwargs = {k: v for k, v in asset_kwargs.items() if k not in ("ins", "deps", "config_schema")}
    kwargs.setdefault("description", inspect.getdoc(fn))
    kwargs.setdefault("name", fn.__name__)
    kwargs["op_tags"] = {**(kwargs.get("op_tags") or {}), OPT_IN_TAG: "true"}
    compute.__name__ = fn.__name__
    compute.__annotations__ = {"context": dg.AssetExecutionContext, "config": spec.config_class}
    compute.checkpoint_spec = spec
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return decorator(deps=deps, **kwargs)(compute)


def _io_manager(context, key: dg.AssetKey) -> DuckDBIOManager:
    return duckdb_manager(context.resources, context.assets_def.get_io_manager_key_for_asset_key(key),
                          f"{key.to_user_string()} is checkpointed")


def _all_checkpointed(job_def) -> bool:
    # A run of checkpointed steps only may keep the file open between steps; otherwise a plain body
    # must not run while this process holds DuckDB's lock.
    return all("true" in (node.definition.tags.get(OPT_IN_TAG), node.definition.tags.get(STORE_READER_TAG))
               for node in job_def.nodes)


def _run(context: dg.AssetExecutionContext, config, spec: CheckpointSpec, keys: list[dg.AssetKey], fn):
    started = time.monotonic()
    manager = _io_manager(context, keys[0])
    store = manager.store()
    graph = context.job_def.asset_layer.asset_graph
    partitioned = context.assets_def.partitions_def is not None
    partition_keys = list(map(str, context.partition_keys)) if partitioned else None
    run_config = config.model_dump(exclude={"force"})
    declared = spec.declared_inputs(context.resources) if spec.declared_inputs else DeclaredInputs()
    forced = any(is_forced(context.run.tags, config, k, spec.force_tags) for k in keys)
    if _all_checkpointed(context.job_def):
        store.hold(run_id=context.run.run_id)
    plans = {}
    with store.session(run_id=context.run.run_id):
        for key in keys:
            target = stored_node(graph, key, manager.schema_)
            fingerprints = asset_fingerprints(store, graph, key, partition_keys, run_config=run_config,
                                              declared=declared, default_schema=manager.schema_,
                                              instance=context.instance)
            refs = [target.ref.slice(k) for k in (partition_keys or [None])]
            found = store.get_checkpoints(refs)
            checkpoints = [found[r] for r in refs]
            reasons = decide(store, checkpoints, fingerprints, forced)
            plans[key] = (target, fingerprints, checkpoints, reasons)
        missing_files = [str(p) for p in declared.required_files if not p.exists()]
        last = {k: store.latest_provenance(t.ref.table, schema=t.ref.schema,
                                           partition_key=(partition_keys or [None])[-1])
                for k, (t, *_rest) in plans.items()}
    reasons = {(target.ref.label, part): why for key, (target, _, _, whys) in plans.items()
               for part, why in zip(partition_keys or [None], whys) if why}
    if missing_files:
        reasons[(", ".join(t.ref.label for t, *_rest in plans.values()), None)] = (
            f"files the body writes are missing: {', '.join(missing_files)}")
    provenance = ProvenanceTracker(run_id=context.run.run_id, code_version=context.assets_def.code_versions_by_key
                                   .get(keys[0]), **declared.provenance)
    provenance.step("decide", seconds=round(time.monotonic() - started, 4), slices=len(partition_keys or [None]),
                    recompute={f"{label}[{part}]" if part else label: why for (label, part), why in reasons.items()})
    _tally(context, [t.ref.label for t, *_rest in plans.values()], len(partition_keys or [None]), not reasons)
    if not reasons:
        for key, (target, fingerprints, checkpoints, _) in plans.items():
            yield _reused(context, key, target, fingerprints, checkpoints, partition_keys, last.get(key) or {})
        return
    by_reason: dict[tuple[str, str], list] = {}
    for (label, part), why in reasons.items():
        by_reason.setdefault((label, why), []).append(part)
    for (label, why), parts in by_reason.items():
        where = "" if parts == [None] else f" slices {', '.join(map(str, parts))}"
        context.log.info(f"{label}:{where} computing ({why})")
    results = _compute(context, config, spec, fn, manager, graph, keys, partition_keys, provenance)
    for key, (value, metadata) in results.items():
        target, fingerprints, checkpoints, whys = plans[key]
        record = provenance.to_dict() | {"asset_key": key.to_user_string(), "metadata": plain_metadata(metadata)}
        # Slices whose checkpoint still holds keep it (and its run id): only the others are rewritten.
        reused = {part: checkpoint for part, checkpoint, why in zip(partition_keys or [], checkpoints, whys)
                  if why is None and not missing_files}
        output = CheckpointedOutput(value, dict(zip(partition_keys or [None], fingerprints)), record,
                                    description=_summary(context.assets_def.descriptions_by_key.get(key)),
                                    reused=reused, files=declared.required_files)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.BetaWarning)  # data_version on Output is marked beta
            yield dg.Output(output, output_name=context.assets_def.get_output_name_for_asset_key(key),
                            metadata=metadata, data_version=_data_version(fingerprints),
                            tags={STATUS_TAG: "computed"})


# Run id -> step key -> (tables, slices, reused), for the one summary event of an in-process run.
_RUN_TALLY: dict[str, dict[str, tuple[list[str], int, bool]]] = {}
IN_PROCESS_EXECUTORS = {"in_process", "execute_in_process_executor"}


def _tally(context, labels: list[str], slices: int, reused: bool) -> None:
    """Make reuse visible in the run's events: one summary event when a run's last checkpointed step is done.

    An event costs a SQLite commit (several ms), so an in-process run gets one for the whole run instead of
    one a step; on other executors each step runs in a process of its own and says it itself.
    """
    if context.job_def.executor_def.name not in IN_PROCESS_EXECUTORS:
        if reused:
            context.log.info(f"{', '.join(labels)}: checkpoint reused ({slices} slice(s)), body not run")
        return
    tally = _RUN_TALLY.setdefault(context.run.run_id, {})
    tally[context.op_execution_context.node_handle.name] = (labels, slices, reused)
    expected = {n.name for n in context.job_def.nodes if n.definition.tags.get(OPT_IN_TAG) == "true"}
    if not expected <= set(tally):
        return
    del _RUN_TALLY[context.run.run_id]
    reused_steps = [v for v in tally.values() if v[2]]
    tables = [label for labels_, _, _ in reused_steps for label in labels_]
    computed = [label for labels_, _, done in tally.values() if not done for label in labels_]
    shown = ", ".join(tables)
    reused_part = f" ({sum(s for _, s, _ in reused_steps)} slices), bodies not run: {shown}" if tables else ""
    context.log.info(f"checkpoints: {len(tables)} of {len(tables) + len(computed)} tables reused{reused_part}"
                     + (f"; computed: {', '.join(computed)}" if computed else ""))


def _summary(description: str | None) -> str:
    """A docstring's first paragraph on one line, for listings: its first line may end mid-sentence."""
    first = (description or "").strip().split("\n\n")[0]
    return " ".join(first.split())


def _data_version(fingerprints) -> dg.DataVersion:
    value = fingerprints[0].value if len(fingerprints) == 1 else canonical_hash([f.value for f in fingerprints])
    return dg.DataVersion(value)


def _reused(context, key, target, fingerprints, checkpoints, partition_keys, last: dict) -> dg.MaterializeResult:
    """Record the materialization without a trip through handle_output; downstream reads the stored table."""
    manager = _io_manager(context, key)
    described = context.assets_def.metadata_by_key.get(key, {}).get("dagster/column_schema")
    metadata = restore_metadata(last.get("metadata", {}))
    metadata |= manager.metadata_for(target.ref, checkpoints, ["reused"] * len(checkpoints), described)
    if partition_keys and len(partition_keys) > 1:
        for checkpoint in checkpoints:
            context.add_asset_metadata(partition_metadata(checkpoint, "reused"), asset_key=key,
                                       partition_key=checkpoint.partition_key)
    return dg.MaterializeResult(asset_key=key, metadata=metadata, data_version=_data_version(fingerprints),
                                tags={STATUS_TAG: "reused"})


def _compute(context, config, spec: CheckpointSpec, fn, manager: DuckDBIOManager, graph, keys, partition_keys,
             provenance: ProvenanceTracker) -> dict:
    started = time.monotonic()
    kwargs = {}
    for name, upstream in spec.inputs.items():
        mapped = upstream_partition_keys(graph, keys[0], upstream, partition_keys, context.instance)
        target = stored_node(graph, upstream, manager.schema_)
        where = f"input {name!r} of {keys[0].to_user_string()}"
        table = manager.load_slices(target, mapped, spec.input_metadata[name].get("columns"), where)
        kwargs[name] = handler_for_type(spec.input_types[name], where).from_arrow(table)
    provenance.step("load_inputs", seconds=round(time.monotonic() - started, 4), inputs=list(kwargs))
    if spec.context_param:
        kwargs["context"] = context
    if spec.config_param:
        kwargs["config"] = config
    started = time.monotonic()
    with manager.store().unheld():  # a long body must not keep other processes from the file
        result = _outputs(context, keys, fn(**kwargs))
    provenance.step("compute", seconds=round(time.monotonic() - started, 4))
    return result


def _outputs(context, keys: list[dg.AssetKey], result) -> dict:
    """{asset key: (value, metadata)} from what the body returned or yielded."""
    if inspect.isgenerator(result):
        by_name = {}
        for item in result:
            if not isinstance(item, dg.Output):
                raise dg.DagsterInvariantViolationError(
                    f"{keys[0].to_user_string()}: a checkpointed body yields dg.Output values, got {type(item).__name__}")
            by_name[item.output_name] = (item.value, dict(item.metadata or {}))
        return {k: by_name[context.assets_def.get_output_name_for_asset_key(k)] for k in keys
                if context.assets_def.get_output_name_for_asset_key(k) in by_name}
    values = [result] if len(keys) == 1 else list(result)
    if len(values) != len(keys):
        raise dg.DagsterInvariantViolationError(
            f"{keys[0].to_user_string()}: the body returned {len(values)} values for {len(keys)} outputs "
            f"({', '.join(k.to_user_string() for k in keys)}); return one per output, in `outs` order")
    unpacked = {}
    for key, value in zip(keys, values):
        unpacked[key] = (value.value, dict(value.metadata or {})) if isinstance(value, dg.Output) else (value, {})
    return unpacked

