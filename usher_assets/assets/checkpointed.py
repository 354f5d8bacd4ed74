"""checkpointed_asset: a Dagster asset that decides from fingerprints, before loading any input, whether to run.

The wrapped function is a plain transform: its parameters name upstream assets (loaded as polars
frames only when the body runs) plus optional `config`, `pipeline`, `source_paths` and `context`.
"""

import inspect
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Callable

import dagster as dg
import polars as pl
from pydantic import Field

from usher_assets.checks import TableCheck, run_check
from usher_assets.progress import LoggedProgress
from usher_assets.assets.fingerprints import FingerprintInputs, decide, slice_fingerprint
from usher_assets.schemas import CHROMOSOME, CHROMOSOMES
from usher_assets.storage.io_manager import AssetOutcome, SliceOutcome
from usher_assets.storage.provenance import ProvenanceTracker
from usher_assets.storage.sql import TableRef

CHROMOSOME_PARTITIONS = dg.StaticPartitionsDefinition(CHROMOSOMES)
# Who to ask about a stage, shown in the UI; an asset may name its own owners instead.
GROUP_OWNERS = {"sources": ["team:data-engineering"], "evidence": ["team:computational-biology"],
                "scoring": ["team:computational-biology"], "report": ["team:computational-biology"]}
FORCE_TAG = "usher/force"
SPECIAL_PARAMETERS = ("context", "config", "pipeline", "source_paths")


class CheckpointConfig(dg.Config):
    """Run config every checkpointed asset accepts."""

    force: bool = Field(False, description="Recompute even if the checkpoint matches the fingerprint.")


@dataclass(frozen=True)
class CheckpointedSpec:
    name: str
    group: str
    code_version: str
    upstream: tuple[str, ...]
    sources: tuple[str, ...]
    config_sections: tuple[str, ...]
    partitioned: bool
    outputs: Callable | None = None  # pipeline config -> files the body writes besides its table
    checks: tuple[TableCheck, ...] = ()
    config_class: type = CheckpointConfig

    @property
    def ref(self) -> TableRef:
        return TableRef(self.group, self.name)


# Asset name -> spec, filled as asset modules are imported; upstream assets are declared first.
SPECS: dict[str, CheckpointedSpec] = {}


def is_forced(context: dg.AssetExecutionContext, config: CheckpointConfig, name: str) -> bool:
    """`force: true` in the asset's run config, or the run tag usher/force = all | name[,name...]."""
    tag = context.run.tags.get(FORCE_TAG, "").strip()
    named = {part.strip() for part in tag.split(",") if part.strip()}
    return config.force or tag.lower() in {"all", "*", "true"} or name in named


def _partition_keys(context: dg.AssetExecutionContext, spec: CheckpointedSpec) -> list[str | None]:
    # In a single-run range an unpartitioned asset still reports a range: ask the definition.
    if not spec.partitioned:
        return [None]
    return list(context.partition_keys)


