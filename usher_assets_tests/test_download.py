"""fetch() against a real HTTP server on 127.0.0.1 whose answers each test scripts."""

import hashlib
import http.server
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from usher_assets.sources.download import DownloadError, cache_path_for, fetch

LOFTOOL_SHA256 = "23140b464de80af20fa6894ebc8392dbd067cbfc37ae5c4ca20a3759d3dad1f3"  # SOURCES.md
LOFTOOL_SIZE = 223_623
FAST = {"connect_timeout": 2.0, "read_timeout": 2.0, "backoff": 0.01}

Responder = Callable[[http.server.BaseHTTPRequestHandler, int], None]


def _loftool_path() -> Path:
    bundled = Path(__file__).resolve().parents[1] / "data" / "LoFtool_scores.txt"
    return bundled if bundled.exists() else Path("/work/shared/data/real/LoFtool_scores.txt")


class ScriptedServer:
    """Serves each path with a responder ``f(handler, nth_request_for_path)``; counts requests per path."""

    def __init__(self):
        self.responders: dict[str, Responder] = {}
        self.requests: list[str] = []
        self.release = threading.Event()  # lets hanging responders return at teardown
        scripted = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                scripted.requests.append(self.path)
                nth = scripted.requests.count(self.path)
                scripted.responders[self.path](self, nth)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05})

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def count(self, path: str) -> int:
        return self.requests.count(path)


@pytest.fixture
def server():
    scripted = ScriptedServer()
    scripted.thread.start()
    yield scripted
    scripted.release.set()
    scripted.httpd.shutdown()
    scripted.httpd.server_close()
    scripted.thread.join(timeout=5)


def send_body(body: bytes, declared_length: int | None = None) -> Responder:
    """Answer 200 with ``body``, announcing ``declared_length`` (default: the true length), then close."""
    def respond(handler, nth):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body) if declared_length is None else declared_length))
        handler.end_headers()
        handler.wfile.write(body)
        handler.close_connection = True
    return respond


def fail_first(times: int, status: int, then: Responder) -> Responder:
    def respond(handler, nth):
        if nth <= times:
            handler.send_error(status)
        else:
            then(handler, nth)
    return respond


def hang_then(delay: float, then: Responder, release: threading.Event) -> Responder:
    def respond(handler, nth):
        if not release.wait(delay):
            then(handler, nth)
    return respond


@pytest.fixture(scope="module")
def loftool_bytes() -> bytes:
    return _loftool_path().read_bytes()


def test_fetch_downloads_real_file_with_checked_sha256(server, tmp_path, loftool_bytes):
    server.responders["/files/LoFtool_scores.txt"] = send_body(loftool_bytes)
    seen = []
    path = fetch(server.url("/files/LoFtool_scores.txt"), tmp_path, sha256=LOFTOOL_SHA256,
                 expected_size=LOFTOOL_SIZE, progress=lambda done, total: seen.append((done, total)), **FAST)
    assert path == tmp_path / "LoFtool_scores.txt"
    assert path.read_bytes() == loftool_bytes
    assert seen[-1] == (LOFTOOL_SIZE, LOFTOOL_SIZE)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["LoFtool_scores.txt", "LoFtool_scores.txt.sha256"]


@pytest.mark.parametrize("sha256", [LOFTOOL_SHA256, None], ids=["given_sha256", "from_sha256_record"])
def test_fetch_second_call_makes_no_request(server, tmp_path, loftool_bytes, sha256):
    server.responders["/LoFtool_scores.txt"] = send_body(loftool_bytes)
    url = server.url("/LoFtool_scores.txt")
    first = fetch(url, tmp_path, sha256=sha256, **FAST)
    second = fetch(url, tmp_path, sha256=sha256, **FAST)
    assert first == second
    assert server.count("/LoFtool_scores.txt") == 1


def test_fetch_redownloads_cached_file_that_no_longer_matches_its_record(server, tmp_path):
    server.responders["/genes.tsv"] = send_body(b"gene\tscore\nMYO7A\t0.1\n")
    url = server.url("/genes.tsv")
    path = fetch(url, tmp_path, **FAST)
    path.write_bytes(b"tampered\n")
    assert fetch(url, tmp_path, **FAST).read_bytes() == b"gene\tscore\nMYO7A\t0.1\n"
    assert server.count("/genes.tsv") == 2


def test_fetch_retries_after_server_error(server, tmp_path):
    server.responders["/flaky.txt"] = fail_first(1, 500, send_body(b"USH2A\n"))
    path = fetch(server.url("/flaky.txt"), tmp_path, **FAST)
    assert path.read_bytes() == b"USH2A\n"
    assert server.count("/flaky.txt") == 2


