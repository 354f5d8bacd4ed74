"""Source assets: each publisher's file parsed strictly into a typed table, mapped onto the gene universe."""

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl

from usher_assets.assets.declare import pipeline_asset
from usher_assets.storage.table_checks import TableCheck, id_checks
from usher_assets.schemas import ENSEMBL_GENE_ID, ENTREZ_ID, GENE_SYMBOL, HGNC_ID
from usher_assets.sources.formats import SourceFormatError

SOURCE_CODE_VERSION = "1"


def _load(dotted: str):
    """The parser `module:function`, raising a dg.Failure that names file, line and column on bad input."""
    # Parsers import heavy readers (rdata, calamine); load them when an asset runs, not at start-up.
    module, _, name = dotted.partition(":")
    parser = getattr(importlib.import_module(f"usher_assets.sources.{module}"), name)

    @functools.wraps(parser)
    def parse(*args, **kwargs):
        try:
            return parser(*args, **kwargs)
        except SourceFormatError as error:
            raise source_failure(error) from None  # the message says it all; its stack is the parser's

    return parse


def source_failure(error: SourceFormatError) -> dg.Failure:
    """The step failure the UI shows first: the file, line, column and problem on one line, and as metadata.

    A plain exception would reach the run view wrapped in Dagster's "error occurred while executing",
    with the useful line below a stack trace.
    """
    metadata = {"file": dg.MetadataValue.path(str(error.path)), "problem": error.reason}
    metadata |= {"line": error.line} if error.line is not None else {}
    metadata |= {"column": error.column} if error.column is not None else {}
    return dg.Failure(description=str(error), metadata=metadata, allow_retries=False)


@dataclass(frozen=True)
class SourceTable:
    """How one source asset is built: its files, its parser and the columns that identify genes."""

    name: str
    description: str
    parser: str  # "module:function" under usher_assets.sources
    files: tuple[str, ...] = ()  # config source keys, in the parser's argument order
    symbol_column: str | None = None
    ensembl_column: str | None = None
    entrez_column: str | None = None
    empty_schema: dict | None = None  # optional sources: the table stored when not configured
    checks: tuple = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return self.files or (self.name,)

    @property
    def maps_genes(self) -> bool:
        return any((self.symbol_column, self.ensembl_column, self.entrez_column))


