"""dagster-duckdb's own scenarios, run on our DuckDBIOManager the way a dagster-duckdb user would.

Ported from dagster-io/dagster:
  python_modules/libraries/dagster-duckdb-polars/dagster_duckdb_polars_tests/test_type_handler.py
  python_modules/libraries/dagster-duckdb-pandas/dagster_duckdb_pandas_tests/test_type_handler.py
  python_modules/libraries/dagster-duckdb/dagster_duckdb_tests/test_resource.py
The two type-handler files are one scenario list run on two frame libraries; here they are one test
parametrized over polars and pandas. Stored data is asserted on what raw SQL sees. Where a scenario
goes beyond its peer original (extra partitions, a column check), the test says so.
The last section covers what our manager adds to a plain asset: its checkpoint.
"""

import dagster as dg
import pytest
from dagster._check import CheckError
from dagster_duckdb import DuckDBResource

from peer_support import ALL_LIBS, PANDAS, PEER_LIBS, make_manager, sql, sql_column, sql_columns, tables

peer_libs = pytest.mark.parametrize("lib", PEER_LIBS, ids=repr)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "unit_test.duckdb"


def one_run_config(op_name: str, **config) -> dict:
    return {"ops": {op_name: {"config": config}}}


# --- unpartitioned assets and ops ----------------------------------------------------------------


@peer_libs
def test_op_job_outputs_go_to_out_metadata_schema(db, lib):
    """Op outputs: table named after the output (`result`), schema from `Out(metadata={"schema": ...})`."""

    @dg.op(out=dg.Out(metadata={"schema": "a_df"}))
    def a_df() -> lib.type:
        return lib.build({"a": [1, 2, 3], "b": [4, 5, 6]})

    @dg.op(out=dg.Out(metadata={"schema": "add_one"}))
    def add_one(df: lib.type):
        return df + 1

    @dg.graph
    def add_one_to_dataframe():
        add_one(a_df())

    job = add_one_to_dataframe.to_job(resource_defs={"io_manager": make_manager(db, lib)})
    for _ in range(2):  # the second run replaces the tables
        assert job.execute_in_process().success
        assert sql_column(db, "a_df.result", "a") == [1, 2, 3]
        assert sql_column(db, "add_one.result", "a") == [2, 3, 4]


@peer_libs
def test_key_prefix_is_the_schema(db, lib):
    @dg.asset(key_prefix=["my_schema"])
    def b_df() -> lib.type:
        return lib.build({"a": [1, 2, 3], "b": [4, 5, 6]})

    @dg.asset(key_prefix=["my_schema"])
    def b_plus_one(b_df: lib.type) -> lib.type:
        return b_df + 1

    for _ in range(2):
        assert dg.materialize([b_df, b_plus_one], resources={"io_manager": make_manager(db, lib)}).success
        assert sql_column(db, "my_schema.b_df", "a") == [1, 2, 3]
        assert sql_column(db, "my_schema.b_plus_one", "a") == [2, 3, 4]


@peer_libs
def test_manager_schema_holds_unprefixed_assets(db, lib):
    @dg.asset
    def my_df() -> lib.type:
        return lib.build({"a": [1, 2, 3], "b": [4, 5, 6]})

    @dg.asset
    def my_df_plus_one(my_df: lib.type) -> lib.type:
        return my_df + 1

    for _ in range(2):
        manager = make_manager(db, lib, schema="custom_schema")
        assert dg.materialize([my_df, my_df_plus_one], resources={"io_manager": manager}).success
        assert sql_column(db, "custom_schema.my_df", "a") == [1, 2, 3]
        assert sql_column(db, "custom_schema.my_df_plus_one", "a") == [2, 3, 4]
    assert tables(db) == {"custom_schema.my_df", "custom_schema.my_df_plus_one"}  # beyond the peer's test


