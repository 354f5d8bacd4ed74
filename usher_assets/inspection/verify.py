"""Check every stored checkpoint against its table: present, same columns, same row count, same content hash."""

from dataclasses import dataclass

from usher_assets.inspection.catalog import checkpoint_label
from usher_assets.progress import ProgressBar, watch_query_progress
from usher_assets.storage.checkpoints import Checkpoint
from usher_assets.storage.store import PipelineStore


@dataclass(frozen=True)
class VerifyProblem:
    """A checkpoint its table no longer matches; `table` is `schema.table[partition]`."""

    table: str
    schema_name: str
    table_name: str
    partition_key: str | None
    problem: str

    def as_dict(self) -> dict:
        return {"table": self.table, "schema_name": self.schema_name, "table_name": self.table_name,
                "partition_key": self.partition_key, "problem": self.problem}


def verify_checkpoints(store: PipelineStore, checkpoints: list[Checkpoint], *,
                       bar: ProgressBar | None = None) -> list[VerifyProblem]:
    """Every problem found, in checkpoint order; an empty list means all are intact.

    Each table is scanned once for all its slices. `bar` counts rows: a table adds its rows when
    done, and DuckDB's progress of the running scan fills in between.
    """
    by_table: dict[tuple[str, str], list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        by_table.setdefault((checkpoint.schema_name, checkpoint.table_name), []).append(checkpoint)
    found: dict[int, str] = {}
    done, scanning = 0, {"rows": 0}

    def on_percent(percent: float) -> None:
        bar.update(done + percent / 100 * scanning["rows"])

    with store.session(), store.connect() as con:
        with watch_query_progress(con, on_percent, enabled=bar is not None and bar.enabled):
            for group in by_table.values():
                scanning["rows"] = sum(c.row_count for c in group)
                for checkpoint, problem in zip(group, store.verify_checkpoints(group)):
                    if problem is not None:
                        found[id(checkpoint)] = problem
                done += scanning["rows"]
                if bar is not None:
                    bar.update(done)
    return [VerifyProblem(checkpoint_label(c), c.schema_name, c.table_name, c.partition_key, found[id(c)])
            for c in checkpoints if id(c) in found]
