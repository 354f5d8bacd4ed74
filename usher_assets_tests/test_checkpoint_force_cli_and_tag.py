"""Force as the README shows it, on the real pipeline: `--config-json` through the dagster CLI, and the
`usher/force` run tag on the project's own definitions, on a copy of the session's clean build."""

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from conftest import build_env, clone_build, write_config
from pipeline_runs import checkpoints_by_asset, reused_tables
from usher_assets.config import PROJECT_ROOT
from usher_assets.definitions import build_definitions
from usher_assets.storage import PipelineStore

pytestmark = pytest.mark.slow
DAGSTER = Path(sys.executable).parent / "dagster"


@pytest.fixture
def built(golden_build, tmp_path):
    directory = tmp_path / "force"
    clone_build(golden_build, directory)
    config = write_config(directory)
    return directory, config, build_env(directory, config)


def run_ids(db: Path) -> dict[str, str]:
    with PipelineStore(db) as store:
        return {f"{c.schema_name}.{c.table_name}": c.run_id for c in store.list_checkpoints(schema="sources")}


def test_force_in_run_config_through_the_cli(built):
    directory, _, env = built
    before = run_ids(directory / "usher.duckdb")
    config = {"ops": {"gene_universe": {"config": {"force": True}}}}  # README, "Force"
    result = subprocess.run([str(DAGSTER), "asset", "materialize", "-m", "usher_assets.definitions",
                             "--select", "hgnc,gene_universe", "--config-json", json.dumps(config)],
                            env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "sources.gene_universe: computing (forced)" in result.stderr
    assert "sources.hgnc" in reused_tables(result.stderr)  # only the forced asset
    after = run_ids(directory / "usher.duckdb")
    assert after["sources.gene_universe"] != before["sources.gene_universe"]
    assert after["sources.hgnc"] == before["sources.hgnc"]
    assert {k: v for k, v in after.items() if k != "sources.gene_universe"} == {
        k: v for k, v in before.items() if k != "sources.gene_universe"}


@pytest.mark.parametrize("tag", ["gene_universe", "all"])
def test_force_run_tag_on_the_project_definitions(built, monkeypatch, tag):
    directory, config, _ = built
    monkeypatch.setenv("USHER_CONFIG", str(config))
    defs = build_definitions(str(config))
    before = run_ids(directory / "usher.duckdb")
    (directory / "instance").mkdir()
    with dg.DagsterInstance.local_temp(str(directory / "instance")) as instance:
        result = dg.materialize(defs.assets, selection=["hgnc", "gene_universe"], resources=defs.resources,
                                instance=instance, tags={"usher/force": tag})
        assert result.success
        statuses = checkpoints_by_asset(instance, result.run_id)
    after = run_ids(directory / "usher.duckdb")
    forced = {"gene_universe"} if tag == "gene_universe" else {"hgnc", "gene_universe"}
    # Forced and recomputed; the same content comes out, so the table is left in place.
    assert {name for name, values in statuses.items() if values != {"reused"}} == forced
    assert {name: after[f"sources.{name}"] != before[f"sources.{name}"] for name in ("hgnc", "gene_universe")} == {
        name: name in forced for name in ("hgnc", "gene_universe")}
    assert after["sources.gene_universe"] == result.run_id
