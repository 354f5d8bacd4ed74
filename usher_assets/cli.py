"""`usher-assets`: list, show, explain, verify, delete and export checkpoints, and say where the outputs are.

`storage vacuum` removes old Delta files (backend delta).

Exit codes: 0 done, 1 `checkpoints verify` found a problem, 2 bad arguments, bad config, or no such table.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from usher_assets.config import ConfigError, PipelineConfig

EXIT_PROBLEMS, EXIT_USAGE = 1, 2


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="pipeline config YAML (default: $USHER_CONFIG, else the bundled one)")
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser = argparse.ArgumentParser(prog="usher-assets", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("outputs", parents=[common], help="where the database and the exported files are")
    checkpoints = commands.add_parser("checkpoints", help="stored tables and their checkpoints")
    actions = checkpoints.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", parents=[common], help="every checkpoint, one line each")
    listing.add_argument("--schema", help="only this schema (sources, evidence, scoring, report)")
    listing.add_argument("--table", help="only this table name")
    show = actions.add_parser("show", parents=[common], help="one checkpoint in full, with its provenance")
    show.add_argument("table", metavar="TABLE", help="schema.table, or a table name found in one schema")
    show.add_argument("--partition", help="the slice of a partitioned table (a chromosome)")
    explain = actions.add_parser("explain", parents=[common],
                                 help="would the next run reuse each asset's checkpoint, and if not, why")
    explain.add_argument("assets", nargs="*", metavar="ASSET", help="asset names (default: every asset)")
    delete = actions.add_parser("delete", parents=[common], help="forget a checkpoint; the next run recomputes it")
    delete.add_argument("table", metavar="TABLE")
    delete.add_argument("--partition", help="only this slice (default: every slice of the table)")
    delete.add_argument("--keep-data", action="store_true", help="keep the stored rows, forget only the checkpoint")
    actions.add_parser("verify", parents=[common], help="check every table against its checkpoint")
    export = actions.add_parser("export", parents=[common], help="write a table to Parquet with a provenance sidecar")
    export.add_argument("table", metavar="TABLE")
    export.add_argument("path", metavar="PATH", type=Path,
                        help="file to write; a relative path is taken inside the config's output dir")
    storage = commands.add_parser("storage", help="maintenance of the store itself")
    upkeep = storage.add_subparsers(dest="action", required=True, metavar="ACTION")
    vacuum = upkeep.add_parser("vacuum", parents=[common],
                               help="backend delta: delete data files no version inside the retention reads")
    vacuum.add_argument("--retention-hours", type=float,
                        help="keep what versions this young read (default: storage.delta_retention_hours)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = PipelineConfig.load(args.config)
        if args.command == "outputs":
            return _outputs(config, args)
        return ACTIONS[args.action](config, args)
    except BrokenPipeError:
        # The reader (`| head`) left; silence the flush at exit, as the Python docs advise.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PROBLEMS
    except Exception as exc:
        if not isinstance(exc, _user_errors()):
            raise  # a bug: keep its traceback
        # One line, even when YAML or DuckDB put line breaks in their message.
        print("usher-assets: " + " ".join(part.strip() for part in str(exc).splitlines() if part.strip()),
              file=sys.stderr)
        return EXIT_USAGE


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors that ask the user to fix an input; imported only when one is raised (start-up is measured)."""
    import duckdb

    from usher_assets.inspection.catalog import InspectionError
    from usher_assets.storage.store import StoreError

    return ConfigError, InspectionError, StoreError, duckdb.Error, OSError


