"""ProvenanceTracker: what it records, its sidecar round trip, and its rows in the store."""

import json
from datetime import datetime, timedelta, timezone
from importlib import metadata

import polars as pl
import pytest

from usher_assets import __version__
from usher_assets.assets.declare import pipeline_provenance
from usher_assets.storage import ProvenanceTracker, StoreError, TableRef
from usher_assets.storage.provenance import TRACKED_LIBRARIES

GENES = pl.DataFrame({"hgnc_id": ["HGNC:7606", "HGNC:12601"], "gene_symbol": ["MYO7A", "USH2A"]})


@pytest.fixture
def tracker(pipeline_config) -> ProvenanceTracker:
    tracker = ProvenanceTracker(run_id="run-42", asset_key="gene_universe", code_version="3",
                                **pipeline_provenance(pipeline_config))
    tracker.step("parse", rows=19_290)
    tracker.step("filter", kept="protein-coding")
    return tracker


def test_tracker_records_versions_config_and_sources(tracker, pipeline_config):
    record = tracker.to_dict()
    assert record["pipeline"] == "usher_assets"
    assert record["pipeline_version"] == __version__
    assert record["config_hash"] == pipeline_config.config_hash()
    assert len(record["config_hash"]) == 64
    assert record["source_releases"]["hgnc"] == "2024-10-18"  # default_config.yaml, SOURCES.md
    assert record["source_releases"]["gnomad_constraint"] is None  # not configured
    assert (record["run_id"], record["asset_key"], record["code_version"]) == ("run-42", "gene_universe", "3")


def test_tracker_records_library_versions(tracker):
    versions = tracker.to_dict()["library_versions"]
    assert set(versions) == {"dagster", "duckdb", "polars", "pyarrow"} == set(TRACKED_LIBRARIES)
    assert versions == {name: metadata.version(name) for name in TRACKED_LIBRARIES}
    assert versions["dagster"] == "1.13.27"


def test_tracker_steps_have_utc_timestamps(tracker):
    steps = tracker.to_dict()["steps"]
    assert [(s["step"], s["details"]) for s in steps] == [("parse", {"rows": 19_290}),
                                                         ("filter", {"kept": "protein-coding"})]
    for step in steps:
        at = datetime.fromisoformat(step["at"])
        assert at.utcoffset() == timedelta(0)
        assert abs(datetime.now(timezone.utc) - at) < timedelta(minutes=1)
    assert steps[0]["at"] <= steps[1]["at"]


def test_sidecar_round_trip(tracker, tmp_path):
    exported = tmp_path / "ranked_candidates.parquet"
    exported.write_bytes(b"PAR1")
    target = tracker.save_sidecar(exported, row_count=2, table="report.ranked_candidates")
    assert target == tmp_path / "ranked_candidates.parquet.provenance.json"
    loaded = ProvenanceTracker.load_sidecar(exported)
    assert loaded == ProvenanceTracker.load_sidecar(target)
    expected = tracker.to_dict() | {"file": "ranked_candidates.parquet", "row_count": 2,
                                    "table": "report.ranked_candidates"}
    assert {k: v for k, v in loaded.items() if k != "recorded_at"} == {
        k: v for k, v in expected.items() if k != "recorded_at"}
    assert datetime.fromisoformat(loaded["recorded_at"]).utcoffset() == timedelta(0)
    assert not list(tmp_path.glob("*.tmp"))


def test_save_to_store_appends_latest_record(tracker, store, pipeline_config):
    store.save_dataframe(GENES, "gene_universe", schema="sources", provenance={"run_id": "run-1"})
    tracker.save_to_store(store, "gene_universe", schema="sources")
    latest = store.latest_provenance("gene_universe", schema="sources")
    assert latest["run_id"] == "run-42"
    assert [s["step"] for s in latest["steps"]] == ["parse", "filter"]
    assert latest["row_count"] == 2
    assert latest["content_hash"] == store.get_checkpoint("gene_universe", schema="sources").content_hash
    rows = store.execute_query("SELECT * FROM _provenance WHERE table_name = 'gene_universe' ORDER BY created_at")
    assert rows["run_id"].to_list() == ["run-1", "run-42"]
    attached = rows.row(1, named=True)
    assert (attached["schema_name"], attached["asset_key"], attached["code_version"]) == (
        "sources", "gene_universe", "3")
    assert (attached["config_hash"], attached["pipeline_version"]) == (pipeline_config.config_hash(), __version__)
    assert json.loads(attached["source_releases"])["hgnc"] == "2024-10-18"
    assert json.loads(attached["library_versions"])["duckdb"] == metadata.version("duckdb")


def test_save_to_store_needs_a_checkpoint(tracker, store):
    with pytest.raises(StoreError, match="no checkpoint"):
        tracker.save_to_store(store, "never_saved")


def test_save_dataframe_writes_provenance_with_table(tracker, store):
    checkpoint = store.save_dataframe(GENES, "gene_universe", provenance=tracker.to_dict(), fingerprint="f1")
    latest = store.latest_provenance("gene_universe")
    assert (latest["run_id"], latest["table"], latest["row_count"], latest["content_hash"]) == (
        "run-42", "main.gene_universe", 2, checkpoint.content_hash)
    assert store.execute_query("SELECT fingerprint FROM _provenance")["fingerprint"].to_list() == ["f1"]


def test_export_parquet_sidecar_is_the_tables_own_record(tracker, store, tmp_path):
    checkpoint = store.save_dataframe(GENES, "gene_universe", schema="sources", provenance=tracker.to_dict(),
                                      fingerprint="f1", run_id="run-42")
    exported = store.export_parquet("gene_universe", tmp_path / "exports" / "genes.parquet", schema="sources")
    sidecar = ProvenanceTracker.load_sidecar(exported)
    assert pl.read_parquet(exported).equals(GENES)
    assert sidecar == json.loads(json.dumps(store.table_record(TableRef("sources", "gene_universe")) | {
        "file": "genes.parquet"}, default=str))
    assert (sidecar["run_id"], sidecar["asset_key"], sidecar["code_version"]) == ("run-42", "gene_universe", "3")
    assert (sidecar["row_count"], sidecar["content_hash"], sidecar["fingerprint"]) == (
        2, checkpoint.content_hash, "f1")
    assert sidecar["table"] == "sources.gene_universe" and sidecar["checkpoint_run_id"] == "run-42"
    assert [s["step"] for s in sidecar["steps"]] == ["parse", "filter"]
    assert sidecar["source_releases"]["hgnc"] == "2024-10-18"
    assert "export_steps" not in sidecar
    assert not list((tmp_path / "exports").glob("*.tmp"))


def test_export_parquet_sidecar_adds_a_trackers_export_steps(tracker, store, tmp_path):
    store.save_dataframe(GENES, "gene_universe", provenance=tracker.to_dict())
    export = ProvenanceTracker(run_id="run-43", asset_key="export")
    export.step("export", rows=2)
    exported = store.export_parquet("gene_universe", tmp_path / "genes.parquet", provenance=export,
                                    order_by=["gene_symbol"])
    sidecar = ProvenanceTracker.load_sidecar(exported)
    assert sidecar["run_id"] == "run-42"  # the table's record, not the exporter's
    assert [s["step"] for s in sidecar["export_steps"]] == ["export"]


def test_export_parquet_of_a_missing_table_is_a_store_error(store, tmp_path):
    with pytest.raises(StoreError, match="no stored table main.never_saved"):
        store.export_parquet("never_saved", tmp_path / "never.parquet")
    assert not (tmp_path / "never.parquet").exists()
