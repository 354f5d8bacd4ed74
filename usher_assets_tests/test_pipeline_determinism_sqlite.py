"""Two clean runs of the whole pipeline through the CLI, on the default SQLite instance storage, give
identical tables and outputs: the session's golden build on the DuckDB backend and its clean build on Delta."""

import json
import re

import dagster as dg
import polars as pl
import pytest

from usher_assets.config import PipelineConfig

pytestmark = pytest.mark.slow
EXPORTS = ["candidates.tsv", "candidates.parquet", "validation.json", "report.html"]


def content_hashes(directory) -> dict[str, str]:
    with PipelineConfig.load(directory / "usher.yaml").open_store() as store:
        return {f"{c.schema_name}.{c.table_name}[{c.partition_key or ''}]": c.content_hash
                for c in store.list_checkpoints()}


def test_both_builds_ran_on_sqlite_instance_storage(golden_build, golden_delta_build):
    for directory in (golden_build, golden_delta_build):
        with dg.DagsterInstance.from_config(str(directory / "dagster_home")) as instance:
            assert type(instance.run_storage).__name__ == "SqliteRunStorage"
            assert type(instance.event_log_storage).__name__ in {"SqliteEventLogStorage",
                                                                 "ConsolidatedSqliteEventLogStorage"}
            runs = instance.get_runs()
            assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS]


def test_two_clean_runs_store_identical_tables(golden_build, golden_delta_build):
    first, second = content_hashes(golden_build), content_hashes(golden_delta_build)
    assert len(first) > 150  # every table and every evidence slice
    assert {k: (v, second.get(k)) for k, v in first.items() if second.get(k) != v} == {}
    assert set(second) == set(first)


def test_two_clean_runs_export_identical_files(golden_build, golden_delta_build):
    first, second = golden_build / "outputs", golden_delta_build / "outputs"
    assert (first / "candidates.tsv").read_bytes() == (second / "candidates.tsv").read_bytes()
    assert pl.read_parquet(first / "candidates.parquet").equals(pl.read_parquet(second / "candidates.parquet"))
    assert json.loads((first / "validation.json").read_text()) == json.loads((second / "validation.json").read_text())
    # The report says when it was generated; everything else on the page is the same bytes.
    assert _without_generated_at(first / "report.html") == _without_generated_at(second / "report.html")


def _without_generated_at(path) -> str:
    page = path.read_text(encoding="utf-8")
    stripped, count = re.subn(r"<tr><th scope='row'>Generated</th><td class='text'>[^<]*</td></tr>", "", page)
    assert count == 1, f"{path}: no 'Generated' row to set aside"
    return stripped