def attach_hgnc_ids(frame: pl.DataFrame, universe: pl.DataFrame, table: SourceTable,
                    hgnc: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    """Add a nullable hgnc_id to every row (stable IDs first, then resolved symbols) and the mapping report.

    The full HGNC table keeps a non-coding gene's symbol from passing for an alias of a coding one.
    """
    from usher_assets.sources.universe import map_to_universe

    keys = [c for c in (table.symbol_column, table.ensembl_column, table.entrez_column) if c]
    distinct = frame.select(keys).unique(maintain_order=True)
    mapped, report = map_to_universe(distinct, universe, symbol_column=table.symbol_column,
                                     ensembl_column=table.ensembl_column, entrez_column=table.entrez_column,
                                     hgnc=hgnc)
    lookup = mapped.select([*keys, HGNC_ID]).unique(subset=keys, keep="first")
    rows = frame.drop(HGNC_ID, strict=False).join(lookup, on=keys, how="left", nulls_equal=True,
                                                  maintain_order="left")
    report_metadata = {f"mapping/{k}": v for k, v in report.as_metadata().items()}
    report_metadata["mapping/rows_with_gene"] = rows.filter(pl.col(HGNC_ID).is_not_null()).height
    return rows, report_metadata


def _parse(table: SourceTable, paths: dict[str, Path | None]) -> pl.DataFrame | None:
    files = [paths[k] for k in table.keys]
    if any(f is None for f in files):
        return None
    return _load(table.parser)(*files)  # a frame, or (frame, dict of what was skipped and why)


def source_asset(table: SourceTable, *, needs_universe: bool = True):
    """Build the checkpointed asset for one SourceTable."""

    def body(hgnc, gene_universe, source_paths, pipeline):
        parsed = _parse(table, source_paths)
        if parsed is None:
            empty = pl.DataFrame(schema=(table.empty_schema or {}) | ({HGNC_ID: pl.String} if table.maps_genes else {}))
            return empty, {"configured": False, "note": f"source {', '.join(table.keys)} is not configured; "
                                                         "its evidence stays NULL"}
        frame, extra = parsed if isinstance(parsed, tuple) else (parsed, {})
        metadata = {"configured": True, "rows_kept": frame.height,
                    "releases": {k: pipeline.sources[k].release for k in table.keys}}
        metadata |= {f"parse/{k}": v for k, v in (extra or {}).items()}
        if table.maps_genes and gene_universe is not None:
            frame, report = attach_hgnc_ids(frame, gene_universe, table, hgnc)
            metadata |= report
        return frame, metadata

    if needs_universe:
        def fn(hgnc, gene_universe, source_paths, pipeline):
            return body(hgnc, gene_universe, source_paths, pipeline)
    else:
        def fn(source_paths, pipeline):
            return body(None, None, source_paths, pipeline)
    fn.__name__ = table.name
    fn.__doc__ = table.description
    return pipeline_asset(group="sources", code_version=SOURCE_CODE_VERSION, sources=table.keys,
                              checks=table.checks)(fn)


@pipeline_asset(group="sources", code_version=SOURCE_CODE_VERSION, sources=("hgnc",),
                    checks=id_checks(HGNC_ID))
def hgnc(source_paths, pipeline):
    """One row per HGNC gene record (all locus groups): IDs, symbols, aliases, previous symbols, gene groups."""
    frame = _load("hgnc:parse_hgnc")(source_paths["hgnc"])
    return frame, {"rows_kept": frame.height, "release": pipeline.sources["hgnc"].release}


@pipeline_asset(group="sources", code_version=SOURCE_CODE_VERSION,
                    checks=(*id_checks(HGNC_ID), TableCheck("unique", (GENE_SYMBOL,))))
def gene_universe(hgnc):
    """One row per HGNC approved protein-coding gene: stable IDs, chromosome, aliases and previous symbols."""
    from usher_assets.sources.universe import SymbolResolver, build_gene_universe

    universe = build_gene_universe(hgnc)
    resolver = SymbolResolver(universe)
    metadata = {
        "genes": universe.height,
        "genes_without_chromosome": universe.filter(pl.col("chromosome").is_null()).height,
        "genes_without_ensembl_id": universe.filter(pl.col(ENSEMBL_GENE_ID).is_null()).height,
    }
    metadata |= {f"resolver/{k}": v for k, v in getattr(resolver, "summary", lambda: {})().items()}
    return universe, metadata


SOURCE_TABLES = [
    SourceTable("exac_pli", "One row per gene symbol in ExAC r0.3: pLI, the probability of LoF intolerance.",
                "constraint:parse_exac_pli", symbol_column=GENE_SYMBOL,
                checks=id_checks(GENE_SYMBOL)),
    SourceTable("loftool", "One row per gene symbol: LoFtool percentile (lower = more LoF-intolerant).",
                "constraint:parse_loftool", symbol_column=GENE_SYMBOL,
                checks=id_checks(GENE_SYMBOL)),
    SourceTable("gnomad_constraint", "One row per gene in gnomAD v4.1 constraint metrics (MANE/canonical): pLI, LOEUF.",
                "constraint:parse_gnomad_constraint", symbol_column=GENE_SYMBOL, ensembl_column=ENSEMBL_GENE_ID,
                empty_schema={GENE_SYMBOL: pl.String, ENSEMBL_GENE_ID: pl.String, "pli": pl.Float64,
                              "loeuf": pl.Float64}),
    SourceTable("hpa_subcellular", "One row per gene HPA's Cell Atlas studied: reliability and main/additional locations.",
                "hpa:parse_hpa_subcellular", symbol_column=GENE_SYMBOL, ensembl_column=ENSEMBL_GENE_ID,
                checks=id_checks(ENSEMBL_GENE_ID)),
    SourceTable("hpa_normal_tissue", "One row per gene, tissue and cell type in HPA normal tissue immunohistochemistry.",
                "hpa:parse_hpa_normal_tissue", symbol_column=GENE_SYMBOL, ensembl_column=ENSEMBL_GENE_ID,
                empty_schema={ENSEMBL_GENE_ID: pl.String, GENE_SYMBOL: pl.String, "tissue": pl.String,
                              "cell_type": pl.String, "level": pl.String, "reliability": pl.String}),
    SourceTable("go_annotations", "One row per (Entrez gene, GO term, evidence code): direct GO annotations (NCBI gene2go).",
                "gene_ontology:parse_go_annotations", entrez_column=ENTREZ_ID,
                checks=id_checks(ENTREZ_ID, "go_id", "evidence")),
    SourceTable("go_gene_info", "One row per (Entrez gene, Ensembl gene) in org.Hs.eg.db: symbol, type, chromosome.",
                "gene_ontology:parse_go_gene_info", entrez_column=ENTREZ_ID),
    SourceTable("pfam_domains", "One row per (Entrez gene, Pfam domain) in org.Hs.eg.db's UniProt-derived Pfam map: "
                "the cilia model's protein-domain input.", "gene_ontology:parse_pfam_domains", entrez_column=ENTREZ_ID,
                empty_schema={ENTREZ_ID: pl.Int64, "symbol": pl.String, "ensembl_gene_ids": pl.List(pl.String),
                              "pfam_id": pl.String},
                checks=id_checks(ENTREZ_ID, "pfam_id")),
    SourceTable("tissue_expression", "One row per dataset, gene and tissue: TissueEnrich HPA and GTEx TPM and specificity.",
                "expression:parse_tissue_expression", ensembl_column=ENSEMBL_GENE_ID,
                checks=id_checks("dataset", ENSEMBL_GENE_ID, "tissue")),
    SourceTable("gtex_median_tpm", "One row per gene and tissue: GTEx v8 median TPM.",
                "expression:parse_gtex_median_tpm", ensembl_column=ENSEMBL_GENE_ID,
                empty_schema={ENSEMBL_GENE_ID: pl.String, GENE_SYMBOL: pl.String, "tissue": pl.String,
                              "tpm": pl.Float64}),
    SourceTable("ciliaminer", "One row per CiliaMiner disease-gene record: validation labels only, never evidence.",
                "ciliaminer:parse_ciliaminer", symbol_column=GENE_SYMBOL, entrez_column=ENTREZ_ID),
    SourceTable("ciliated_cell_markers", "One row per marker gene of lung ciliated and proximal ciliated cells "
                "(Travaglini 2020): average log fold change, detection rates, adjusted p-value.",
                "lung_atlas:parse_ciliated_cell_markers", symbol_column=GENE_SYMBOL),
    SourceTable("centrosome_cilium_screen", "One row per BioID interactor in Gupta 2015's siRNA screens: "
                "screened, hit flags.", "interactomes:parse_screen_hits", files=("centrosome_cilium_screen",),
                symbol_column=GENE_SYMBOL, entrez_column=ENTREZ_ID),
]

GENELESS_TABLES = [
    SourceTable("go_terms", "One row per current GO term: id, name, ontology, definition.", "gene_ontology:parse_go_terms",
                checks=id_checks("go_id")),
    SourceTable("go_parents", "One row per GO child -> parent edge, with its relationship type.",
                "gene_ontology:parse_go_parents"),
]

source_assets = [hgnc, gene_universe]
source_assets += [source_asset(t) for t in SOURCE_TABLES]
source_assets += [source_asset(t, needs_universe=False) for t in GENELESS_TABLES]
