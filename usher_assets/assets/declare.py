"""The pipeline's side of the checkpointing integration: chromosome partitions, owners, and what an asset reads.

`pipeline_asset` turns a plain transform into a `checkpointed_asset`: its parameters name upstream assets
(plus optional `config`, `pipeline`, `source_paths`, `context`); it declares the source files and config
sections it reads, which become fingerprint parts; it returns a frame or (frame, metadata).
"""

import inspect
import warnings
from typing import Callable

import dagster as dg

from usher_assets import __version__
from usher_assets.config import PipelineConfig
from usher_assets.schemas import CHROMOSOME, CHROMOSOMES
from usher_assets.sources.resolve import checked_sha256, resolve_source, unavailable_reason
from usher_assets.storage import CheckpointConfig, DeclaredInputs, TableCheck, checkpointed_asset

CHROMOSOME_PARTITIONS = dg.StaticPartitionsDefinition(CHROMOSOMES)
# Who to ask about a stage, shown in the UI; an asset may name its own owners instead.
GROUP_OWNERS = {"sources": ["team:data-engineering"], "evidence": ["team:computational-biology"],
                "scoring": ["team:computational-biology"], "report": ["team:computational-biology"]}
FORCE_TAG = "usher/force"
SPECIAL_PARAMETERS = ("context", "config", "pipeline", "source_paths")


def pipeline_provenance(pipeline: PipelineConfig) -> dict:
    """The ProvenanceTracker fields every output of this pipeline carries."""
    return {"pipeline": "usher_assets", "pipeline_version": __version__, "config_hash": pipeline.config_hash(),
            "source_releases": pipeline.source_releases()}


def declared_inputs(sources: tuple[str, ...], config_sections: tuple[str, ...], outputs: Callable | None):
    """The fingerprint parts for the source files (release and sha256) and config sections an asset reads.

    `resources.pipeline.offline` (set by `checkpoints explain` and launch-time decisions) reports a source that
    would need a download instead of fetching it.
    """

    def declare(resources) -> DeclaredInputs:
        pipeline: PipelineConfig = resources.pipeline.config
        offline = getattr(resources.pipeline, "offline", False)
        store = resources.io_manager.store()
        parts: dict[str, object] = {}
        for key in sources:
            why = unavailable_reason(store, pipeline, key) if offline else None
            if why is not None:
                parts[f"source:{key}"] = {"unavailable": why}
                continue
            path = resolve_source(pipeline, key)
            parts[f"source:{key}"] = "not configured" if path is None else {
                "release": pipeline.sources[key].release,
                "sha256": checked_sha256(store, key, pipeline.sources[key], path)}
        parts |= {f"config:{section}": pipeline.section_hash(section) for section in config_sections}
        # Releases travel downstream even when the parsed content is byte-identical.
        lineage = {key: pipeline.sources[key].release for key in sources if pipeline.sources.get(key)}
        return DeclaredInputs(
            parts=parts, lineage=lineage, required_files=tuple(outputs(pipeline)) if outputs else (),
            provenance=pipeline_provenance(pipeline))

    return declare


def described_columns(columns: dict[str, str]) -> dg.TableSchema:
    """The definition's column schema: descriptions only. The type "?" stands until the first
    materialization, whose schema (io_manager.column_schema) has the DuckDB types and these descriptions."""
    return dg.TableSchema(columns=[dg.TableColumn(name, type="?", description=text) for name, text in columns.items()])


def pipeline_asset(*, group: str, code_version: str, sources: tuple[str, ...] = (),
                   config_sections: tuple[str, ...] = (), partitioned: bool = False,
                   config_class: type[CheckpointConfig] = CheckpointConfig,
                   kinds: tuple[str, ...] = ("polars", "duckdb"), owners: list[str] | None = None,
                   upstream: tuple[str, ...] | None = None, outputs: Callable | None = None,
                   checks: tuple[TableCheck, ...] = (),
                   columns: dict[str, str] | None = None) -> Callable[[Callable], dg.AssetsDefinition]:
    """A checkpointed asset in schema `group`, partitioned by chromosome when `partitioned`.

    Upstream assets are the function's parameters, or `upstream` (passed as keyword arguments) when
    the set is only known at definition time. `outputs(pipeline)` lists files the body writes.
    `checks` become asset checks of their own (storage.check_definitions); `columns` (name -> description)
    is the column schema the UI shows, with the stored types filled in by each materialization.
    """

    def decorate(fn: Callable) -> dg.AssetsDefinition:
        params = list(inspect.signature(fn).parameters)
        names = tuple(upstream) if upstream is not None else tuple(p for p in params if p not in SPECIAL_PARAMETERS)

        def body(context: dg.AssetExecutionContext, config, **inputs):
            pipeline = context.resources.pipeline.config
            specials = {"context": context, "config": config, "pipeline": pipeline,
                        "source_paths": {k: resolve_source(pipeline, k) for k in sources}}
            result = fn(**inputs, **{p: specials[p] for p in params if p in specials})
            frame, metadata = result if isinstance(result, tuple) else (result, {})
            if partitioned:
                # Layers are computed genome-wide (ranks need every gene); the run stores the chromosomes
                # it was asked for. A gene with no chromosome is in no partition (its evidence stays NULL).
                frame = frame.filter(frame[CHROMOSOME].is_in(list(context.partition_keys)))
            return dg.Output(frame, metadata=metadata)

        body.__name__ = fn.__name__
        body.__annotations__ = {"context": dg.AssetExecutionContext, "config": config_class}
        metadata = {"schema": group, "sources_read": list(sources), "config_sections_read": list(config_sections)}
        if partitioned:
            metadata["partition_expr"] = CHROMOSOME
        if columns:
            metadata["dagster/column_schema"] = described_columns(columns)
        with warnings.catch_warnings():
            # backfill_policy is marked beta; the CLI's --partition-range depends on it all the same.
            warnings.simplefilter("ignore", dg.BetaWarning)
            return checkpointed_asset(
                body, declared_inputs=declared_inputs(tuple(sources), tuple(config_sections), outputs),
                checks=tuple(checks), force_tags=(FORCE_TAG, "checkpoint/force"),
                name=fn.__name__, ins={n: dg.AssetIn(key=n) for n in names}, group_name=group,
                code_version=code_version, partitions_def=CHROMOSOME_PARTITIONS if partitioned else None,
                backfill_policy=dg.BackfillPolicy.single_run(), kinds=set(kinds),
                owners=owners if owners is not None else GROUP_OWNERS.get(group),
                description=inspect.getdoc(fn), required_resource_keys={"pipeline"}, metadata=metadata)

    return decorate