@peer_libs
def test_asset_in_columns_loads_only_those_columns(db, lib):
    @dg.asset(key_prefix=["my_schema"])
    def b_df() -> lib.type:
        return lib.build({"a": [1, 2, 3], "b": [4, 5, 6]})

    @dg.asset(key_prefix=["my_schema"], ins={"b_df": dg.AssetIn("b_df", metadata={"columns": ["a"]})})
    def b_plus_one_columns(b_df: lib.type) -> lib.type:
        return b_df + 1

    for _ in range(2):
        assert dg.materialize([b_df, b_plus_one_columns], resources={"io_manager": make_manager(db, lib)}).success
        assert sql_column(db, "my_schema.b_df", "a") == [1, 2, 3]
        assert sql_column(db, "my_schema.b_plus_one_columns", "a") == [2, 3, 4]
        assert sql_columns(db, "my_schema.b_plus_one_columns") == ["a"]


@peer_libs
def test_unsupported_type_from_an_op(db, lib):
    @dg.op
    def non_supported_type() -> int:
        return 1

    @dg.graph
    def not_supported():
        non_supported_type()

    job = not_supported.to_job(resource_defs={"io_manager": make_manager(db, lib)})
    with pytest.raises(CheckError, match="DuckDBIOManager does not have a handler for type '<class 'int'>'"):
        job.execute_in_process()


# --- partitioned assets: partition_expr names the user's own column --------------------------------


@peer_libs
def test_time_window_partitioned_asset(db, lib):
    @dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2022-01-01"), key_prefix=["my_schema"],
              metadata={"partition_expr": "time"}, config_schema={"value": str})
    def daily_partitioned(context) -> lib.type:
        start = context.partition_time_window.start.replace(tzinfo=None)
        value = context.op_execution_context.op_config["value"]
        return lib.build({"time": [start] * 3, "a": [value] * 3, "b": [4, 5, 6]})

    manager = make_manager(db, lib)
    for key, value, expected in [("2022-01-01", "1", ["1"] * 3), ("2022-01-02", "2", ["1"] * 3 + ["2"] * 3),
                                 ("2022-01-01", "3", ["2"] * 3 + ["3"] * 3)]:
        dg.materialize([daily_partitioned], partition_key=key, resources={"io_manager": manager},
                       run_config=one_run_config("my_schema__daily_partitioned", value=value))
        assert sorted(sql_column(db, "my_schema.daily_partitioned", "a")) == expected
    # Beyond the peer's test: the table holds the user's columns only.
    assert sql_columns(db, "my_schema.daily_partitioned") == ["time", "a", "b"]


@peer_libs
def test_static_partitioned_asset(db, lib):
    @dg.asset(partitions_def=dg.StaticPartitionsDefinition(["red", "yellow", "blue"]), key_prefix=["my_schema"],
              metadata={"partition_expr": "color"}, config_schema={"value": str})
    def static_partitioned(context) -> lib.type:
        value = context.op_execution_context.op_config["value"]
        return lib.build({"color": [context.partition_key] * 3, "a": [value] * 3, "b": [4, 5, 6]})

    manager = make_manager(db, lib)
    for key, value, expected in [("red", "1", ["1"] * 3), ("blue", "2", ["1"] * 3 + ["2"] * 3),
                                 ("red", "3", ["2"] * 3 + ["3"] * 3)]:
        dg.materialize([static_partitioned], partition_key=key, resources={"io_manager": manager},
                       run_config=one_run_config("my_schema__static_partitioned", value=value))
        assert sorted(sql_column(db, "my_schema.static_partitioned", "a")) == expected
    assert sql_columns(db, "my_schema.static_partitioned") == ["color", "a", "b"]


def multi_partitioned_asset(lib):
    """Multi partitions with a partition_expr per dimension; `time` is stored as text and cast in SQL."""

    @dg.asset(
        partitions_def=dg.MultiPartitionsDefinition({
            "time": dg.DailyPartitionsDefinition(start_date="2022-01-01"),
            "color": dg.StaticPartitionsDefinition(["red", "yellow", "blue"])}),
        key_prefix=["my_schema"],
        metadata={"partition_expr": {"time": "CAST(time as TIMESTAMP)", "color": "color"}},
        config_schema={"value": str})
    def multi_partitioned(context) -> lib.type:
        keys = context.partition_key.keys_by_dimension
        value = context.op_execution_context.op_config["value"]
        return lib.build({"color": [keys["color"]] * 3, "time": [keys["time"]] * 3, "a": [value] * 3})

    return multi_partitioned


