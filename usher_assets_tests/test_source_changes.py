"""A changed source reaches exactly what reads it: the real pipeline through `dagster asset materialize`,
with recomputation told apart by the run id each checkpoint records."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from conftest import clone_build
from usher_assets.config import DEFAULT_CONFIG_PATH, PROJECT_ROOT
from usher_assets.schemas import CHROMOSOME, CHROMOSOMES, HGNC_ID
from usher_assets.storage import Checkpoint, PipelineStore, ProvenanceTracker

pytestmark = pytest.mark.slow
DAGSTER = Path(sys.executable).parent / "dagster"
EXAC = "ExACpLI_values.txt"
EVIDENCE_LAYERS = ["constraint_evidence", "expression_evidence", "localization_evidence", "annotation_evidence",
                   "sensory_expression_evidence", "cilia_proximity_evidence", "cilia_association_evidence"]
CHROMOSOME_COUNT = 25  # 1..22, X, Y, MT


def write_config(directory: Path, name: str, raw: dict) -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def materialize_all(env: dict) -> subprocess.CompletedProcess:
    args = [str(DAGSTER), "asset", "materialize", "-m", "usher_assets.definitions",
            "--select", "*", "--partition-range", "1...MT"]
    return subprocess.run(args, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)


def checkpoints(db: Path) -> dict[str, Checkpoint]:
    """'schema.table[partition]' -> its checkpoint."""
    with PipelineStore(db) as store:
        return {f"{c.schema_name}.{c.table_name}[{c.partition_key or ''}]": c for c in store.list_checkpoints()}


def recomputed_tables(before: dict[str, Checkpoint], after: dict[str, Checkpoint]) -> set[str]:
    """Tables with a slice whose checkpoint now carries another run's id (the body ran again)."""
    return {label.split("[")[0] for label, c in after.items() if c.run_id != before[label].run_id}


@pytest.fixture
def built(golden_build, tmp_path):
    """This test's own copy of the session's build; exac_pli reads a copy of the bundled file the test may edit.

    The copy has the same content, so the cloned checkpoints are reused as they are (fingerprints
    hold contents, not paths). Each test starts from the clean build, whatever ran before it.
    """
    directory = tmp_path / "source_changes"
    clone_build(golden_build, directory)
    shutil.copy2(PROJECT_ROOT / "data" / EXAC, directory / EXAC)
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    raw["storage"] |= {"database": str(directory / "usher.duckdb"), "output_dir": str(directory / "outputs"),
                       "download_dir": str(directory / "downloads")}
    # No sha256: the test stands in for a user editing their own copy.
    raw["sources"]["exac_pli"] = {"path": str(directory / EXAC), "release": raw["sources"]["exac_pli"]["release"]}
    home = directory / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = os.environ | {"USHER_CONFIG": str(write_config(directory, "usher.yaml", raw)),
                        "DAGSTER_HOME": str(home)}
    return directory, env, raw


@pytest.fixture(scope="module")
def universe(golden_build) -> pl.DataFrame:
    with PipelineStore(golden_build / "usher.duckdb") as store:
        return store.load_dataframe("gene_universe", schema="sources")


def test_gene_universe_has_every_protein_coding_gene_once(universe):
    assert universe.height == 19_290  # SOURCES.md: HGNC protein-coding genes
    assert universe[HGNC_ID].is_unique().all()


@pytest.mark.parametrize("layer", EVIDENCE_LAYERS)
def test_evidence_layer_has_one_row_per_universe_gene_with_a_chromosome(golden_build, universe, layer):
    with PipelineStore(golden_build / "usher.duckdb") as store:
        frame = store.load_dataframe(layer, schema="evidence")
        # Every stored row lies in a chromosome partition (partition_expr is the chromosome column itself).
        misplaced = store.execute_query(
            f"SELECT count(*) AS n FROM evidence.{layer} WHERE {CHROMOSOME} IS NULL OR {CHROMOSOME} NOT IN "
            f"({', '.join(repr(k) for k in CHROMOSOMES)})")
    placed = universe.drop_nulls(CHROMOSOME)
    assert 19_200 < placed.height < universe.height
    assert frame.height == placed.height and frame[HGNC_ID].is_unique().all()
    assert set(frame[HGNC_ID]) == set(placed[HGNC_ID])
    assert misplaced["n"][0] == 0


