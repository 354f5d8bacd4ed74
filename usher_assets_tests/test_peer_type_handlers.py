"""Dagster's TemplateTypeHandlerTestSuite, run on our DuckDBIOManager.

Ported from dagster-io/dagster python_modules/dagster/dagster_tests/storage_tests/
test_db_io_manager_type_handler.py. What this suite adds to the type-handler files: upper-case
column names, a table name that differs from the loading asset's, and a partitioned downstream on
another I/O manager (the filesystem one) that must be handed exactly its own partition's 3 rows. The
suite's two skipped tests (ops, assets) are covered by test_peer_scenarios.py. Every test runs on
pandas, as the suite is written, and on polars, one of its DataFrameType values.
"""

import dagster as dg
import pytest
from dagster._check import CheckError

from peer_support import PEER_LIBS, make_manager, sql_column, sql_columns

SCHEMA = "my_schema"
TABLE = "test_table"
OP = f"{SCHEMA}__{TABLE}"


@pytest.fixture(params=PEER_LIBS, ids=repr)
def lib(request):
    return request.param


@pytest.fixture
def db(tmp_path):
    return tmp_path / "unit_test.duckdb"


def downstream_of(lib, partitions_def, seen: list):
    """A partitioned downstream stored by the filesystem I/O manager, recording how many rows it was handed."""

    @dg.asset(partitions_def=partitions_def, key_prefix=[SCHEMA], ins={"df": dg.AssetIn([SCHEMA, TABLE])},
              io_manager_key="fs_io")
    def downstream_partitioned(df: lib.type) -> None:
        seen.append(lib.rows(df))

    return downstream_partitioned


def value_config(value: str, **more) -> dict:
    return {"ops": {OP: {"config": {"value": value, **more}}}}


def resources(db, lib) -> dict:
    return {"io_manager": make_manager(db, lib), "fs_io": dg.FilesystemIOManager(base_dir=str(db.parent / "fs"))}


def test_not_supported_type(db, lib):
    @dg.asset
    def not_supported() -> int:
        return 1

    with pytest.raises(CheckError, match="does not have a handler for type '<class 'int'>'"):
        dg.materialize([not_supported], resources={"io_manager": make_manager(db, lib)})


def test_loading_columns(db, lib):
    @dg.asset(key_prefix=[SCHEMA], name="table_1")
    def b_df() -> lib.type:
        return lib.build({"A": [1, 2, 3], "B": [4, 5, 6]})

    @dg.asset(key_prefix=[SCHEMA], name="table_2", ins={"df": dg.AssetIn([SCHEMA, "table_1"], metadata={"columns": ["A"]})})
    def b_plus_one_columns(df: lib.type) -> lib.type:
        return df + 1

    for _ in range(2):
        assert dg.materialize([b_df, b_plus_one_columns], resources={"io_manager": make_manager(db, lib)}).success
        assert sql_column(db, f"{SCHEMA}.table_1", "A") == [1, 2, 3]
        assert sql_column(db, f"{SCHEMA}.table_2", "A") == [2, 3, 4]
        assert sql_columns(db, f"{SCHEMA}.table_2") == ["A"]


def test_time_window_partitioned(db, lib):
    partitions_def = dg.DailyPartitionsDefinition(start_date="2022-01-01")
    seen = []

    @dg.asset(partitions_def=partitions_def, key_prefix=[SCHEMA], metadata={"partition_expr": "TIME"},
              config_schema={"value": str}, name=TABLE)
    def daily_partitioned(context: dg.AssetExecutionContext) -> lib.type:
        start = context.partition_time_window.start.replace(tzinfo=None)
        value = context.op_execution_context.op_config["value"]
        return lib.build({"TIME": [start] * 3, "A": [value] * 3, "B": [4, 5, 6]})

    assets = [daily_partitioned, downstream_of(lib, partitions_def, seen)]
    for key, value, expected in [("2022-01-01", "1", ["1"] * 3), ("2022-01-02", "2", ["1"] * 3 + ["2"] * 3),
                                 ("2022-01-01", "3", ["2"] * 3 + ["3"] * 3)]:
        dg.materialize(assets, partition_key=key, resources=resources(db, lib), run_config=value_config(value))
        assert sorted(sql_column(db, f"{SCHEMA}.{TABLE}", "A")) == expected
    assert seen == [3, 3, 3]


def test_static_partitioned(db, lib):
    partitions_def = dg.StaticPartitionsDefinition(["red", "yellow", "blue"])
    seen = []

    @dg.asset(partitions_def=partitions_def, key_prefix=[SCHEMA], metadata={"partition_expr": "COLOR"},
              config_schema={"value": str}, name=TABLE)
    def static_partitioned(context: dg.AssetExecutionContext) -> lib.type:
        value = context.op_execution_context.op_config["value"]
        return lib.build({"COLOR": [context.partition_key] * 3, "A": [value] * 3, "B": [4, 5, 6]})

    assets = [static_partitioned, downstream_of(lib, partitions_def, seen)]
    for key, value, expected in [("red", "1", ["1"] * 3), ("blue", "2", ["1"] * 3 + ["2"] * 3),
                                 ("red", "3", ["2"] * 3 + ["3"] * 3)]:
        dg.materialize(assets, partition_key=key, resources=resources(db, lib), run_config=value_config(value))
        assert sorted(sql_column(db, f"{SCHEMA}.{TABLE}", "A")) == expected
    assert seen == [3, 3, 3]


