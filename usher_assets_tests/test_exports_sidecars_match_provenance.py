"""Every field of every export's .provenance.json against the _provenance row of report.candidates.

README: "_provenance keeps, for every write: ... Every exported file has the same record in a
<file>.provenance.json sidecar." The golden build is a real CLI run; its candidates asset wrote the
four exports and then its table, checkpoint and provenance row.
"""

import json
from datetime import datetime, timedelta

import pytest

from usher_assets.storage import PipelineStore, ProvenanceTracker

pytestmark = pytest.mark.slow
EXPORTS = ["candidates.parquet", "candidates.tsv", "report.html", "validation.json"]
# Sidecar field -> how it must compare with the _provenance row: the integration writes each sidecar after
# the candidates table is stored, from that table's own record.
SAME_AS_ROW = ["pipeline", "pipeline_version", "asset_key", "config_hash", "source_releases", "library_versions",
               "run_id", "code_version", "fingerprint", "row_count", "content_hash", "table", "steps"]
FIELDS = [pytest.param(f, id=f) for f in SAME_AS_ROW]
# Fields the sidecar has that are its own, checked in test_sidecar_own_fields.
OWN_FIELDS = {"file", "checkpoint_run_id"}


@pytest.fixture(scope="module")
def row(golden_build) -> dict:
    """The latest _provenance row of report.candidates: its columns, JSON columns decoded, plus its record."""
    with PipelineStore(golden_build / "usher.duckdb") as store:
        rows = store.execute_query("SELECT * FROM main._provenance WHERE schema_name = 'report' AND "
                                   "table_name = 'candidates' ORDER BY created_at DESC LIMIT 1")
    assert rows.height == 1
    found = rows.row(0, named=True)
    for name in ("source_releases", "steps", "library_versions", "record"):
        found[name] = json.loads(found[name])
    return found


@pytest.fixture(scope="module")
def sidecars(golden_build) -> dict[str, dict]:
    return {name: ProvenanceTracker.load_sidecar(golden_build / "outputs" / name) for name in EXPORTS}


def _row_value(row: dict, field: str):
    """The row's value of a field: its own column where it has one, else its stored record."""
    return row[field] if field in row and field != "record" else row["record"][field]


def test_row_is_a_complete_record(row):
    # What the sidecars are held to: the row itself has every field filled in.
    for field in SAME_AS_ROW:
        assert _row_value(row, field) not in (None, "", {}), field
    assert _row_value(row, "table") == "report.candidates"
    assert row["asset_key"] == "candidates" and row["row_count"] > 19_000


@pytest.mark.parametrize("export", EXPORTS)
def test_sidecar_has_no_field_left_unchecked(sidecars, row, export):
    # Everything else the sidecar holds is the row's stored record, field for field.
    extra = set(sidecars[export]) - set(SAME_AS_ROW) - OWN_FIELDS
    assert {f: sidecars[export][f] for f in extra} == {f: row["record"][f] for f in extra}


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("export", EXPORTS)
def test_sidecar_field_matches_provenance_row(sidecars, row, export, field):
    assert field in sidecars[export], f"{export} sidecar has no {field}"
    assert sidecars[export][field] == _row_value(row, field)


@pytest.mark.parametrize("export", EXPORTS)
def test_sidecar_own_fields(sidecars, row, export):
    sidecar = sidecars[export]
    assert sidecar["file"] == export
    # The checkpoint the file was made from, and the run that wrote it, are the row's.
    assert sidecar["checkpoint_run_id"] == row["run_id"]
    assert [s["step"] for s in sidecar["steps"]] == [s["step"] for s in row["steps"]]
    assert {"load_inputs", "compute"} <= {s["step"] for s in sidecar["steps"]}
    recorded = datetime.fromisoformat(sidecar["recorded_at"])
    assert recorded.utcoffset() == timedelta(0)
    assert recorded <= row["created_at"]
