"""Checked, cached, atomic downloads of source files over HTTP(S), standard library only.

A file reaches the cache only after its length and sha256 checked out; a failed attempt leaves nothing behind.
"""

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHUNK_BYTES = 256 * 1024
RECORD_SUFFIX = ".sha256"
USER_AGENT = "usher_assets-download/1"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")

ProgressCallback = Callable[[int, int | None], None]


class DownloadError(RuntimeError):
    """A source file could not be downloaded and verified; the message names the URL and what to do."""

    def __init__(self, url: str, message: str):
        self.url = url
        super().__init__(f"{url}: {message}")


class _TransientError(Exception):
    """One attempt failed in a way that a later attempt may not (network, timeout, 5xx, cut body)."""


def cache_path_for(url: str, cache_dir: Path) -> Path:
    """The cache file for ``url``: its last path component with unsafe characters replaced by ``_``."""
    last_component = unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2])
    name = _UNSAFE_NAME_CHARS.sub("_", last_component).lstrip(".")
    if not name:
        # No usable file name in the URL (e.g. "https://host/"): fall back to a stable name per URL.
        name = "download-" + hashlib.sha256(url.encode()).hexdigest()[:12]
    return Path(cache_dir) / name


def fetch(url: str, cache_dir: Path, *, sha256: str | None = None, expected_size: int | None = None,
          connect_timeout: float = 10.0, read_timeout: float = 60.0, retries: int = 3,
          backoff: float = 0.5, progress: ProgressCallback | None = None) -> Path:
    """Return the path of a verified local copy of ``url``, downloading it into ``cache_dir`` if needed.

    A cached file is returned without any request when it verifies: its size equals ``expected_size`` (if
    given) and its sha256 equals ``sha256`` or, if that is not given, the ``<file>.sha256`` record written
    when it was downloaded.

    Args:
        connect_timeout: seconds allowed to connect (including the TLS handshake).
        read_timeout: seconds allowed for each socket read after connecting. It bounds a stall, not the
            whole transfer: a server that trickles one byte per interval is not cut off.
        retries: extra attempts after the first, on connection errors, timeouts, HTTP 5xx and bodies
            shorter than their Content-Length. 4xx answers and checksum or size mismatches are final.
        backoff: seconds before the first retry, doubled before each further one.
        progress: called as ``progress(bytes_done, total)`` after each chunk; ``total`` is the
            Content-Length, else ``expected_size``, else None. It restarts from 0 on a retry.

    Raises:
        DownloadError: the file could not be downloaded or did not verify; nothing was cached.
    """
    expected_sha256 = _check_arguments(url, sha256, expected_size, connect_timeout, read_timeout, retries,
                                       backoff)
    target = cache_path_for(url, cache_dir)
    if _cached_file_verifies(target, expected_sha256, expected_size):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    opener = _build_opener(read_timeout)
    attempts = retries + 1
    for attempt in range(1, attempts + 1):
        try:
            _download_once(opener, url, target, expected_sha256, expected_size, connect_timeout, progress)
            return target
        except _TransientError as error:
            last_error = error
            if attempt < attempts:
                time.sleep(backoff * 2 ** (attempt - 1))
    raise DownloadError(
        url, f"gave up after {attempts} attempts; last error: {last_error}. The server may be down or slow: "
             f"try again later, raise retries or read_timeout, or save the file by hand as {target} "
             f"and pass its sha256.") from last_error


