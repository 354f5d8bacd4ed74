"""Damaged blocks in a database file: how to recognise DuckDB's error, and the marker that stops writes.

A read that hits a block whose checksum fails (overwritten bytes) or lies past the end of the file (a truncated
copy) records the table in `<db>.damaged.json`, beside the database rather than in it, so the marker survives
a damaged catalog and needs no write into the file it warns about. While the marker lists a table the store
refuses to save; dropping that table's data, or reading it cleanly again (`checkpoints verify`), clears it.
"""

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import duckdb

# How DuckDB words a bad block: a failed checksum, or a block past the end of a truncated file.
_BLOCK_ERRORS = ("corrupt database file", "could not read enough bytes", "checksum")
BOOKKEEPING = "the store's own tables (_checkpoints, _provenance, ...)"


def is_block_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.Error) and any(text in str(exc).lower() for text in _BLOCK_ERRORS)


def marker_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".damaged.json")


def damaged_tables(db_path: Path) -> dict[str, str]:
    """{`schema.table`: DuckDB's error} for every table a read found damaged and nothing has cleared since."""
    path = marker_path(db_path)
    try:
        return dict(json.loads(path.read_text()).get("tables", {}))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, AttributeError) as exc:  # a marker we cannot read still means damage
        return {"(unknown)": f"{path} is unreadable ({exc})"}


def record_damage(db_path: Path, table: str, error: BaseException | str) -> None:
    tables = damaged_tables(db_path) | {table: " ".join(str(error).split())}
    _write(db_path, tables)


def clear_damage(db_path: Path, tables: list[str]) -> None:
    """Forget the damage of `tables` (dropped, or read cleanly); the marker goes once it lists none."""
    known = damaged_tables(db_path)
    if not known:
        return
    left = {t: e for t, e in known.items() if t not in tables}
    if left:
        _write(db_path, left)
    else:
        marker_path(db_path).unlink(missing_ok=True)


def _write(db_path: Path, tables: dict[str, str]) -> None:
    path = marker_path(db_path)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    record = {"database": str(db_path), "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "tables": tables}
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def recovery(tables: list[str]) -> str:
    """What the operator can do about damaged tables."""
    if BOOKKEEPING in tables:
        return ("restore the file from a copy, or move it aside so the next run recomputes every table; "
                "then run `usher-assets checkpoints verify`")
    deletes = "; ".join(f"`usher-assets checkpoints delete {t}`" for t in tables)
    return (f"restore the file from a copy, or drop the damaged tables so the next run recomputes them ({deletes}; "
            "delete drops the stored rows unless --keep-data), then run `usher-assets checkpoints verify`")


def damaged_message(db_path: Path, table: str, action: str, error: BaseException) -> str:
    return (f"{db_path}: {action}: table {table} has a damaged block ({' '.join(str(error).split())}); "
            f"nothing more will be written to this file until it is repaired: {recovery([table])}")


def refusal(db_path: Path, target: str, tables: dict[str, str]) -> str:
    names = sorted(tables)
    return (f"{db_path}: refusing to save {target}: the file has damaged blocks in {', '.join(names)} "
            f"(recorded in {marker_path(db_path)}), and writing into a damaged file can spread the damage; "
            f"{recovery(names)}")
