"""The `usher-assets` console script, run for real in a subprocess against stores built under tmp_path."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml
from conftest import write_config
from pipeline_runs import usher_cli

from usher_assets.storage import PipelineStore, ProvenanceTracker

SCRIPT = Path(sys.executable).parent / "usher-assets"
GENES = pl.DataFrame({"hgnc_id": ["HGNC:12597", "HGNC:12601", "HGNC:16361"],
                      "gene_symbol": ["USH1C", "USH2A", "WHRN"]})
LAYER = pl.DataFrame({"hgnc_id": ["HGNC:12597", "HGNC:12601", "HGNC:16361", "HGNC:100"],
                      "chromosome": ["11", "1", "9", "X"], "layer_score": [0.9, 0.8, None, 0.1]})


def build_store(config_path: Path) -> PipelineStore:
    """An unpartitioned source table and a chromosome-partitioned layer, saved as the decorator would."""
    from usher_assets.config import PipelineConfig

    store = PipelineConfig.load(config_path).open_store()
    record = {"code_version": "1", "source_releases": {"hgnc": "2024-10-18"}, "metadata": {"genes": 3}}
    store.save_dataframe(GENES, "genes", "One row per Usher gene.", schema="sources", fingerprint="f" * 64,
                         fingerprint_parts={"code_version": "a" * 64, "source:hgnc": "b" * 64},
                         provenance=record, run_id="run-1")
    for chromosome in ("1", "11", "X"):
        store.save_dataframe(LAYER.filter(pl.col("chromosome") == chromosome), "layer", "One row per gene: a layer.",
                             schema="evidence", partition_key=chromosome, fingerprint=chromosome * 64,
                             provenance=record)
    return store


@pytest.fixture
def config_path(tmp_path) -> Path:
    path = write_config(tmp_path)
    build_store(path)
    return path


def test_list_prints_aligned_table_in_chromosome_order(config_path):
    result = usher_cli("checkpoints", "list", config=config_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TABLE", "PARTITION", "ROWS", "CREATED_AT", "FINGERPRINT", "DESCRIPTION"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["evidence.layer", "1", "1"], ["evidence.layer", "11", "1"], ["evidence.layer", "X", "1"],
        ["sources.genes", "-", "3"]]
    # Aligned: every row's ROWS column ends where the header's does.
    end = lines[0].index("ROWS") + len("ROWS")
    assert all(line[end - 1] != " " and line[end] == " " for line in lines[1:])
    assert "ffffffffffff " in lines[4] and "f" * 13 not in lines[4]


def test_list_json_filters_by_schema(config_path):
    result = usher_cli("checkpoints", "list", "--schema", "sources", "--json", config=config_path)
    rows = json.loads(result.stdout)
    assert rows == [{"table": "sources.genes", "partition": None, "rows": 3, "created_at": rows[0]["created_at"],
                     "fingerprint": "ffffffffffff", "description": "One row per Usher gene."}]


def test_show_prints_checkpoint_parts_columns_and_provenance(config_path):
    result = usher_cli("checkpoints", "show", "genes", "--json", config=config_path)
    shown = json.loads(result.stdout)
    assert shown["table"] == "sources.genes" and shown["row_count"] == 3
    assert shown["columns"] == [["hgnc_id", "VARCHAR"], ["gene_symbol", "VARCHAR"]]
    assert shown["fingerprint_parts"] == {"code_version": "a" * 64, "source:hgnc": "b" * 64}
    assert shown["provenance"]["metadata"] == {"genes": 3} and shown["provenance"]["table"] == "sources.genes"
    text = usher_cli("checkpoints", "show", "evidence.layer", "--partition", "X", config=config_path).stdout
    assert text.startswith("evidence.layer[X]\n")
    assert "layer_score  DOUBLE" in text and '"code_version": "1"' in text


@pytest.mark.parametrize("args, message", [
    (("checkpoints", "show", "nope"), "no table named 'nope'"),
    (("checkpoints", "show", "evidence.genes"), "did you mean sources.genes?"),
    (("checkpoints", "show", "layer"), "evidence.layer is partitioned (3 slices: 1, 11, X); pass --partition"),
    (("checkpoints", "delete", "layer", "--partition", "Y"), "evidence.layer[Y] has no checkpoint"),
    (("checkpoints", "explain", "no_such_asset"), "unknown asset(s) no_such_asset"),
])
def test_missing_table_or_asset_exits_2_with_one_line(config_path, args, message):
    result = usher_cli(*args, config=config_path)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("content, message", [
    ("storage: [", "not valid YAML"),
    ("sources: {}\nscoring: {weights: {constraint: 0.5}}\n", "scoring.weights"),
])
def test_bad_config_exits_2_without_traceback(tmp_path, content, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    result = usher_cli("checkpoints", "list", config=bad)
    assert result.returncode == 2
    assert message in result.stderr and str(bad) in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_verify_passes_on_intact_store(config_path):
    result = usher_cli("checkpoints", "verify", config=config_path)
    assert result.returncode == 0
    assert result.stdout.strip() == "checked 4 checkpoint(s): all intact"
    assert result.stderr == ""  # stderr is a pipe here, not a terminal: no progress bar


@pytest.mark.parametrize("tamper, label, problem", [
    ('UPDATE sources.genes SET gene_symbol = \'USH2B\' WHERE gene_symbol = \'USH2A\'', "sources.genes",
     "content changed"),
    ("DELETE FROM evidence.layer WHERE partition_key = '11'", "evidence.layer[11]",
     "row count is 0, checkpoint recorded 1"),
    ("DROP TABLE sources.genes", "sources.genes", "is missing"),
])
def test_verify_names_each_tampered_table_and_fails(config_path, tamper, label, problem):
    with duckdb.connect(str(config_path.parent / "usher.duckdb")) as con:
        con.execute(tamper)
    result = usher_cli("checkpoints", "verify", "--json", config=config_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["checked"] == 4
    assert [(p["table"], problem in p["problem"]) for p in report["problems"]] == [(label, True)]


def test_delete_slice_then_whole_table(config_path):
    store = PipelineStore(config_path.parent / "usher.duckdb")
    result = usher_cli("checkpoints", "delete", "evidence.layer", "--partition", "11", config=config_path)
    assert result.stdout.strip() == "deleted checkpoint evidence.layer[11]"
    assert [c.partition_key for c in store.list_checkpoints("evidence")] == ["1", "X"]
    assert store.load_dataframe("layer", schema="evidence")["chromosome"].to_list() == ["1", "X"]

    result = usher_cli("checkpoints", "delete", "layer", "--keep-data", config=config_path)
    assert result.returncode == 0 and "evidence.layer[X] (stored rows kept)" in result.stdout
    assert store.list_checkpoints("evidence") == [] and store.table_exists("layer", schema="evidence")


def test_export_writes_parquet_and_provenance_sidecar(config_path, tmp_path):
    target = tmp_path / "out" / "layer.parquet"
    result = usher_cli("checkpoints", "export", "layer", str(target), config=config_path)
    assert result.returncode == 0, result.stderr
    exported = pl.read_parquet(target)
    assert exported.height == 3 and sorted(exported["partition_key"].to_list()) == ["1", "11", "X"]
    sidecar = ProvenanceTracker.load_sidecar(target)
    assert sidecar["table"] == "evidence.layer" and sidecar["file"] == "layer.parquet"
    # The table's own record, plus how the file was made.
    assert sidecar["export_steps"][0]["step"] == "export"


def test_outputs_lists_database_and_output_files(config_path):
    out = config_path.parent / "outputs"
    out.mkdir()
    (out / "candidates.tsv").write_text("rank\tgene_symbol\n1\tUSH2A\n")
    located = json.loads(usher_cli("outputs", "--json", config=config_path).stdout)
    assert located["database"] == str(config_path.parent / "usher.duckdb") and located["database_bytes"] > 0
    assert [(f["name"], f["bytes"]) for f in located["files"]] == [("candidates.tsv", 25)]
    text = usher_cli("outputs", config=config_path).stdout
    assert f"output dir: {out}" in text and "candidates.tsv" in text


def test_verify_draws_progress_bar_only_on_a_terminal(config_path):
    import pty

    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "USHER_CONFIG"}
    with subprocess.Popen([str(SCRIPT), "checkpoints", "verify", "--config", str(config_path)],
                          stdout=subprocess.PIPE, stderr=follower, env=env) as process:
        os.close(follower)
        drawn = b""
        while chunk := _read_pty(leader):
            drawn += chunk
        process.wait(timeout=60)
    os.close(leader)
    assert "verify [########################] 100% 6 rows / 6 rows" in drawn.decode()


def _read_pty(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO once the child closed its end
        return b""


# -- explain, on a small part of the real pipeline -------------------------------------------------

EXPLAINED = ("hgnc", "gene_universe", "go_terms", "gnomad_constraint", "exac_pli")


@pytest.fixture(scope="module")
def materialized(tmp_path_factory) -> Path:
    """hgnc (from a copy of its file), gene_universe and go_terms materialized under a tmp config."""
    import dagster as dg

    from usher_assets.assets.sources import source_assets
    from usher_assets.config import PipelineConfig
    from usher_assets.resources import PipelineResource
    from usher_assets.storage.io_manager import DuckDBIOManager

    directory = tmp_path_factory.mktemp("explain")
    config = PipelineConfig.load(write_config(directory))
    hgnc_copy = directory / "hgnc_complete_set.txt.gz"
    shutil.copy(config.sources["hgnc"].resolved_path(config.root), hgnc_copy)
    # Without a configured sha256, an edited copy is a content change, not a checksum failure.
    path = _edit_sources(directory / "usher.yaml", hgnc={"path": str(hgnc_copy), "sha256": None})
    assets = [a for a in source_assets if a.key.path[-1] in ("hgnc", "gene_universe", "go_terms")]
    result = dg.materialize(assets, resources={
        "io_manager": DuckDBIOManager(database=str(config.database_path)),
        "pipeline": PipelineResource(config_path=str(path))})
    assert result.success
    return path


def _edit_sources(path: Path, **changes: dict) -> Path:
    raw = yaml.safe_load(path.read_text())
    for key, change in changes.items():
        raw["sources"][key] = (raw["sources"][key] or {}) | change
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _explain(config: Path) -> dict[str, dict]:
    result = usher_cli("checkpoints", "explain", *EXPLAINED, "--json", config=config)
    assert result.returncode == 0, result.stderr
    return {entry["asset"]: entry for entry in json.loads(result.stdout)}


def test_explain_reuses_everything_right_after_a_run(materialized):
    explained = _explain(materialized)
    assert [explained[n]["status"] for n in ("hgnc", "gene_universe", "go_terms")] == ["reuse"] * 3
    assert explained["exac_pli"]["slices"][0]["reasons"] == ["no checkpoint yet"]


def test_explain_names_the_changed_part(materialized, tmp_path):
    config = tmp_path / "edited.yaml"
    shutil.copy(materialized, config)
    _edit_sources(config, go_terms={"release": "GO.db 3.99.0"},
                  gnomad_constraint={"url": "https://example.invalid/constraint.tsv", "release": "gnomAD v4.1"})
    hgnc_copy = Path(yaml.safe_load(config.read_text())["sources"]["hgnc"]["path"])
    original = hgnc_copy.read_bytes()
    try:
        hgnc_copy.write_bytes(original + b"\n")  # same release, different bytes
        explained = _explain(config)
    finally:
        hgnc_copy.write_bytes(original)

    def reasons(name):
        return explained[name]["slices"][0]["reasons"]

    assert reasons("go_terms") == ["source file go_terms: release 'GO.db 3.16.0 (go-basic 2022-07-01)' -> 'GO.db 3.99.0'"]
    assert len(reasons("hgnc")) == 1 and reasons("hgnc")[0].startswith("source file hgnc: sha256 changed")
    assert explained["gene_universe"]["status"] == "reuse"
    assert explained["gene_universe"]["upstream_recomputing"] == ["hgnc"]
    assert reasons("gnomad_constraint") == [
        "no checkpoint yet", "source file gnomad_constraint: not downloaded yet (https://example.invalid/constraint.tsv)"]


def test_explain_reports_a_tampered_checkpoint(materialized, tmp_path):
    config = tmp_path / "copy.yaml"
    database = tmp_path / "usher.duckdb"
    shutil.copy(yaml.safe_load(materialized.read_text())["storage"]["database"], database)
    raw = yaml.safe_load(materialized.read_text())
    raw["storage"]["database"] = str(database)
    config.write_text(yaml.safe_dump(raw))
    with duckdb.connect(str(database)) as con:
        con.execute("UPDATE sources.gene_universe SET gene_symbol = 'USH2B' WHERE gene_symbol = 'USH2A'")
    result = usher_cli("checkpoints", "explain", "gene_universe", "--json", config=config)
    [entry] = json.loads(result.stdout)
    assert entry["slices"][0]["reasons"] == ["checkpoint not intact: content changed since the checkpoint was written"]


# -- explain's wording, in-process on definitions of our own -----------------------------------------

def _explain_definitions(config_path: Path, code_versions: dict | None = None):
    """Definitions of three small pipeline assets, on the store and config of `config_path`.

    raw_genes reads the hgnc source, gene_table reads raw_genes, weighted_genes declares the scoring section.
    """
    import dagster as dg

    from usher_assets.assets.declare import pipeline_asset
    from usher_assets.config import PipelineConfig
    from usher_assets.resources import PipelineResource
    from usher_assets.storage import DuckDBIOManager

    versions = {"raw_genes": "1", "gene_table": "1", "weighted_genes": "1"} | (code_versions or {})

    @pipeline_asset(group="sources", code_version=versions["raw_genes"], sources=("hgnc",))
    def raw_genes():
        """One row per gene."""
        return GENES

    @pipeline_asset(group="sources", code_version=versions["gene_table"])
    def gene_table(raw_genes):
        """One row per gene."""
        return raw_genes

    @pipeline_asset(group="scoring", code_version=versions["weighted_genes"], config_sections=("scoring",))
    def weighted_genes():
        """One row per gene."""
        return GENES

    pipeline = PipelineConfig.load(config_path)
    return dg.Definitions(assets=[raw_genes, gene_table, weighted_genes], resources={
        "io_manager": DuckDBIOManager(database=str(pipeline.database_path)),
        "pipeline": PipelineResource(config_path=str(config_path))})


def _materialize_definitions(defs, selection=None) -> None:
    """A real run of the definitions' assets, so each checkpoint is exactly what the decorator records."""
    import dagster as dg

    assets = list(defs.assets)
    result = dg.materialize(assets, selection=selection, resources=defs.resources)
    assert result.success


