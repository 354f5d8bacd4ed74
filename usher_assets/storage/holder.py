"""Who holds a database file: `<db>.holder.json` for our own sessions and holds, the kernel's lock table for anyone.

DuckDB's lock error gives the holder's PID only. A store that keeps the file open for a while (a run's hold,
a session) writes its PID, run id and mode beside the file and removes it on release; a file whose process is
gone, or is another process than DuckDB names, is ignored. Whether the holder reads or writes comes from
/proc/locks (DuckDB takes a shared lock read-only, an exclusive one otherwise), else from our file.
"""

import json
import os
import re
from pathlib import Path

_PID = re.compile(r"\(PID (\d+)\)")


def holder_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".holder.json")


def write_holder(db_path: Path, mode: str, run_id: str | None) -> None:
    path = holder_path(db_path)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"pid": os.getpid(), "run_id": run_id, "mode": mode}))
        tmp.replace(path)
    except OSError:
        pass  # only a better lock message depends on it; a read-only directory must not stop a read


def remove_holder(db_path: Path) -> None:
    path = holder_path(db_path)
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def describe_holder(db_path: Path, duckdb_message: str) -> str:
    """'PID 123 (run abc), which has it open for writing', from DuckDB's lock error and what we know."""
    found = _PID.search(duckdb_message)
    pid = int(found.group(1)) if found else None
    ours = _our_holder(db_path, pid)
    mode = _kernel_mode(db_path, pid) or ours.get("mode")
    who = f"PID {pid}" if pid is not None else "a PID DuckDB did not give"
    if ours.get("run_id"):
        who += f" (usher-assets run {ours['run_id']})"
    elif ours:
        who += " (an usher-assets store)"
    if mode == "reading":
        return f"{who}, which has it open read-only (reading)"
    if mode == "writing":
        return f"{who}, which has it open for writing"
    return who


def _our_holder(db_path: Path, pid: int | None) -> dict:
    try:
        record = json.loads(holder_path(db_path).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict) or record.get("pid") != pid or not _alive(pid):
        return {}  # stale, or someone else's file: DuckDB's PID is the truth
    return record


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kernel_mode(db_path: Path, pid: int | None) -> str | None:
    """'reading' or 'writing' from the holder's POSIX lock on the file in /proc/locks (Linux), else None."""
    try:
        inode = os.stat(db_path).st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        # "1: POSIX  ADVISORY  WRITE 1175 fe:00:2154881 0 EOF"
        if len(fields) >= 6 and fields[1] == "POSIX" and fields[4] == str(pid) \
                and fields[5].rsplit(":", 1)[-1] == str(inode):
            return {"READ": "reading", "WRITE": "writing"}.get(fields[3])
    return None
