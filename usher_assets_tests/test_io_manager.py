"""DuckDBIOManager with plain Dagster assets: where tables go, what is loaded, and the metadata recorded."""

import dagster as dg
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

from usher_assets.storage import PipelineStore, TableRef
from usher_assets.storage.dependencies import StoredAsset, stored_asset
from usher_assets.storage.io_manager import DuckDBIOManager, summarize

GENES = pl.DataFrame({"hgnc_id": ["HGNC:7606", "HGNC:12601", "HGNC:2200"],
                      "gene_symbol": ["MYO7A", "USH2A", "CDH23"], "chromosome": ["11", "1", "10"]})
SEEN: dict[str, object] = {}  # what downstream assets were handed


@dg.asset(group_name="sources", metadata={"schema": "sources"})
def io_genes() -> pl.DataFrame:
    """One row per test gene."""
    return GENES


@dg.asset(key_prefix=["evidence"], ins={"io_genes": dg.AssetIn(key="io_genes")})
def io_symbols(io_genes: pl.DataFrame) -> pl.DataFrame:
    """One row per gene symbol."""
    SEEN["polars"] = io_genes
    return io_genes.select("gene_symbol").sort("gene_symbol")


@dg.asset
def io_counts(io_genes: pd.DataFrame) -> pd.DataFrame:
    """One row: the number of genes, computed in pandas."""
    SEEN["pandas"] = io_genes
    return pd.DataFrame({"genes": [len(io_genes)]})


@dg.asset(partitions_def=dg.StaticPartitionsDefinition(["1", "10", "11"]), metadata={"partition_expr": "chromosome"})
def io_by_chromosome(context: dg.AssetExecutionContext) -> pl.DataFrame:
    """One row per gene of one chromosome."""
    return GENES.filter(pl.col("chromosome") == context.partition_key)


@dg.asset(partitions_def=dg.StaticPartitionsDefinition(["1", "10", "11"]), metadata={"partition_expr": "chromosome"})
def io_chromosome_copy(io_by_chromosome: pl.DataFrame) -> pl.DataFrame:
    """One row per gene of one chromosome, read back from its slice."""
    SEEN["slice"] = io_by_chromosome
    return io_by_chromosome


@pytest.fixture
def io_manager(manager_config) -> DuckDBIOManager:
    return DuckDBIOManager(**manager_config)


@pytest.mark.parametrize("key,metadata,manager_schema,expected", [
    (dg.AssetKey("gene_universe"), {"schema": "sources"}, "other", TableRef("sources", "gene_universe")),
    (dg.AssetKey(["evidence", "constraint_evidence"]), None, "other", TableRef("other", "constraint_evidence")),
    (dg.AssetKey(["evidence", "constraint_evidence"]), None, None, TableRef("evidence", "constraint_evidence")),
    (dg.AssetKey("ranked"), {}, None, TableRef("public", "ranked")),
], ids=["metadata-schema-first", "then-manager-schema", "then-key-prefix", "default-public"])
def test_table_ref_follows_dagster_duckdb_precedence(key, metadata, manager_schema, expected):
    assert stored_asset(key, metadata, None, manager_schema).ref == expected


@pytest.mark.parametrize("statuses,expected", [
    (["reused"], "reused"),
    (["written", "written"], "written"),
    (["written", "unchanged", "unchanged"], "mixed: 1 written, 2 unchanged"),
])
def test_summarize_statuses(statuses, expected):
    assert summarize(statuses) == expected


def test_plain_assets_are_stored_and_loaded_by_type(io_manager, store):
    result = dg.materialize([io_genes, io_symbols, io_counts], resources={"io_manager": io_manager})
    assert_frame_equal(store.load_dataframe("io_genes", schema="sources"), GENES)
    assert store.load_dataframe("io_symbols", schema="evidence")["gene_symbol"].to_list() == ["CDH23", "MYO7A", "USH2A"]
    assert store.load_dataframe("io_counts", schema="public").to_dicts() == [{"genes": 3}]
    assert_frame_equal(SEEN["polars"], GENES)
    assert isinstance(SEEN["pandas"], pd.DataFrame)
    assert list(SEEN["pandas"]["gene_symbol"]) == GENES["gene_symbol"].to_list()

    metadata = result.asset_materializations_for_node("io_genes")[0].metadata
    assert metadata["dagster/table_name"].value == "sources.io_genes"
    assert metadata["dagster/row_count"].value == 3
    assert [c.name for c in metadata["dagster/column_schema"].schema.columns] == GENES.columns
    assert metadata["checkpoint"].value == "written"

    provenance = store.latest_provenance("io_symbols", schema="evidence")
    assert (provenance["run_id"], provenance["asset_key"], provenance["row_count"]) == (
        result.run_id, "evidence/io_symbols", 3)
    assert store.get_checkpoint("io_symbols", schema="evidence").run_id == result.run_id


def test_plain_assets_materialized_twice_replace_their_tables(io_manager, store):
    first = dg.materialize([io_genes, io_symbols], resources={"io_manager": io_manager})
    second = dg.materialize([io_genes, io_symbols], resources={"io_manager": io_manager})
    assert_frame_equal(store.load_dataframe("io_genes", schema="sources"), GENES)
    [checkpoint] = store.list_checkpoints(schema="sources")
    assert checkpoint.run_id == second.run_id != first.run_id
    runs = store.execute_query("SELECT run_id FROM _provenance WHERE table_name = 'io_genes' ORDER BY created_at")
    assert runs["run_id"].to_list() == [first.run_id, second.run_id]


def test_plain_partitioned_asset_writes_and_reads_its_slice(io_manager, store):
    for key in ("11", "1"):
        dg.materialize([io_by_chromosome, io_chromosome_copy], partition_key=key, resources={"io_manager": io_manager})
        assert_frame_equal(SEEN["slice"], GENES.filter(chromosome=key))
    assert [c.partition_key for c in store.list_checkpoints(table_name="io_by_chromosome")] == ["1", "11"]
    assert store.load_dataframe("io_by_chromosome", schema="public").sort("gene_symbol")["gene_symbol"].to_list() == ["MYO7A", "USH2A"]


@pytest.mark.parametrize("as_type,kind", [(pl.DataFrame, pl.DataFrame), (pd.DataFrame, pd.DataFrame),
                                          (pa.Table, pa.Table)], ids=["polars", "pandas", "arrow"])
def test_store_load_returns_requested_type(db_path, as_type, kind):
    store = PipelineStore(db_path)
    store.save_dataframe(GENES, "genes", schema="sources")
    loaded = store.load_dataframe("genes", schema="sources", as_type=as_type)
    assert isinstance(loaded, kind) and len(loaded) == 3


def test_store_load_dataframe_without_polars_is_pandas(db_path):
    store = PipelineStore(db_path)
    store.save_dataframe(GENES, "genes", schema="sources")
    assert isinstance(store.load_dataframe("genes", as_polars=False, schema="sources"), pd.DataFrame)


def test_load_of_missing_table_says_what_to_do(io_manager, store):
    target = StoredAsset(dg.AssetKey(["sources", "gene_universe"]), TableRef("sources", "gene_universe"),
                         dg.StaticPartitionsDefinition(["X"]), "chromosome")
    with pytest.raises(dg.DagsterInvariantViolationError) as caught:
        io_manager.load_slices(target, ["X"], None, "input 'gene_universe' of scores")
    message = str(caught.value)
    assert str(store.db_path) in message and "sources.gene_universe" in message and "materialize" in message
