"""Where the results are: the database file and the files in the output directory (pathlib only, so fast)."""

from pathlib import Path

from usher_assets.config import PipelineConfig
from usher_assets.progress import format_amount


def output_locations(config: PipelineConfig) -> dict:
    """Where the results are: the database file and every file in the output directory."""
    database, out = Path(config.store_location), config.output_dir
    files = sorted(p for p in out.iterdir() if p.is_file()) if out.is_dir() else []
    if database.is_dir():  # Delta tables: every file under the root
        size = sum(p.stat().st_size for p in database.rglob("*") if p.is_file()) if config.store_exists() else None
    else:
        size = database.stat().st_size if database.is_file() else None
    return {
        "database": str(database),
        "database_bytes": size,
        "output_dir": str(out),
        "files": [{"name": p.name, "path": str(p), "bytes": p.stat().st_size} for p in files],
    }


def outputs_text(locations: dict) -> str:
    size = locations["database_bytes"]
    lines = [f"database:   {locations['database']}"
             + (f" ({format_amount(size, 'bytes')})" if size is not None else " (not created yet)"),
             f"output dir: {locations['output_dir']}" + ("" if locations["files"] else " (no files yet)")]
    width = max((len(f["name"]) for f in locations["files"]), default=0)
    lines += [f"  {f['name']:<{width}}  {format_amount(f['bytes'], 'bytes'):>9}" for f in locations["files"]]
    return "\n".join(lines)