def _adjacent_pli_genes(store: PipelineStore) -> tuple[dict, dict]:
    """Two universe genes next to each other in pLI order, each from its own file row with a pLI no
    other gene shares: giving the first the second's value ties exactly these two genes' ranks."""
    rows = store.load_dataframe("exac_pli", schema="sources").drop_nulls(HGNC_ID)
    single_row = rows.filter(pl.len().over(HGNC_ID) == 1).select(HGNC_ID, "gene_symbol")
    ordered = (
        store.load_dataframe("constraint_evidence", schema="evidence")
        .drop_nulls("exac_pli").sort("exac_pli", HGNC_ID)
        .select(HGNC_ID, CHROMOSOME, "exac_pli", alone=pl.len().over("exac_pli") == 1)
        .join(single_row, on=HGNC_ID, how="left", maintain_order="left")
    )
    pairs = pl.concat([ordered, ordered.shift(-1).rename(lambda c: f"next_{c}")], how="horizontal").filter(
        pl.col("alone") & pl.col("next_alone")
        & pl.col("gene_symbol").is_not_null() & pl.col("next_gene_symbol").is_not_null())
    pair = pairs.row(pairs.height // 2, named=True)  # mid-table: an ordinary gene, not an extreme
    second = {k.removeprefix("next_"): v for k, v in pair.items() if k.startswith("next_")}
    return {k: v for k, v in pair.items() if not k.startswith("next_")}, second


def _set_pli(path: Path, symbol: str, value: str) -> None:
    lines = path.read_text().split("\n")
    index = next(i for i, line in enumerate(lines) if line.split("\t")[0] == symbol)
    lines[index] = f"{symbol}\t{value}"
    path.write_text("\n".join(lines))


def _pli_text(path: Path, symbol: str) -> str:
    return next(line.split("\t")[1] for line in path.read_text().split("\n") if line.split("\t")[0] == symbol)


def test_edited_source_file_recomputes_it_and_only_what_reads_it(built):
    directory, env, _ = built
    db = directory / "usher.duckdb"
    with PipelineStore(db) as store:
        first, second = _adjacent_pli_genes(store)
    before = checkpoints(db)
    # Same release string, one value changed: only the file's sha256 tells the pipeline.
    _set_pli(directory / EXAC, first["gene_symbol"], _pli_text(directory / EXAC, second["gene_symbol"]))
    result = materialize_all(env)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "sources.exac_pli: computing (changed: source file exac_pli" in result.stderr
    after = checkpoints(db)
    assert set(after) == set(before)
    assert recomputed_tables(before, after) == {"sources.exac_pli", "evidence.constraint_evidence",
                                                "scoring.cilia_model", "scoring.gene_scores",
                                                "scoring.ranking_validation", "report.candidates"}
    slices = {label: c for label, c in after.items() if c.table_name == "constraint_evidence"}
    assert len(slices) == CHROMOSOME_COUNT
    rewritten = {c.partition_key for label, c in slices.items() if c.content_hash != before[label].content_hash}
    assert rewritten == {first[CHROMOSOME], second[CHROMOSOME]}
    # A slice whose content came out the same is not rewritten: it keeps its time.
    assert all(c.created_at == before[label].created_at for label, c in slices.items()
               if c.partition_key not in rewritten)
    with PipelineStore(db) as store:
        layer = store.load_dataframe("constraint_evidence", schema="evidence").filter(
            pl.col(HGNC_ID).is_in([first[HGNC_ID], second[HGNC_ID]]))
    assert layer["exac_pli"].to_list() == [second["exac_pli"]] * 2
    assert layer["exac_pli_rank"].n_unique() == 1


def test_source_not_matching_its_sha256_stops_the_run_and_keeps_the_checkpoint(built):
    directory, env, raw = built
    db = directory / "usher.duckdb"
    # The user's copy is pinned to the bundled file's sha256 (as the default config pins it), then edited.
    expected = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())["sources"]["exac_pli"]["sha256"]
    pinned = raw | {"sources": raw["sources"] | {"exac_pli": raw["sources"]["exac_pli"] | {"sha256": expected}}}
    env = env | {"USHER_CONFIG": str(write_config(directory, "pinned.yaml", pinned))}
    with PipelineStore(db) as store:
        table_before = store.load_dataframe("exac_pli", schema="sources")
        provenance_rows = store.execute_query("SELECT count(*) AS n FROM _provenance")["n"].item()
    symbol = table_before["gene_symbol"][0]
    _set_pli(directory / EXAC, symbol, "0.5" if _pli_text(directory / EXAC, symbol) != "0.5" else "0.25")
    actual = hashlib.sha256((directory / EXAC).read_bytes()).hexdigest()
    before = checkpoints(db)
    result = materialize_all(env)
    assert result.returncode != 0, "the run went on with a file that does not match its sha256"
    output = result.stdout + result.stderr
    assert "SourceChecksumError" in output
    assert f"{directory / EXAC} has sha256 {actual}, but the config expects {expected}" in output
    assert "update sources.exac_pli.sha256" in output
    # Nothing was written: the previous checkpoint, table and provenance stand, downstream untouched.
    assert checkpoints(db) == before
    with PipelineStore(db) as store:
        assert store.load_dataframe("exac_pli", schema="sources").equals(table_before)
        assert store.verify_checkpoint(store.get_checkpoint("exac_pli", schema="sources")) is None
        assert store.execute_query("SELECT count(*) AS n FROM _provenance")["n"].item() == provenance_rows


