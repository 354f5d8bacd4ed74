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

    `bar` counts rows: each checkpoint adds its row count when done, and DuckDB's progress of the
    running hash query fills in between, so one large table does not freeze the bar.
    """
    problems = []
    done = 0
    current = {"rows": 0}

    def on_percent(percent: float) -> None:
        bar.update(done + percent / 100 * current["rows"])

    with store.session(), store.connect() as con:
        with watch_query_progress(con, on_percent, enabled=bar is not None and bar.enabled):
            for checkpoint in checkpoints:
                current["rows"] = checkpoint.row_count
                problem = store.verify_checkpoint(checkpoint)
                if problem is not None:
                    problems.append(VerifyProblem(checkpoint_label(checkpoint), checkpoint.schema_name,
                                                  checkpoint.table_name, checkpoint.partition_key, problem))
                done += checkpoint.row_count
                if bar is not None:
                    bar.update(done)
    return problems