@peer_libs
def test_multi_partitioned_asset(db, lib):
    multi_partitioned = multi_partitioned_asset(lib)
    manager = make_manager(db, lib)
    steps = [({"time": "2022-01-01", "color": "red"}, "1", ["1"] * 3),
             ({"time": "2022-01-01", "color": "blue"}, "2", ["1"] * 3 + ["2"] * 3),
             ({"time": "2022-01-02", "color": "red"}, "3", ["1"] * 3 + ["2"] * 3 + ["3"] * 3),
             ({"time": "2022-01-01", "color": "red"}, "4", ["2"] * 3 + ["3"] * 3 + ["4"] * 3)]
    for keys, value, expected in steps:
        dg.materialize([multi_partitioned], partition_key=dg.MultiPartitionKey(keys),
                       resources={"io_manager": manager},
                       run_config=one_run_config("my_schema__multi_partitioned", value=value))
        assert sorted(sql_column(db, "my_schema.multi_partitioned", "a")) == expected
    assert sql_columns(db, "my_schema.multi_partitioned") == ["color", "time", "a"]


dynamic_fruits = dg.DynamicPartitionsDefinition(name="dynamic_fruits")


@peer_libs
def test_dynamic_partitioned_asset(db, lib):
    @dg.asset(partitions_def=dynamic_fruits, key_prefix=["my_schema"], metadata={"partition_expr": "fruit"},
              config_schema={"value": str})
    def dynamic_partitioned(context) -> lib.type:
        value = context.op_execution_context.op_config["value"]
        return lib.build({"fruit": [context.partition_key] * 3, "a": [value] * 3})

    manager = make_manager(db, lib)
    with dg.instance_for_test() as instance:
        for key, value, expected in [("apple", "1", ["1"] * 3), ("orange", "2", ["1"] * 3 + ["2"] * 3),
                                     ("apple", "3", ["2"] * 3 + ["3"] * 3)]:
            instance.add_dynamic_partitions(dynamic_fruits.name, [key])
            dg.materialize([dynamic_partitioned], partition_key=key, resources={"io_manager": manager},
                           instance=instance, run_config=one_run_config("my_schema__dynamic_partitioned", value=value))
            assert sorted(sql_column(db, "my_schema.dynamic_partitioned", "a")) == expected
    assert sql_columns(db, "my_schema.dynamic_partitioned") == ["fruit", "a"]


# --- partition mappings ------------------------------------------------------------------------------


@peer_libs
def test_self_dependent_asset(db, lib):
    """TimeWindowPartitionMapping(-1, -1) onto itself: the first day maps to no partition and gets an empty frame."""
    seen = []

    @dg.asset(
        partitions_def=dg.DailyPartitionsDefinition(start_date="2023-01-01"),
        key_prefix=["my_schema"],
        ins={"self_dependent_asset": dg.AssetIn(
            key=dg.AssetKey(["my_schema", "self_dependent_asset"]),
            partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1))},
        metadata={"partition_expr": "strptime(key, '%Y-%m-%d')"},
        config_schema={"value": str, "last_partition_key": str})
    def self_dependent_asset(context, self_dependent_asset: lib.type) -> lib.type:
        config = context.op_execution_context.op_config
        seen.append(lib.rows(self_dependent_asset))
        if lib.is_empty(self_dependent_asset):
            assert config["last_partition_key"] == "NA"
        else:
            assert lib.values(self_dependent_asset, "key") == [config["last_partition_key"]] * 3
        key = context.partition_key
        return lib.build({"key": [key] * 3, "a": [config["value"]] * 3})

    manager = make_manager(db, lib)
    for key, value, last in [("2023-01-01", "1", "NA"), ("2023-01-02", "2", "2023-01-01")]:
        dg.materialize([self_dependent_asset], partition_key=key, resources={"io_manager": manager},
                       run_config=one_run_config("my_schema__self_dependent_asset", value=value,
                                                 last_partition_key=last))
    assert seen == [0, 3]
    assert sql_column(db, "my_schema.self_dependent_asset", "a") == ["1"] * 3 + ["2"] * 3
    assert sql_columns(db, "my_schema.self_dependent_asset") == ["key", "a"]