def test_explain_names_a_changed_release_upstream(tmp_path):
    from usher_assets.config import PipelineConfig
    from usher_assets.inspection.explain import explain_assets

    config_path = write_config(tmp_path)
    _materialize_definitions(_explain_definitions(config_path))
    relabelled_path = _edit_sources(tmp_path / "usher.yaml", hgnc={"release": "2025-01-01"})
    relabelled = PipelineConfig.load(relabelled_path)
    store = relabelled.open_store()
    defs = _explain_definitions(relabelled_path)
    raw, table = explain_assets(store, relabelled, defs, ["raw_genes", "gene_table"])
    assert raw.status == "recompute"
    raw_reasons = raw.slices[0].reasons
    # gene_table's own inputs are unchanged until raw_genes recomputes: reused for now, raw_genes pending.
    assert (table.status, table.slices[0].reasons, table.upstream_recomputing) == ("reuse", (), ["raw_genes"])
    # Once raw_genes recomputed (to the same rows), the release it carries reaches gene_table's fingerprint.
    _materialize_definitions(defs, selection=["raw_genes"])
    raw, table = explain_assets(store, relabelled, defs, ["raw_genes", "gene_table"])
    assert raw.status == "reuse" and table.upstream_recomputing == []
    assert table.slices[0].reasons == ("release of a source upstream: hgnc '2024-10-18' -> '2025-01-01'",)
    assert table.status == "recompute"
    # raw_genes reads hgnc itself: its release is its own source file's, said once, not an upstream's.
    assert raw_reasons == ("source file hgnc: release '2024-10-18' -> '2025-01-01'",)