def _emit(args, data, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def _outputs(config, args) -> int:
    from usher_assets.inspection.outputs import output_locations, outputs_text

    locations = output_locations(config)
    _emit(args, locations, outputs_text(locations))
    return 0


def _vacuum(config, args) -> int:
    from usher_assets.inspection.catalog import InspectionError, open_store

    if config.storage.backend != "delta":
        raise InspectionError("storage vacuum is for storage.backend delta; a DuckDB file has no old versions to remove")
    hours = config.storage.delta_retention_hours if args.retention_hours is None else args.retention_hours
    removed = open_store(config).vacuum(hours)
    _emit(args, {"retention_hours": hours, "removed_files": removed},
          f"removed {sum(removed.values())} file(s) no version younger than {hours:g} h reads, "
          f"from {sum(1 for n in removed.values() if n)} of {len(removed)} table(s)")
    return 0


def _list(config, args) -> int:
    from usher_assets.inspection.catalog import checkpoint_row, list_checkpoints, open_store
    from usher_assets.inspection.render import aligned_table

    rows = [checkpoint_row(c) for c in list_checkpoints(open_store(config), args.schema, args.table)]
    _emit(args, rows, aligned_table(rows) if rows else "no checkpoints stored")
    return 0


def _show(config, args) -> int:
    from usher_assets.inspection.catalog import open_store, resolve_table, show_checkpoint
    from usher_assets.inspection.render import checkpoint_text

    store = open_store(config)
    shown = show_checkpoint(store, resolve_table(store, args.table), args.partition)
    _emit(args, shown, checkpoint_text(shown))
    return 0


def _explain(config, args) -> int:
    from usher_assets.inspection.catalog import InspectionError, open_store
    from usher_assets.inspection.explain import explain_assets
    from usher_assets.inspection.registry import load_definitions, registered_assets
    from usher_assets.inspection.render import explain_text

    defs = load_definitions(str(args.config) if args.config else None)
    names = registered_assets(defs)
    unknown = [name for name in args.assets if name not in names]
    if unknown:
        raise InspectionError(f"unknown asset(s) {', '.join(unknown)}; assets are: {', '.join(names)}")
    store = open_store(config) if config.store_exists() else None
    statuses = explain_assets(store, config, defs, args.assets or None)
    _emit(args, [s.as_dict() for s in statuses], explain_text(statuses))
    return 0


def _delete(config, args) -> int:
    from usher_assets.inspection.catalog import delete_checkpoints, open_store, resolve_table

    store = open_store(config)
    forgotten = delete_checkpoints(store, resolve_table(store, args.table), args.partition, keep_data=args.keep_data)
    kept = " (stored rows kept)" if args.keep_data else ""
    _emit(args, {"deleted": forgotten, "kept_data": args.keep_data},
          "\n".join(f"deleted checkpoint {label}{kept}" for label in forgotten))
    return 0


def _verify(config, args) -> int:
    from usher_assets.inspection.catalog import list_checkpoints, open_store
    from usher_assets.inspection.render import verify_text
    from usher_assets.inspection.verify import verify_checkpoints
    from usher_assets.progress import ProgressBar

    from usher_assets.storage.damage import damaged_tables, recovery
    from usher_assets.storage.store import StoreDamagedError

    store = open_store(config)
    try:
        checkpoints = list_checkpoints(store)
    except StoreDamagedError as exc:  # the catalog itself: no table can be read
        _emit(args, {"checked": 0, "problems": [], "error": str(exc)}, str(exc))
        return EXIT_PROBLEMS
    with ProgressBar("verify", sum(c.row_count for c in checkpoints), unit="rows") as bar:
        problems = verify_checkpoints(store, checkpoints, bar=bar)
    damaged = sorted(damaged_tables(store.db_path))
    _emit(args, {"checked": len(checkpoints), "problems": [p.as_dict() for p in problems], "damaged": damaged},
          verify_text(problems, len(checkpoints), recovery(damaged) if damaged else None))
    return EXIT_PROBLEMS if problems or damaged else 0


def _export(config, args) -> int:
    from usher_assets.inspection.catalog import (export_destination, export_table, open_store, resolve_table,
                                                 table_rows)
    from usher_assets.progress import ProgressBar
    from usher_assets.storage.provenance import sidecar_path

    store = open_store(config)
    ref = resolve_table(store, args.table)
    with ProgressBar(f"export {ref.label}", table_rows(store, ref), unit="rows") as bar:
        path = export_table(store, ref, export_destination(config, args.path), config, bar=bar)
    _emit(args, {"table": ref.label, "path": str(path), "provenance": str(sidecar_path(path)), "rows": bar.total},
          f"wrote {bar.total:,} rows of {ref.label} to {path} (provenance: {sidecar_path(path)})")
    return 0


ACTIONS = {"list": _list, "show": _show, "explain": _explain, "delete": _delete, "verify": _verify,
           "export": _export, "vacuum": _vacuum}


if __name__ == "__main__":
    sys.exit(main())