@peer_libs
def test_multi_partitioned_asset_with_downstream_mapping(db, lib):
    """MultiToSingleDimensionPartitionMapping: a daily downstream gets every color of its day, and only its day.

    Beyond the peer's test: a partition of another day is stored too, and must not reach the downstream.
    """
    multi_partitioned = multi_partitioned_asset(lib)
    seen = {}

    @dg.asset(
        ins={"multi_partitioned": dg.AssetIn(
            key=["my_schema", "multi_partitioned"],
            partition_mapping=dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="time"))},
        partitions_def=dg.DailyPartitionsDefinition(start_date="2022-01-01"),
        metadata={"partition_expr": "CAST(time as TIMESTAMP)"})
    def downstream_of_multi_partitioned(context, multi_partitioned: lib.type) -> None:
        seen["color"] = sorted(lib.values(multi_partitioned, "color"))
        seen["time"] = set(lib.values(multi_partitioned, "time"))
        assert context.partition_key in seen["time"]

    manager = make_manager(db, lib)
    with dg.instance_for_test() as instance:
        for keys in [{"time": "2022-01-01", "color": "red"}, {"time": "2022-01-01", "color": "blue"},
                     {"time": "2022-01-02", "color": "red"}]:
            dg.materialize([multi_partitioned], partition_key=dg.MultiPartitionKey(keys),
                           resources={"io_manager": manager}, instance=instance,
                           run_config=one_run_config("my_schema__multi_partitioned", value="1"))
        dg.materialize([multi_partitioned.to_source_asset(), downstream_of_multi_partitioned],
                       partition_key="2022-01-01", resources={"io_manager": manager}, instance=instance)
    assert seen == {"color": ["blue"] * 3 + ["red"] * 3, "time": {"2022-01-01"}}


@peer_libs
def test_unpartitioned_downstream_gets_every_stored_partition(db, lib):
    """No peer test states it; DbIOManager maps an unpartitioned input to all upstream keys (`color in (...)`)."""
    seen = {}

    @dg.asset(partitions_def=dg.StaticPartitionsDefinition(["red", "yellow", "blue"]), key_prefix=["my_schema"],
              metadata={"partition_expr": "color"})
    def colours(context) -> lib.type:
        return lib.build({"color": [context.partition_key] * 3, "b": [4, 5, 6]})

    @dg.asset(key_prefix=["my_schema"])
    def all_colours(colours: lib.type) -> None:
        seen["color"] = sorted(lib.values(colours, "color"))

    manager = make_manager(db, lib)
    for key in ("red", "blue"):
        dg.materialize([colours], partition_key=key, resources={"io_manager": manager})
    dg.materialize([colours.to_source_asset(), all_colours], resources={"io_manager": manager})
    assert seen == {"color": ["blue"] * 3 + ["red"] * 3}


# --- errors the peer raises ---------------------------------------------------------------------------


def test_partitioned_asset_without_partition_expr_is_refused(db):
    """dagster's DbIOManager._get_table_slice: a partitioned asset needs `partition_expr` metadata."""

    @dg.asset(partitions_def=dg.StaticPartitionsDefinition(["red"]))
    def no_expr() -> PANDAS.type:
        return PANDAS.build({"color": ["red"]})

    with pytest.raises(ValueError, match="has partitions, but no 'partition_expr' metadata value"):
        dg.materialize([no_expr], partition_key="red", resources={"io_manager": make_manager(db)})


# --- schema precedence (dagster's DbIOManager._get_table_slice; no peer test states it) ---------------