@pytest.mark.parametrize("code_version, weights, expected", [
    ("1", None, []),
    ("2", None, ["code version '1' -> '2'"]),
    ("1", {"constraint": 0.5, "annotation": 0.5}, ["its config section 'scoring'"]),
])
def test_explain_names_code_version_and_config_section(tmp_path, code_version, weights, expected):
    from usher_assets.config import PipelineConfig
    from usher_assets.inspection.explain import explain_assets

    _materialize_definitions(_explain_definitions(write_config(tmp_path)))
    raw = yaml.safe_load((tmp_path / "usher.yaml").read_text())
    if weights:
        raw["scoring"]["weights"] = weights
    (tmp_path / "now.yaml").write_text(yaml.safe_dump(raw))
    now = PipelineConfig.load(tmp_path / "now.yaml")
    defs = _explain_definitions(tmp_path / "now.yaml", {"weighted_genes": code_version})
    [status] = explain_assets(now.open_store(), now, defs, ["weighted_genes"])
    assert list(status.slices[0].reasons) == expected
    assert status.recomputes == bool(expected)


def test_explain_text_groups_slices_and_names_pending_upstream():
    from usher_assets.inspection.explain import AssetStatus, SliceStatus
    from usher_assets.inspection.render import explain_text

    source = AssetStatus("hgnc", "sources.hgnc", False, [SliceStatus(None, "recompute", ("source file hgnc: x",))])
    waiting = AssetStatus("universe", "sources.universe", False, [SliceStatus(None, "reuse")], ["hgnc"])
    agreeing = AssetStatus("layer", "evidence.layer", True, [SliceStatus(k, "reuse") for k in ("1", "2", "X")])
    mixed = AssetStatus("other", "evidence.other", True, [
        SliceStatus("1", "recompute", ("no checkpoint yet",)), SliceStatus("2", "reuse"),
        SliceStatus("X", "recompute", ("no checkpoint yet",))])
    assert explain_text([source, waiting, agreeing, mixed]).splitlines() == [
        "sources.hgnc: recompute",
        "    source file hgnc: x",
        "sources.universe: reuse for now: upstream hgnc recomputes first, and this reruns only if that "
        "changes its content",
        "evidence.layer [3 slices]: reuse",
        "evidence.other [3 slices]: recompute",
        "    slices 1, X: recompute",
        "        no checkpoint yet",
        "    slice 2: reuse",
        "2 of 4 asset(s) would recompute",
    ]