def test_release_change_recomputes_that_source_and_what_lies_downstream(built):
    directory, env, raw = built
    db = directory / "usher.duckdb"
    relabelled = raw | {"sources": raw["sources"] | {
        "cilia_proteome": raw["sources"]["cilia_proteome"] | {"release": "Mick et al. 2015 Table S1 (re-check)"}}}
    env = env | {"USHER_CONFIG": str(write_config(directory, "relabelled.yaml", relabelled))}
    before = checkpoints(db)
    result = materialize_all(env)
    assert result.returncode == 0, result.stderr[-4000:]
    after = checkpoints(db)
    # Only the relabelled source's readers, not exac_pli: its file moved (a copy), its content did not.
    # The release is provenance: everything downstream of the source is recomputed so its outputs
    # name the new release, even though the same file parses to the same table.
    assert recomputed_tables(before, after) == {
        "sources.cilia_proteome", "evidence.cilia_proximity_evidence", "scoring.cilia_model", "scoring.gene_scores",
        "scoring.ranking_validation", "report.candidates"}
    assert after["sources.cilia_proteome[]"].content_hash == before["sources.cilia_proteome[]"].content_hash
    # Same content, so no slice of the layer was rewritten; only its checkpoint moved on.
    assert all(after[label].content_hash == before[label].content_hash and
               after[label].created_at == before[label].created_at
               for label in after if label.startswith("evidence.cilia_proximity_evidence"))
    with PipelineStore(db) as store:
        record = store.latest_provenance("candidates", schema="report")
    assert record["source_releases"]["cilia_proteome"] == "Mick et al. 2015 Table S1 (re-check)"
    sidecar = ProvenanceTracker.load_sidecar(directory / "outputs" / "candidates.tsv")
    assert sidecar["source_releases"]["cilia_proteome"] == "Mick et al. 2015 Table S1 (re-check)"