def test_schema_precedence_metadata_then_manager_then_key_prefix(db):
    @dg.asset(key_prefix=["prefix_schema"], metadata={"schema": "meta_schema"})
    def by_metadata() -> PANDAS.type:
        return PANDAS.build({"a": [1]})

    @dg.asset(key_prefix=["prefix_schema"])
    def by_manager() -> PANDAS.type:
        return PANDAS.build({"a": [2]})

    @dg.asset(metadata={"schema": "meta_schema"})
    def unprefixed_by_metadata() -> PANDAS.type:
        return PANDAS.build({"a": [3]})

    assets = [by_metadata, by_manager, unprefixed_by_metadata]
    dg.materialize(assets, resources={"io_manager": make_manager(db, schema="custom_schema")})
    assert tables(db) == {"meta_schema.by_metadata", "custom_schema.by_manager", "meta_schema.unprefixed_by_metadata"}

    other = db.with_name("no_manager_schema.duckdb")
    dg.materialize(assets, resources={"io_manager": make_manager(other)})
    assert tables(other) == {"meta_schema.by_metadata", "prefix_schema.by_manager", "meta_schema.unprefixed_by_metadata"}


# --- connection_config --------------------------------------------------------------------------------


def test_connection_config_is_passed_to_duckdb(db):
    @dg.asset
    def my_df() -> PANDAS.type:
        return PANDAS.build({"a": [1, 2, 3]})

    manager = make_manager(db, schema="custom_schema", connection_config={"arrow_large_buffer_size": True})
    assert dg.materialize([my_df], resources={"io_manager": manager}).success
    assert sql_column(db, "custom_schema.my_df", "a") == [1, 2, 3]

    # The peer hands the dict to duckdb.connect(config=...), so DuckDB itself refuses an unknown option.
    import duckdb

    bad = make_manager(db, schema="custom_schema", connection_config={"not_a_setting": 1})
    with pytest.raises(duckdb.InvalidInputException, match="not_a_setting"):
        dg.materialize([my_df], resources={"io_manager": bad})


# --- DuckDBResource (dagster-duckdb's test_resource.py), beside the I/O manager on the same file ------


def test_duckdb_resource_beside_the_io_manager(db):
    """The peer's test_resource scenario, with our I/O manager as the run's io_manager on the same file."""
    source = PANDAS.build({"a": [1, 2, 3], "b": [5, 6, 7]})

    @dg.asset
    def create_table(duckdb: DuckDBResource) -> None:
        with duckdb.get_connection() as conn:
            conn.register("source", source)
            conn.execute("CREATE TABLE my_table AS SELECT * FROM source")

    @dg.asset(deps=[create_table])
    def read_table(duckdb: DuckDBResource) -> None:
        with duckdb.get_connection() as conn:
            assert conn.execute("SELECT * FROM my_table").fetchall() == [(1, 5), (2, 6), (3, 7)]

    @dg.asset(deps=[read_table])
    def managed() -> PANDAS.type:
        return PANDAS.build({"a": [1, 2, 3]})

    @dg.asset(key_prefix=["sql"])
    def from_sql(duckdb: DuckDBResource, managed: PANDAS.type) -> None:
        with duckdb.get_connection() as conn:
            [(total,)] = conn.execute("SELECT sum(a) FROM public.managed").fetchall()
        assert total == sum(PANDAS.values(managed, "a")) == 6

    result = dg.materialize([create_table, read_table, managed, from_sql], resources={
        "io_manager": make_manager(db, schema="public"), "duckdb": DuckDBResource(database=str(db))})
    assert result.success


@pytest.mark.parametrize("config", [{"arrow_large_buffer_size": False}, {"arrow_large_buffer_size": True}])
def test_duckdb_resource_connection_config_beside_the_io_manager(db, config):
    """The peer's test_config (an op job): the resource's connection_config is in effect, our manager also bound."""

    @dg.op
    def check_config_op(duckdb: DuckDBResource) -> None:
        with duckdb.get_connection() as conn:
            for name, value in config.items():
                assert conn.execute(f"SELECT current_setting('{name}')").fetchone()[0] == value

    @dg.job(resource_defs={"duckdb": DuckDBResource(database=str(db), connection_config=config),
                           "io_manager": make_manager(db)})
    def check_config_job():
        check_config_op()

    assert check_config_job.execute_in_process().success


# --- frame types: polars DataFrame and LazyFrame, pandas, pyarrow ------------------------------------