def checkpointed_asset(*, group: str, code_version: str, sources: tuple[str, ...] = (),
                       config_sections: tuple[str, ...] = (), partitioned: bool = False,
                       config_class: type[CheckpointConfig] = CheckpointConfig,
                       kinds: tuple[str, ...] = ("polars", "duckdb"), owners: list[str] | None = None,
                       upstream: tuple[str, ...] | None = None, outputs: Callable | None = None,
                       checks: tuple[TableCheck, ...] = (),
                       ) -> Callable[[Callable], dg.AssetsDefinition]:
    """Turn a transform into an asset stored by DuckDBIOManager that skips itself when unchanged.

    Upstream assets are the function's parameters, or `upstream` (passed as keyword arguments)
    when the set is only known at definition time. `outputs(pipeline)` lists exported files:
    a missing one makes the asset run again. `checks` run on the stored table after every
    materialization, reused or not, and show in the UI as asset checks.
    """

    def decorate(fn: Callable) -> dg.AssetsDefinition:
        params = list(inspect.signature(fn).parameters)
        names = tuple(upstream) if upstream is not None else tuple(p for p in params if p not in SPECIAL_PARAMETERS)
        missing = [u for u in names if u not in SPECS]
        if missing:
            raise dg.DagsterInvalidDefinitionError(
                f"{fn.__name__}: parameters {missing} name no checkpointed asset defined before it")
        spec = CheckpointedSpec(fn.__name__, group, code_version, names, tuple(sources),
                                tuple(config_sections), partitioned, outputs, tuple(checks), config_class)
        SPECS[spec.name] = spec
        deps = [dg.AssetDep(u, partition_mapping=dg.AllPartitionMapping()) if SPECS[u].partitioned
                else dg.AssetDep(u) for u in names]

        def compute(context: dg.AssetExecutionContext, config):
            yield _run(context, config, spec, fn, params)
            yield from _check_results(context, spec)

        compute.__annotations__ = {"context": dg.AssetExecutionContext, "config": config_class}
        with warnings.catch_warnings():
            # backfill_policy is marked beta; the CLI's --partition-range depends on it all the same.
            warnings.simplefilter("ignore", dg.BetaWarning)
            return dg.asset(
                name=spec.name, group_name=group, code_version=code_version, deps=deps,
                partitions_def=CHROMOSOME_PARTITIONS if partitioned else None,
                backfill_policy=dg.BackfillPolicy.single_run(), kinds=set(kinds),
                owners=owners if owners is not None else GROUP_OWNERS.get(group),
                description=inspect.getdoc(fn), required_resource_keys={"pipeline"},
                check_specs=[dg.AssetCheckSpec(c.name, asset=spec.name, description=c.description) for c in checks],
                metadata={"dagster/table_name": f"{group}.{spec.name}", "sources_read": list(sources),
                          "config_sections_read": list(config_sections)},
            )(compute)

    return decorate


def _run(context: dg.AssetExecutionContext, config: CheckpointConfig, spec: CheckpointedSpec,
         fn: Callable, params: list[str]) -> dg.Output | dg.MaterializeResult:
    pipeline = context.resources.pipeline.config
    io_manager = context.resources.io_manager
    store = io_manager.store()
    started = time.monotonic()
    keys = _partition_keys(context, spec)
    provenance = ProvenanceTracker.from_config(pipeline, run_id=context.run_id, asset_key=spec.name,
                                               code_version=spec.code_version)
    forced = is_forced(context, config, spec.name)
    missing_files = [str(p) for p in (spec.outputs(pipeline) if spec.outputs else []) if not p.exists()]
    slices, reasons = [], {}
    with store.session():
        inputs = FingerprintInputs.gather(store, pipeline, spec, SPECS, config.model_dump(exclude={"force"}))
        existing = store.get_checkpoints([spec.ref.slice(k) for k in keys])
        checkpoints = [existing[spec.ref.slice(k)] for k in keys]
        fingerprints = [slice_fingerprint(spec, key, inputs) for key in keys]
        decisions = decide(store, checkpoints, fingerprints, forced)
        for key, checkpoint, fingerprint, reason in zip(keys, checkpoints, fingerprints, decisions):
            if reason is None and missing_files:
                reason = f"exported files missing: {missing_files}"
            slices.append(SliceOutcome(key, fingerprint.value, fingerprint.parts, checkpoint=checkpoint))
            if reason is not None:
                reasons[key] = reason
        last = None if reasons else store.latest_provenance(spec.name, schema=spec.group, partition_key=keys[-1])
    _log_decisions(context, spec, keys, reasons)
    provenance.step("decide", seconds=round(time.monotonic() - started, 4), slices=len(keys),
                    recompute={str(k): r for k, r in reasons.items()})
    if reasons:
        frame, domain_metadata = _compute(context, spec, fn, params, pipeline, config, inputs,
                                          io_manager, provenance)
        for piece in slices:
            if piece.partition_key in reasons:
                piece.checkpoint = None
                piece.frame = frame if piece.partition_key is None else frame.filter(
                    pl.col(CHROMOSOME) == piece.partition_key)
    else:
        domain_metadata = restore_metadata((last or {}).get("metadata", {}))
    outcome = AssetOutcome(slices, provenance.to_dict() | {"metadata": plain_metadata(domain_metadata)},
                           description=(inspect.getdoc(fn) or "").split("\n")[0])
    data_version = dg.DataVersion(slices[0].fingerprint) if len(slices) == 1 else None
    if not reasons:
        # Nothing to write: record the materialization without a trip through handle_output (two
        # events a step). The metadata is the I/O manager's own; downstream reads the stored table.
        metadata = domain_metadata | io_manager.metadata_for(spec.ref, outcome)
        return dg.MaterializeResult(metadata=metadata, data_version=data_version)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # data_version on Output is marked beta
        return dg.Output(outcome, metadata=domain_metadata, data_version=data_version)


