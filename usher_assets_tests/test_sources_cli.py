"""Source assets through the real `dagster asset materialize` CLI: a bad file fails the run naming file,
line and column and leaves the previous table alone; a source given by URL is fetched once and cached."""

import http.server
import os
import random
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from usher_assets.config import DEFAULT_CONFIG_PATH, PROJECT_ROOT
from usher_assets.storage import PipelineStore
from pipeline_runs import reused_tables

pytestmark = pytest.mark.slow
DAGSTER = Path(sys.executable).parent / "dagster"
DATA = PROJECT_ROOT / "data"
EXAC = "ExACpLI_values.txt"
HGNC = "hgnc_complete_set.txt.gz"
LOFTOOL = "LoFtool_scores.txt"
LOFTOOL_SHA256 = "23140b464de80af20fa6894ebc8392dbd067cbfc37ae5c4ca20a3759d3dad1f3"  # data/SOURCES.md


def write_config(directory: Path, name: str, sources: dict, download_dir: Path | None = None) -> Path:
    """The bundled config with storage under `directory` and `sources` entries replaced."""
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    raw["storage"] |= {"database": str(directory / "usher.duckdb"), "output_dir": str(directory / "outputs"),
                       "download_dir": str(download_dir or directory / "downloads")}
    raw["sources"] |= sources
    path = directory / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def cli_env(directory: Path, config: Path) -> dict:
    home = directory / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    # The test server is local: no proxy may stand between it and the run.
    return os.environ | {"USHER_CONFIG": str(config), "DAGSTER_HOME": str(home),
                         "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def materialize(env: dict, select: str) -> subprocess.CompletedProcess:
    """Unpartitioned source assets only, so no partition flags."""
    args = [str(DAGSTER), "asset", "materialize", "-m", "usher_assets.definitions", "--select", select]
    return subprocess.run(args, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)


def source_error(stderr: str) -> str:
    """The first step failure the failed run printed (a dg.Failure carrying the SourceFormatError's message)."""
    found = re.search(r"\.Failure: (.+)", stderr)
    assert found, f"no step Failure in the run's output:\n{stderr[-3000:]}"
    return found.group(1)


def stored_state(db: Path) -> tuple[list, int]:
    """Every checkpoint (all fields) and the number of provenance rows."""
    with PipelineStore(db) as store:
        provenance_rows = store.execute_query("SELECT count(*) AS n FROM main._provenance")["n"][0]
        return store.list_checkpoints(), provenance_rows


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """hgnc, gene_universe and exac_pli built once from copies of the bundled files that cases may break."""
    directory = tmp_path_factory.mktemp("sources_cli")
    copies = directory / "copies"
    copies.mkdir()
    for name in (HGNC, EXAC):
        shutil.copy2(DATA / name, copies / name)
    # No sha256 on the copies: a test stands in for a user editing their own file.
    config = write_config(directory, "usher.yaml", {
        "hgnc": {"path": str(copies / HGNC), "release": "2024-10-18"},
        "exac_pli": {"path": str(copies / EXAC), "release": "ExAC r0.3 (2016-03)"},
    })
    env = cli_env(directory, config)
    result = materialize(env, "hgnc,gene_universe,exac_pli")
    assert result.returncode == 0, result.stderr[-4000:]
    return directory, copies, env


# -- bad input ---------------------------------------------------------------------------------

def _edit_line(number: int, edit: Callable[[list[str]], list[str]]) -> Callable[[bytes], bytes]:
    """Good file -> the same file with tab-separated line `number` (1 = header) changed by `edit`."""
    def transform(good: bytes) -> bytes:
        lines = good.decode().split("\n")
        lines[number - 1] = "\t".join(edit(lines[number - 1].split("\t")))
        return "\n".join(lines).encode()
    return transform


def _random_bytes(_: bytes) -> bytes:
    data = random.Random(20240607).randbytes(4096)
    assert not data.startswith(b"\x1f\x8b")
    return data


def _bad_utf8_at_line_1001(good: bytes) -> bytes:
    lines = good.split(b"\n")
    lines[1000] = lines[1000].replace(b"\t", b"\xe9\t", 1)  # a Latin-1 e-acute after the symbol
    return b"\n".join(lines)


def _cut_last_row(good: bytes) -> bytes:
    # A plain-text download cut short: the last row stops inside its first field.
    return good[:good.rindex(b"\n") + 4]


@dataclass(frozen=True)
class BadFile:
    asset: str
    file_name: str
    make: Callable[[bytes], bytes]  # good file -> bad file
    message: str  # regex for what the error says after the place
    line: str | None = None  # regex for the line number the error names (1 = header)
    column: str | None = None

    def expected(self, path: Path) -> str:
        where = re.escape(str(path))
        where += f", line {self.line}" if self.line else ""
        where += f", column {self.column!r}" if self.column else ""
        return f"{where}: {self.message}"


BAD_FILES = {
    "empty": BadFile("exac_pli", EXAC, lambda good: b"", r"file is empty"),
    "header_only": BadFile("exac_pli", EXAC, lambda good: b"gene\tpLI\n", r"has a header but no data rows"),
    "random_bytes": BadFile("exac_pli", EXAC, _random_bytes, r"(not UTF-8 text|contains NUL bytes)", line=r"\d+"),
    "truncated_gzip": BadFile("hgnc", HGNC, lambda good: good[:len(good) // 2], r"gzip stream is truncated"),
    "truncated_text": BadFile("exac_pli", EXAC, _cut_last_row, r"has 1 field\(s\) where the header has 2",
                              line="18226"),
    "missing_column": BadFile("exac_pli", EXAC, _edit_line(1, lambda f: ["gene", "pLI_score"]),
                              r"missing required column\(s\) \['pLI'\]", line="1", column="pLI"),
    "comma_delimiter": BadFile("exac_pli", EXAC, lambda good: good.replace(b"\t", b","),
                               r"missing required column\(s\) \['gene', 'pLI'\].*wrong delimiter",
                               line="1", column="gene"),
    "non_utf8": BadFile("exac_pli", EXAC, _bad_utf8_at_line_1001, r"not UTF-8 text \(byte 0xe9\)", line="1001"),
    "non_numeric_pli": BadFile("exac_pli", EXAC, _edit_line(5000, lambda f: [f[0], "0,93"]),
                               r"expected a number, found '0,93'", line="5000", column="pLI"),
    "pli_out_of_range": BadFile("exac_pli", EXAC, _edit_line(6000, lambda f: [f[0], "1.5"]),
                                r"expected a value in \[0.0, 1.0\], found 1.5", line="6000", column="pLI"),
    # Line 2 is AGRN; the repeat sits far down the file, where a reviewer would not spot it.
    "duplicate_gene": BadFile("exac_pli", EXAC, _edit_line(9000, lambda f: ["AGRN", f[1]]),
                              r"duplicate ID 'AGRN'", line="9000", column="gene"),
}


@pytest.mark.parametrize("case", list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_bad_source_file_fails_run_naming_file_and_keeps_previous_table(workspace, case):
    directory, copies, env = workspace
    copy = copies / case.file_name
    before = stored_state(directory / "usher.duckdb")
    copy.write_bytes(case.make((DATA / case.file_name).read_bytes()))
    try:
        result = materialize(env, case.asset)
    finally:
        shutil.copy2(DATA / case.file_name, copy)
    assert result.returncode != 0
    assert re.match(case.expected(copy), source_error(result.stderr)), source_error(result.stderr)
    assert stored_state(directory / "usher.duckdb") == before
    with PipelineStore(directory / "usher.duckdb") as store:
        checkpoint = store.get_checkpoint(case.asset, schema="sources")
        assert checkpoint is not None and store.verify_checkpoint(checkpoint) is None


def test_restored_source_file_reuses_its_checkpoint(workspace):
    directory, _, env = workspace
    before = stored_state(directory / "usher.duckdb")
    result = materialize(env, "hgnc,exac_pli")
    assert result.returncode == 0, result.stderr[-4000:]
    assert {"sources.exac_pli", "sources.hgnc"} <= reused_tables(result.stderr)
    checkpoints, _ = stored_state(directory / "usher.duckdb")
    assert checkpoints == before[0]


def test_exac_mapping_figures_add_up_to_its_rows(workspace):
    directory, _, _ = workspace
    with PipelineStore(directory / "usher.duckdb") as store:
        metadata = store.latest_provenance("exac_pli", schema="sources")["metadata"]
    # SOURCES.md: 18,225 genes. Every row matched one way, stayed unmatched or was ambiguous.
    assert metadata["rows_kept"] == metadata["mapping/rows_in"] == 18_225
    matched = sum(metadata[f"mapping/matched_by_{how}"] for how in ("id", "symbol", "previous", "alias"))
    assert matched == metadata["mapping/rows_with_gene"]
    assert matched + metadata["mapping/unmatched"] + metadata["mapping/ambiguous"] == 18_225
    assert metadata["mapping/matched_by_symbol"] > 16_000 and metadata["mapping/unmatched"] < 500


# -- a source given by URL -----------------------------------------------------------------------

class FileServer:
    """Serves data/LoFtool_scores.txt under /ok/ and answers 500 under /broken/; counts requests per path."""

    def __init__(self):
        self.requests: list[str] = []
        body = (DATA / LOFTOOL).read_bytes()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                status, payload = (200, body) if self.path.startswith("/ok/") else (500, b"internal error")
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture(scope="module")
def file_server():
    server = FileServer()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def loftool_env(workspace, name: str, url: str, sha256: str, download_dir: Path) -> dict:
    """The workspace's environment with loftool configured by URL (other sources as built)."""
    directory, copies, env = workspace
    config = write_config(directory, name, {
        "hgnc": {"path": str(copies / HGNC), "release": "2024-10-18"},
        "exac_pli": {"path": str(copies / EXAC), "release": "ExAC r0.3 (2016-03)"},
        "loftool": {"url": url, "release": "LoFtool (Fadista 2017, VEP plugin data)", "sha256": sha256},
    }, download_dir=download_dir)
    return env | {"USHER_CONFIG": str(config)}


@pytest.fixture(scope="module")
def downloaded(workspace, file_server):
    """loftool materialized once from the local server into the workspace's download_dir."""
    directory = workspace[0]
    url = file_server.url(f"/ok/{LOFTOOL}")
    env = loftool_env(workspace, "by_url.yaml", url, LOFTOOL_SHA256, directory / "downloads")
    result = materialize(env, "loftool")
    assert result.returncode == 0, result.stderr[-4000:]
    return env, url


def test_source_by_url_is_downloaded_verified_and_cached(workspace, file_server, downloaded):
    directory = workspace[0]
    cached = directory / "downloads" / "loftool" / LOFTOOL
    assert cached.read_bytes() == (DATA / LOFTOOL).read_bytes()
    assert file_server.requests.count(f"/ok/{LOFTOOL}") == 1
    with PipelineStore(directory / "usher.duckdb") as store:
        checkpoint = store.get_checkpoint("loftool", schema="sources")
        metadata = store.latest_provenance("loftool", schema="sources")["metadata"]
    assert checkpoint.row_count == 14_515  # SOURCES.md: 14,515 genes
    assert metadata["mapping/rows_in"] == 14_515 and metadata["mapping/rows_with_gene"] > 14_000


def test_source_by_url_rerun_reuses_cache_without_a_request(workspace, file_server, downloaded):
    env, url = downloaded
    directory = workspace[0]
    before = stored_state(directory / "usher.duckdb")[0]
    result = materialize(env, "loftool")
    assert result.returncode == 0, result.stderr[-4000:]
    assert "sources.loftool" in reused_tables(result.stderr)
    assert file_server.requests.count(f"/ok/{LOFTOOL}") == 1
    assert stored_state(directory / "usher.duckdb")[0] == before


@pytest.mark.parametrize("path, sha256, reason", [
    ("/broken/", LOFTOOL_SHA256, r"gave up after \d+ attempts; last error: HTTP 500"),
    ("/ok/mirror/", "0" * 64, r"sha256 mismatch: expected 0{64}, got " + LOFTOOL_SHA256),
], ids=["server_error", "wrong_sha256"])
def test_failed_download_names_url_and_leaves_no_file_or_checkpoint(workspace, file_server, downloaded,
                                                                     tmp_path, path, sha256, reason):
    directory = workspace[0]
    url = file_server.url(path + LOFTOOL)
    cache = tmp_path / "fresh_downloads"
    env = loftool_env(workspace, f"failing_{tmp_path.name}.yaml", url, sha256, cache)
    before = stored_state(directory / "usher.duckdb")
    result = materialize(env, "loftool")
    assert result.returncode != 0
    assert re.search(re.escape(url) + ": " + reason, result.stderr), result.stderr[-3000:]
    assert file_server.requests.count(path + LOFTOOL) >= 1
    assert [p for p in cache.rglob("*") if p.is_file()] == []
    assert stored_state(directory / "usher.duckdb") == before
