"""The range check on a real DuckDB table: NULLs pass, values outside the bounds or NaN fail, named per column."""

import pytest

from usher_assets.storage.sql import TableRef
from usher_assets.storage.table_checks import evaluate_check, range_checks

REF = TableRef("scoring", "scores")


@pytest.fixture
def scores(store):
    with store.transaction() as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS scoring")
        con.execute("CREATE TABLE scoring.scores AS SELECT * FROM (VALUES (0.0, 0.5, -0.2), (1.0, NULL, 0.3), "
                    "(0.5, 'NaN'::DOUBLE, 0.9)) AS t(a_score, b_score, correlation)")
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