def _check_results(context, spec: CheckpointedSpec):
    """Run the table checks against what is now stored (the table was handled when the output was yielded)."""
    store = context.resources.io_manager.store()
    with store.session():
        for check in spec.checks:
            passed, finding, metadata = run_check(store, spec.ref, check)
            yield dg.AssetCheckResult(check_name=check.name, passed=passed,
                                      metadata={"finding": finding, **metadata})


def _log_decisions(context, spec: CheckpointedSpec, keys: list, reasons: dict) -> None:
    if not reasons:
        # Plain stderr, not an event: the materialization's `checkpoint: reused` already records it,
        # and a log event costs ~10 ms a step, which a fully reused run would pay for every asset.
        print(f"{spec.ref.label}: checkpoint reused ({len(keys)} slice(s)), body not run", file=sys.stderr)
        return
    by_reason: dict[str, list] = {}
    for key, reason in reasons.items():
        by_reason.setdefault(reason, []).append(key)
    for reason, slice_keys in by_reason.items():
        where = "" if slice_keys == [None] else f" slices {', '.join(map(str, slice_keys))}"
        context.log.info(f"{spec.ref.label}:{where} computing ({reason})")


def plain_metadata(metadata: dict) -> dict:
    """Metadata as JSON for the provenance record; Markdown and JSON values keep their kind."""
    plain = {}
    for key, value in metadata.items():
        if isinstance(value, dg.MetadataValue):
            kind = "md" if isinstance(value, dg.MarkdownMetadataValue) else "json"
            plain[key] = {"__metadata_kind__": kind, "value": value.value}
        else:
            plain[key] = value
    return plain


def restore_metadata(plain: dict) -> dict:
    """What plain_metadata wrote, back as metadata: a reused asset shows its last figures again."""
    restored = {}
    for key, value in plain.items():
        if isinstance(value, dict) and "__metadata_kind__" in value:
            kind = value["__metadata_kind__"]
            restored[key] = dg.MetadataValue.md(value["value"]) if kind == "md" else dg.MetadataValue.json(value["value"])
        else:
            restored[key] = value
    return restored


def _compute(context, spec: CheckpointedSpec, fn: Callable, params: list[str], pipeline, config,
             inputs: "FingerprintInputs", io_manager, provenance: ProvenanceTracker) -> tuple[pl.DataFrame, dict]:
    started = time.monotonic()
    kwargs = {}
    loading = LoggedProgress(context.log, f"{spec.name}: loading inputs", len(spec.upstream), unit="tables")
    for name in spec.upstream:
        inputs.require_complete(name)
        kwargs[name] = io_manager.load_table(SPECS[name].ref)
        loading.advance()
    if spec.upstream:
        loading.finish()
    provenance.step("load_inputs", seconds=round(time.monotonic() - started, 4),
                    rows={n: kwargs[n].height for n in spec.upstream})
    specials = {"context": context, "config": config, "pipeline": pipeline,
                "source_paths": inputs.source_paths}
    kwargs |= {p: specials[p] for p in params if p in specials}
    started = time.monotonic()
    with io_manager.store().unheld():  # a long body must not keep other processes from the file
        result = fn(**kwargs)
    frame, metadata = result if isinstance(result, tuple) else (result, {})
    if not isinstance(frame, pl.DataFrame):
        raise dg.DagsterInvariantViolationError(
            f"{spec.name} returned {type(frame).__name__}; checkpointed assets return a polars DataFrame")
    if spec.partitioned and CHROMOSOME not in frame.columns:
        raise dg.DagsterInvariantViolationError(
            f"{spec.name} is partitioned by chromosome but its frame has no {CHROMOSOME!r} column")
    elapsed = time.monotonic() - started
    provenance.step("compute", seconds=round(elapsed, 4), rows=frame.height)
    context.log.info(f"{spec.name}: computed {frame.height:,} rows in {elapsed:.2f} s")
    return frame, metadata
