"""Every stored column of the evidence, scoring and report tables has a description in the UI's column schema."""

import json

import dagster as dg
import pytest

from usher_assets.column_docs import TABLE_COLUMNS
from usher_assets.definitions import defs
from usher_assets.storage.store import PipelineStore

DESCRIBED_GROUPS = {"evidence", "scoring", "report"}
GRAPH = defs.resolve_asset_graph()
DESCRIBED = sorted(k.to_user_string() for k in GRAPH.get_all_asset_keys()
                   if GRAPH.get(k).group_name in DESCRIBED_GROUPS)


def test_column_docs_cover_every_table_of_the_described_stages():
    assert set(DESCRIBED) == set(TABLE_COLUMNS)


@pytest.mark.parametrize("asset", DESCRIBED)
def test_column_docs_definition_schema_describes_each_column(asset):
    schema = GRAPH.get(dg.AssetKey(asset)).metadata["dagster/column_schema"]
    assert [c.name for c in schema.columns] == list(TABLE_COLUMNS[asset])
    assert all(c.description and c.type == "?" for c in schema.columns)


@pytest.mark.slow
@pytest.mark.parametrize("asset", DESCRIBED)
def test_column_docs_name_exactly_the_stored_columns(golden_build, asset):
    # Against a real CLI build: a column added, renamed or dropped in a transform must be described here.
    schema = GRAPH.get(dg.AssetKey(asset)).group_name
    with PipelineStore(golden_build / "usher.duckdb") as store:
        stored = {c.partition_key: [name for name, _type in c.columns] for c in store.list_checkpoints()
                  if (c.schema_name, c.table_name) == (schema, asset)}
    assert stored and all(columns == list(TABLE_COLUMNS[asset]) for columns in stored.values()), json.dumps(stored)[:300]