def _check_arguments(url: str, sha256: str | None, expected_size: int | None, connect_timeout: float,
                     read_timeout: float, retries: int, backoff: float) -> str | None:
    """Reject arguments that no download could satisfy; return the normalised sha256."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DownloadError(url, "expected an http:// or https:// URL; fix the URL in the source config.")
    if sha256 is not None:
        sha256 = sha256.strip().lower()
        if not _SHA256_HEX.fullmatch(sha256):
            raise DownloadError(url, f"expected sha256 as 64 hex digits, got {sha256!r}; fix it in the "
                                     "source config.")
    if expected_size is not None and expected_size < 0:
        raise DownloadError(url, f"expected_size must be >= 0, got {expected_size}.")
    if connect_timeout <= 0 or read_timeout <= 0 or retries < 0 or backoff < 0:
        raise DownloadError(url, f"timeouts must be > 0 and retries, backoff >= 0; got connect_timeout="
                                 f"{connect_timeout}, read_timeout={read_timeout}, retries={retries}, "
                                 f"backoff={backoff}.")
    return sha256


def _cached_file_verifies(target: Path, sha256: str | None, expected_size: int | None) -> bool:
    if not target.is_file():
        return False
    if expected_size is not None and target.stat().st_size != expected_size:
        return False
    wanted = sha256 or _read_record(target)
    return wanted is not None and _file_sha256(target) == wanted


def _download_once(opener, url: str, target: Path, sha256: str | None,
                   expected_size: int | None, connect_timeout: float, progress: ProgressCallback | None):
    """One attempt: stream into a temp file beside ``target``, verify, then rename it into place."""
    try:
        handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as error:
        raise DownloadError(url, f"could not create a file in {target.parent} ({error}); check that the "
                                 "cache directory is writable.") from error
    temp_path = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            actual_sha256, size = _stream_body(opener, url, out, connect_timeout, expected_size, progress)
            out.flush()
            os.fsync(out.fileno())
        if expected_size is not None and size != expected_size:
            raise DownloadError(url, f"size mismatch: expected {expected_size} bytes, got {size}. The "
                                     "upstream file may have changed; check the release and update "
                                     "expected_size and sha256.")
        if sha256 is not None and actual_sha256 != sha256:
            raise DownloadError(url, f"sha256 mismatch: expected {sha256}, got {actual_sha256}. The "
                                     "upstream file may have changed or been corrupted; check the release "
                                     "and update the sha256 only if the new file is the one you want.")
        os.replace(temp_path, target)
        _write_record(target, actual_sha256)
        _fsync_directory(target.parent)
    except OSError as error:
        raise DownloadError(url, f"could not write into {target.parent} ({error}); check free space and "
                                 "permissions.") from error
    finally:
        temp_path.unlink(missing_ok=True)


def _stream_body(opener, url: str, out, connect_timeout: float,
                 expected_size: int | None, progress: ProgressCallback | None) -> tuple[str, int]:
    """Copy the response body into ``out``; return its sha256 and length."""
    import http.client
    import ssl
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    try:
        response = opener.open(request, timeout=connect_timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code >= 500:
            raise _TransientError(f"HTTP {error.code} {error.reason}") from error
        raise DownloadError(url, f"server answered HTTP {error.code} {error.reason}; check the URL (the "
                                 "file may have moved or the release been withdrawn).") from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, ssl.SSLCertVerificationError):
            raise DownloadError(url, f"TLS certificate not trusted ({error.reason}); check the system CA "
                                     "certificates or any intercepting proxy.") from error
        raise _TransientError(f"could not connect: {error.reason}") from error
    except (OSError, http.client.HTTPException) as error:
        raise _TransientError(f"no usable answer: {error!r}") from error
    with response:
        declared = _content_length(response)
        total = declared if declared is not None else expected_size
        digest = hashlib.sha256()
        done = 0
        while True:
            try:
                chunk = response.read(CHUNK_BYTES)
            except (OSError, http.client.HTTPException) as error:
                # Timeouts arrive here as TimeoutError; a broken chunked body as IncompleteRead.
                raise _TransientError(f"connection lost after {done} bytes: {error!r}") from error
            if not chunk:
                break
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    # http.client returns b"" rather than raising when the peer closes before Content-Length bytes.
    if declared is not None and done < declared:
        raise _TransientError(f"body cut short: got {done} of {declared} bytes")
    return digest.hexdigest(), done


def _content_length(response) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value is not None and value.strip().isdigit() else None


def _read_record(target: Path) -> str | None:
    try:
        words = (target.parent / (target.name + RECORD_SUFFIX)).read_text().split()
    except (OSError, UnicodeDecodeError):
        return None
    return words[0].lower() if words and _SHA256_HEX.fullmatch(words[0].lower()) else None


def _write_record(target: Path, sha256: str):
    """Write ``<file>.sha256`` in ``sha256sum`` format, atomically, so ``sha256sum -c`` can check it too."""
    record = target.parent / (target.name + RECORD_SUFFIX)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{record.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(f"{sha256}  {target.name}\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, record)
    finally:
        Path(temp_name).unlink(missing_ok=True)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_directory(directory: Path):
    """Make the rename itself durable; some platforms cannot open a directory, which is harmless."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _build_opener(read_timeout: float):
    """An opener whose sockets connect under the request's timeout, then read under ``read_timeout``.

    urllib applies one timeout to every socket operation; switching it after connect (and after the TLS
    handshake) splits the two. Imported here: http.client and urllib.request add ~25 ms to CLI start-up.
    """
    import http.client
    import urllib.request

    class ReadTimeoutHTTPConnection(http.client.HTTPConnection):
        def connect(self):
            super().connect()
            self.sock.settimeout(read_timeout)

    class ReadTimeoutHTTPSConnection(http.client.HTTPSConnection):
        def connect(self):
            super().connect()
            self.sock.settimeout(read_timeout)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(ReadTimeoutHTTPConnection, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(ReadTimeoutHTTPSConnection, req, context=self._context)

    return urllib.request.build_opener(HTTPHandler(), HTTPSHandler())
