"""The range check on a real DuckDB table: NULLs pass, values outside the bounds or NaN fail, named per column."""

import polars as pl
import pytest

from usher_assets.storage.sql import TableRef
from usher_assets.storage.table_checks import evaluate_check, range_checks

REF = TableRef("scoring", "scores")


@pytest.fixture
def scores(store):
    store.save_dataframe(pl.DataFrame({"a_score": [0.0, 1.0, 0.5], "b_score": [0.5, None, float("nan")],
                                       "correlation": [-0.2, 0.3, 0.9]}), "scores", schema="scoring")
    return store


@pytest.mark.parametrize("columns, bounds, passed, finding", [
    (("a_score",), (0.0, 1.0), True, "a_score within [0, 1]"),
    # NULL is "no evidence", not out of range; NaN is a broken computation.
    (("a_score", "b_score"), (0.0, 1.0), False, "rows outside [0, 1]: {'b_score': 1}"),
    (("correlation",), (0.0, 1.0), False, "rows outside [0, 1]: {'correlation': 1}"),
    (("correlation",), (-1.0, 1.0), True, "correlation within [-1, 1]"),
])
def test_range_check_names_the_columns_out_of_range(scores, columns, bounds, passed, finding):
    (check,) = range_checks(*columns, bounds=bounds)
    assert evaluate_check(scores, REF, check)[:2] == (passed, finding)


def test_range_check_name_stays_short_for_many_columns():
    assert range_checks("a_score", "b_score", "c_score")[0].name == "range_a_score_and_2_more"
    assert range_checks("a_score")[0].name == "range_a_score"


def test_content_rules_are_read_back_for_unchanged_content_and_evaluated_again_after_a_change(store, monkeypatch):
    import polars as pl

    from usher_assets.storage import table_checks
    from usher_assets.storage.table_checks import TableCheck, run_checks

    rules = (TableCheck("unique", ("gene",)), *range_checks("score"), TableCheck("row_count"))
    evaluated = []
    real = table_checks.evaluate_check
    monkeypatch.setattr(table_checks, "evaluate_check",
                        lambda s, r, check: evaluated.append(check.name) or real(s, r, check))
    ref = TableRef("main", "genes")
    store.save_dataframe(pl.DataFrame({"gene": ["A", "B"], "score": [0.1, 0.9]}), "genes")
    first = run_checks(store, ref, rules)
    again = run_checks(store, ref, rules)
    assert first == again and all(passed for passed, _finding, _figures in again.values())
    # Unchanged content: only the row-count rule, which compares versions, is evaluated again.
    assert evaluated == ["unique_gene", "range_score", "row_count", "row_count"]
    store.save_dataframe(pl.DataFrame({"gene": ["A", "A"], "score": [0.1, 1.5]}), "genes")
    evaluated.clear()
    changed = run_checks(store, ref, rules)
    assert evaluated == ["unique_gene", "range_score", "row_count"]
    assert not changed["unique_gene"][0] and not changed["range_score"][0]
