"""Real PostgreSQL, Redis, Celery-worker and Dagster-webserver processes on 127.0.0.1 for tests.

Each starts on a free port, is waited for with a deadline (its log tail in the error) and is always stopped.
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest

VENV_BIN = Path(sys.executable).parent
INSTALL_HINT = "run .ci/install-services (apt-get install postgresql redis-server chromium)"


def postgres_bin_dir() -> Path | None:
    """Debian keeps initdb and pg_ctl under /usr/lib/postgresql/<major>/bin, off PATH; newest major wins."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def installed(binary: str) -> bool:
    if binary in ("initdb", "pg_ctl"):
        return postgres_bin_dir() is not None
    return shutil.which(binary) is not None


def require(*binaries: str) -> None:
    """Skip the calling test when a server binary is truly not installed."""
    missing = [b for b in binaries if not installed(b)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed; {INSTALL_HINT}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_for(ready: Callable[[], bool], what: str, timeout: float, log: Path | None = None,
             process: subprocess.Popen | None = None) -> None:
    """Poll `ready` until it is true; fail naming `what`, the deadline and the log tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before it was ready; "
                               f"log {log}:\n{log_tail(log) if log else ''}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{what} was not ready after {timeout:.0f} s; log {log}:\n{log_tail(log) if log else ''}")


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


def stop_process_group(process: subprocess.Popen, grace: float = 15) -> None:
    """SIGTERM the group of a process this module started (start_new_session), then SIGKILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)
    except ProcessLookupError:
        pass


@contextmanager
def background(args: list[str], log: Path, what: str, ready: Callable[[], bool], timeout: float,
               env: dict | None = None, cwd: Path | None = None) -> Iterator[subprocess.Popen]:
    """A process in its own session (so its children stop with it), running until the block ends."""
    with open(log, "ab") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=env, cwd=cwd, start_new_session=True)
    try:
        wait_for(ready, what, timeout, log, process)
        yield process
    finally:
        stop_process_group(process)


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str

    def create_database(self, name: str) -> None:
        import psycopg2

        connection = psycopg2.connect(host=self.host, port=self.port, user=self.user,
                                      password=self.password, dbname="postgres")
        connection.autocommit = True  # CREATE DATABASE refuses to run in a transaction
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()

    def query(self, database: str, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg2

        with psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                              dbname=database) as connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def dagster_env(self, database: str) -> dict[str, str]:
        """The variables docs/postgres.dagster.yaml reads."""
        return {"DAGSTER_PG_HOST": self.host, "DAGSTER_PG_PORT": str(self.port), "DAGSTER_PG_USER": self.user,
                "DAGSTER_PG_PASSWORD": self.password, "DAGSTER_PG_DB": database}


def _as_postgres_user() -> dict:
    # initdb and the server refuse to run as root; as root, run them as Debian's postgres user.
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


@contextmanager
def postgres_server(timeout: float = 60) -> Iterator[PostgresServer]:
    """initdb a throwaway cluster, serve it on a loopback port with password auth, remove it afterwards."""
    bin_dir = postgres_bin_dir()
    # Not under pytest's tmp_path: that is private to root, and the server's user must reach its files.
    root = Path(tempfile.mkdtemp(prefix="usher-pg-"))
    server = PostgresServer("127.0.0.1", free_port(), "usher", "usher-test-password")
    as_user = _as_postgres_user()
    try:
        (root / "socket").mkdir()
        (root / "password").write_text(server.password + "\n")
        if as_user:
            for path in (root, root / "socket", root / "password"):
                shutil.chown(path, "postgres", "postgres")
        initdb = [str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", server.user,
                  f"--pwfile={root / 'password'}", "--auth-host=scram-sha-256", "--auth-local=trust",
                  "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]
        subprocess.run(initdb, check=True, capture_output=True, timeout=timeout, **as_user)
        options = (f"-p {server.port} -k {root / 'socket'} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        log = root / "server.log"
        subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-l", str(log), "-o", options,
                        "-w", "-t", str(int(timeout)), "start"],
                       check=True, capture_output=True, timeout=timeout + 10, **as_user)
        try:
            wait_for(lambda: port_open(server.port), "PostgreSQL", timeout, log)
            yield server
        finally:
            subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "stop"],
                           capture_output=True, timeout=60, **as_user)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"{exc.cmd[0]} failed with code {exc.returncode}: "
                           f"{(exc.stderr or b'').decode(errors='replace')}") from exc
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _redis_answers(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
        connection.sendall(b"PING\r\n")
        return connection.recv(16).startswith(b"+PONG")


@contextmanager
def redis_server(directory: Path, timeout: float = 30) -> Iterator[str]:
    """A memory-only Redis on a loopback port; yields its URL."""
    port = free_port()
    args = [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(directory)]
    with background(args, directory / "redis.log", "redis-server", lambda: _redis_answers(port), timeout):
        yield f"redis://127.0.0.1:{port}"


@contextmanager
def dagster_webserver(env: dict, log: Path, module: str = "usher_assets.definitions",
                      timeout: float = 120) -> Iterator[str]:
    """dagster-webserver for `module` on a loopback port; yields its base URL once /server_info answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [str(VENV_BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-m", module]
    with background(args, log, "dagster-webserver", lambda: http_ok(f"{url}/server_info"), timeout, env=env):
        yield url