@pytest.mark.parametrize("lib", ALL_LIBS, ids=repr)
def test_frame_type_round_trip_and_partition(db, lib):
    """Each frame type written, read back as itself, and written as one static partition.

    The peer has a handler for pandas and one for polars DataFrame only: a LazyFrame or a pyarrow Table
    goes beyond it (the stock manager refuses them with its unsupported-type CheckError).
    """
    loaded = {}

    @dg.asset(key_prefix=["frames"])
    def table() -> lib.type:
        return lib.build({"id": [1, 2, 3], "name": ["x", "y", "z"]})

    @dg.asset(key_prefix=["frames"])
    def copy(table: lib.type) -> lib.type:
        loaded["frame"] = table
        return table

    @dg.asset(key_prefix=["frames"], partitions_def=dg.StaticPartitionsDefinition(["p", "q"]),
              metadata={"partition_expr": "part"})
    def sliced(context) -> lib.type:
        return lib.build({"part": [context.partition_key] * 2, "id": [1, 2]})

    resources = {"io_manager": make_manager(db, lib)}
    assert dg.materialize([table, copy], resources=resources).success
    assert isinstance(loaded["frame"], lib.type)
    assert lib.values(loaded["frame"], "name") == ["x", "y", "z"]
    assert sql(db, "SELECT * FROM frames.copy ORDER BY id")[1] == [(1, "x"), (2, "y"), (3, "z")]
    for key in ("p", "q"):
        assert dg.materialize([sliced], partition_key=key, resources=resources).success
    assert sql(db, "SELECT * FROM frames.sliced ORDER BY part, id") == (
        ["part", "id"], [("p", 1), ("p", 2), ("q", 1), ("q", 2)])


# --- ours: a plain asset on our manager records a real checkpoint -----------------------------------


def checkpoints(database, table: str) -> list[dict]:
    names, rows = sql(database, "SELECT schema_name, table_name, partition_key, fingerprint, content_hash, row_count "
                                f"FROM main._checkpoints WHERE table_name = '{table}' ORDER BY partition_key")
    return [dict(zip(names, row)) for row in rows]


def test_plain_asset_rerun_unchanged_has_a_non_empty_fingerprint(db):
    @dg.asset(key_prefix=["plain"])
    def plain() -> PANDAS.type:
        return PANDAS.build({"a": [1, 2, 3]})

    found = []
    for _ in range(2):
        assert dg.materialize([plain], resources={"io_manager": make_manager(db)}).success
        found.append(checkpoints(db, "plain"))
    first, second = found
    assert len(first) == len(second) == 1
    assert second[0]["schema_name"] == "plain" and second[0]["row_count"] == 3
    assert second[0]["fingerprint"], "a plain asset's checkpoint has an empty fingerprint"
    assert second[0]["fingerprint"] == first[0]["fingerprint"]  # nothing changed between the runs
    assert second[0]["content_hash"] == first[0]["content_hash"]


def test_plain_asset_fingerprint_follows_code_version(db):
    def versioned(version):
        @dg.asset(name="versioned", code_version=version)
        def _asset() -> PANDAS.type:
            return PANDAS.build({"a": [1, 2, 3]})

        return _asset

    prints = []
    for version in ("1", "2"):
        assert dg.materialize([versioned(version)], resources={"io_manager": make_manager(db)}).success
        [checkpoint] = checkpoints(db, "versioned")
        prints.append(checkpoint["fingerprint"])
    assert all(prints) and prints[0] != prints[1]


def test_plain_partitioned_asset_has_a_fingerprint_per_partition(db):
    @dg.asset(partitions_def=dg.StaticPartitionsDefinition(["red", "blue"]), metadata={"partition_expr": "color"})
    def coloured(context) -> PANDAS.type:
        return PANDAS.build({"color": [context.partition_key], "a": [1]})

    for key in ("red", "blue"):
        assert dg.materialize([coloured], partition_key=key, resources={"io_manager": make_manager(db)}).success
    found = checkpoints(db, "coloured")
    assert [c["partition_key"] for c in found] == ["blue", "red"]
    assert all(c["fingerprint"] for c in found) and found[0]["fingerprint"] != found[1]["fingerprint"]
    assert [c["row_count"] for c in found] == [1, 1]