def test_fetch_body_cut_short_raises_and_caches_nothing(server, tmp_path):
    server.responders["/cut.txt"] = send_body(b"only ten b", declared_length=1000)
    url = server.url("/cut.txt")
    with pytest.raises(DownloadError, match="body cut short: got 10 of 1000 bytes") as raised:
        fetch(url, tmp_path, retries=2, **FAST)
    assert url in str(raised.value)
    assert server.count("/cut.txt") == 3  # cut bodies are retried
    assert list(tmp_path.iterdir()) == []


def test_fetch_wrong_checksum_raises_without_retry_and_caches_nothing(server, tmp_path):
    body = b"CDH23\nPCDH15\n"
    server.responders["/usher.txt"] = send_body(body)
    url = server.url("/usher.txt")
    wrong = "0" * 64
    with pytest.raises(DownloadError) as raised:
        fetch(url, tmp_path, sha256=wrong, **FAST)
    message = str(raised.value)
    assert url in message and wrong in message and hashlib.sha256(body).hexdigest() in message
    assert server.count("/usher.txt") == 1
    assert list(tmp_path.iterdir()) == []


def test_fetch_wrong_expected_size_raises_and_caches_nothing(server, tmp_path):
    server.responders["/sized.txt"] = send_body(b"CLRN1\n")
    with pytest.raises(DownloadError, match="expected 7 bytes, got 6"):
        fetch(server.url("/sized.txt"), tmp_path, expected_size=7, **FAST)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("status", [403, 404])
def test_fetch_client_error_is_not_retried(server, tmp_path, status):
    server.responders["/gone.txt"] = fail_first(99, status, send_body(b""))
    url = server.url("/gone.txt")
    with pytest.raises(DownloadError, match=str(status)) as raised:
        fetch(url, tmp_path, **FAST)
    assert url in str(raised.value)
    assert server.count("/gone.txt") == 1
    assert list(tmp_path.iterdir()) == []


def test_fetch_gives_up_after_retries_when_server_never_answers(server, tmp_path):
    server.responders["/slow.txt"] = hang_then(30, send_body(b"late\n"), server.release)
    url = server.url("/slow.txt")
    with pytest.raises(DownloadError, match="gave up after 3 attempts") as raised:
        fetch(url, tmp_path, connect_timeout=1.0, read_timeout=0.1, retries=2, backoff=0.01)
    assert url in str(raised.value) and "timed out" in str(raised.value)
    assert server.count("/slow.txt") == 3
    assert list(tmp_path.iterdir()) == []


def test_fetch_read_timeout_is_separate_from_connect_timeout(server, tmp_path):
    # A plain urlopen(timeout=0.05) would fail here: the answer comes after 0.3 s, within read_timeout.
    server.responders["/late.txt"] = hang_then(0.3, send_body(b"WHRN\n"), server.release)
    path = fetch(server.url("/late.txt"), tmp_path, connect_timeout=0.05, read_timeout=2.0, retries=0)
    assert path.read_bytes() == b"WHRN\n"


def test_fetch_connection_refused_is_retried_then_reported(tmp_path):
    with socket.socket() as probe:  # a port that was free a moment ago, with nobody listening now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/nothing.txt"
    with pytest.raises(DownloadError, match="gave up after 2 attempts.*could not connect") as raised:
        fetch(url, tmp_path, retries=1, **FAST)
    assert url in str(raised.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("url", "name"), [
    ("https://example.org/data/LoFtool_scores.txt", "LoFtool_scores.txt"),
    ("https://example.org/get?file=x", "get"),
    ("https://example.org/a%20b/gene%20list%3B1.tsv.gz", "gene_list_1.tsv.gz"),
    ("https://example.org/../..%2F..%2Fetc%2Fpasswd", "_.._etc_passwd"),  # no escape from cache_dir
])
def test_cache_path_for_uses_safe_last_component(tmp_path, url, name):
    assert cache_path_for(url, tmp_path) == tmp_path / name


def test_cache_path_for_url_without_file_name_is_stable(tmp_path):
    path = cache_path_for("https://example.org/", tmp_path)
    assert path.parent == tmp_path and path.name.startswith("download-")
    assert cache_path_for("https://example.org/", tmp_path) == path


@pytest.mark.parametrize("bad", [{"sha256": "abc"}, {"retries": -1}, {"read_timeout": 0}])
def test_fetch_rejects_bad_arguments_before_any_request(server, tmp_path, bad):
    server.responders["/x.txt"] = send_body(b"x")
    with pytest.raises(DownloadError, match="/x.txt"):
        fetch(server.url("/x.txt"), tmp_path, **{**FAST, **bad})
    assert server.count("/x.txt") == 0