@pytest.mark.parametrize("change, expected", [
    ({"path": "absent.txt.gz"}, "file missing: {root}/absent.txt.gz"),
    ({"sha256": "0" * 64}, "sha256 aea1f28b19ca differs from the configured 000000000000: the file was replaced; "
                           "if on purpose, update sources.hgnc.sha256 and its release"),
    ({"path": None, "url": "https://example.invalid/hgnc.txt.gz"},
     "not downloaded yet (https://example.invalid/hgnc.txt.gz)"),
])
def test_unavailable_sources_names_what_a_run_would_trip_on(tmp_path, change, expected):
    from usher_assets.config import PipelineConfig
    from usher_assets.sources.resolve import unavailable_reason

    pipeline = PipelineConfig.load(_edit_sources(write_config(tmp_path), hgnc=change))
    store = pipeline.open_store()
    assert unavailable_reason(store, pipeline, "hgnc") == expected.format(root=pipeline.root)


@pytest.mark.parametrize("recorded, expected", [
    ("matching", {}),
    ("other", {"hgnc": "cached copy {cached} does not verify; the next run downloads it again"}),
])
def test_unavailable_sources_trusts_a_verified_download(tmp_path, recorded, expected):
    import hashlib

    from usher_assets.config import PipelineConfig
    from usher_assets.sources.resolve import unavailable_reason
    from usher_assets.sources.download import cache_path_for

    url = "https://example.invalid/hgnc.txt"
    pipeline = PipelineConfig.load(_edit_sources(write_config(tmp_path), hgnc={"path": None, "url": url,
                                                                               "sha256": None}))
    cached = cache_path_for(url, tmp_path / "downloads" / "hgnc")
    cached.parent.mkdir(parents=True)
    cached.write_text("hgnc_id\tsymbol\nHGNC:12601\tUSH2A\n")
    digest = hashlib.sha256(cached.read_bytes()).hexdigest() if recorded == "matching" else "1" * 64
    cached.with_name(cached.name + ".sha256").write_text(f"{digest}  {cached.name}\n")
    store = pipeline.open_store()
    found = {key: why for key in ("hgnc",) if (why := unavailable_reason(store, pipeline, key)) is not None}
    assert found == {k: v.format(cached=cached) for k, v in expected.items()}