def test_multi_partitioned(db, lib):
    partitions_def = dg.MultiPartitionsDefinition({
        "TIME": dg.DailyPartitionsDefinition(start_date="2022-01-01"),
        "COLOR": dg.StaticPartitionsDefinition(["red", "yellow", "blue"])})
    seen = []

    @dg.asset(partitions_def=partitions_def, key_prefix=[SCHEMA],
              metadata={"partition_expr": {"TIME": "TIME", "COLOR": "COLOR"}}, config_schema={"value": str}, name=TABLE)
    def multi_partitioned(context) -> lib.type:
        keys = context.partition_key.keys_by_dimension
        time = partitions_def.get_partitions_def_for_dimension("TIME").time_window_for_partition_key(
            keys["TIME"]).start.replace(tzinfo=None)
        value = context.op_execution_context.op_config["value"]
        return lib.build({"COLOR": [keys["COLOR"]] * 3, "TIME": [time] * 3, "A": [value] * 3})

    assets = [multi_partitioned, downstream_of(lib, partitions_def, seen)]
    steps = [({"TIME": "2022-01-01", "COLOR": "red"}, "1", ["1"] * 3),
             ({"TIME": "2022-01-01", "COLOR": "blue"}, "2", ["1"] * 3 + ["2"] * 3),
             ({"TIME": "2022-01-02", "COLOR": "red"}, "3", ["1"] * 3 + ["2"] * 3 + ["3"] * 3),
             ({"TIME": "2022-01-01", "COLOR": "red"}, "4", ["2"] * 3 + ["3"] * 3 + ["4"] * 3)]
    for keys, value, expected in steps:
        dg.materialize(assets, partition_key=dg.MultiPartitionKey(keys), resources=resources(db, lib),
                       run_config=value_config(value))
        assert sorted(sql_column(db, f"{SCHEMA}.{TABLE}", "A")) == expected
    assert seen == [3, 3, 3, 3]


def test_dynamic_partitioned(db, lib):
    partitions_def = dg.DynamicPartitionsDefinition(name="dynamic_fruits")
    seen = []

    @dg.asset(partitions_def=partitions_def, key_prefix=[SCHEMA], metadata={"partition_expr": "FRUIT"},
              config_schema={"value": str}, name=TABLE)
    def dynamic_partitioned(context: dg.AssetExecutionContext) -> lib.type:
        value = context.op_execution_context.op_config["value"]
        return lib.build({"FRUIT": [context.partition_key] * 3, "A": [value] * 3})

    assets = [dynamic_partitioned, downstream_of(lib, partitions_def, seen)]
    with dg.instance_for_test() as instance:
        for key, value, expected in [("apple", "1", ["1"] * 3), ("orange", "2", ["1"] * 3 + ["2"] * 3),
                                     ("apple", "3", ["2"] * 3 + ["3"] * 3)]:
            instance.add_dynamic_partitions(partitions_def.name, [key])
            dg.materialize(assets, partition_key=key, resources=resources(db, lib), instance=instance,
                           run_config=value_config(value))
            assert sorted(sql_column(db, f"{SCHEMA}.{TABLE}", "A")) == expected
    assert seen == [3, 3, 3]


def test_self_dependent_asset(db, lib):
    partitions_def = dg.DailyPartitionsDefinition(start_date="2023-01-01")
    seen = []
    loaded = []

    @dg.asset(
        partitions_def=partitions_def,
        key_prefix=[SCHEMA],
        ins={"self_dependent_asset": dg.AssetIn(
            key=dg.AssetKey([SCHEMA, TABLE]),
            partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1))},
        metadata={"partition_expr": "TIME"},
        config_schema={"value": str, "last_partition_key": str},
        name=TABLE)
    def self_dependent_asset(context: dg.AssetExecutionContext, self_dependent_asset: lib.type) -> lib.type:
        config = context.op_execution_context.op_config
        loaded.append(lib.rows(self_dependent_asset))
        if lib.is_empty(self_dependent_asset):
            assert config["last_partition_key"] == "NA"
        else:
            times = lib.values(self_dependent_asset, "TIME")
            assert [str(t)[:10] for t in times] == [config["last_partition_key"]] * 3
        start = context.partition_time_window.start.replace(tzinfo=None)
        return lib.build({"TIME": [start] * 3, "A": [config["value"]] * 3, "B": [4, 5, 6]})

    assets = [self_dependent_asset, downstream_of(lib, partitions_def, seen)]
    for key, value, last, expected in [("2023-01-01", "1", "NA", ["1"] * 3),
                                       ("2023-01-02", "2", "2023-01-01", ["1"] * 3 + ["2"] * 3)]:
        dg.materialize(assets, partition_key=key, resources=resources(db, lib),
                       run_config=value_config(value, last_partition_key=last))
        assert sql_column(db, f"{SCHEMA}.{TABLE}", "A") == expected
    assert loaded == [0, 3]
    assert seen == [3, 3]


def test_quoted_identifiers_asset(db, lib):
    @dg.asset(key_prefix=[SCHEMA], name=TABLE)
    def illegal_column_name() -> lib.type:
        return lib.build({
            "5foo": [1, 2, 3],  # starts with a digit
            "column with a space": [1, 2, 3],
            "column_with_punctuation!": [1, 2, 3],
            "by": [1, 2, 3],  # reserved word
        })

    assert dg.materialize([illegal_column_name], resources={"io_manager": make_manager(db, lib)}).success
    # Beyond the suite (which checks success only): the columns are stored under their own names.
    assert sql_columns(db, f"{SCHEMA}.{TABLE}") == ["5foo", "column with a space", "column_with_punctuation!", "by"]
