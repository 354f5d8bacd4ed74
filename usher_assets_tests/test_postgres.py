"""docs/postgres.dagster.yaml: a real `dagster asset materialize` records its run and materializations in PostgreSQL.

The run is over a clone of the golden build, so every checkpoint is reused: what is tested here is the instance
storage. A clean build on the same instance file, computing every asset, is test_celery.py's first run.
"""

import shutil
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest

from conftest import clone_build, write_config
from local_services import postgres_server, require
from pipeline_runs import all_asset_keys, checkpoints_by_asset, latest_run, materialize_cli, pipeline_env
from usher_assets.definitions import defs

pytestmark = pytest.mark.slow
DOCS = Path(__file__).resolve().parent.parent / "docs"
DATABASE = "dagster_usher"


@pytest.fixture(scope="module")
def postgres():
    require("initdb", "pg_ctl")
    with postgres_server() as server:
        server.create_database(DATABASE)
        yield server


@pytest.fixture(scope="module")
def postgres_run(postgres, golden_build, tmp_path_factory):
    """One full-range CLI materialization with the documented instance file as $DAGSTER_HOME/dagster.yaml."""
    work = tmp_path_factory.mktemp("postgres_run")
    clone_build(golden_build, work)
    home = work / "dagster_home"
    home.mkdir()
    shutil.copy(DOCS / "postgres.dagster.yaml", home / "dagster.yaml")
    env = pipeline_env(home, write_config(work), **postgres.dagster_env(DATABASE))
    seconds = materialize_cli(env, work, ["-m", "usher_assets.definitions"])
    with pytest.MonkeyPatch.context() as patch:
        for name, value in postgres.dagster_env(DATABASE).items():
            patch.setenv(name, value)  # the yaml reads them when the instance loads
        with dg.DagsterInstance.from_config(str(home)) as instance:
            run = latest_run(instance)
            checkpoints = checkpoints_by_asset(instance, run.run_id)
            storages = {type(instance.run_storage).__name__, type(instance.event_log_storage).__name__}
            yield SimpleNamespace(home=home, run=run, checkpoints=checkpoints, seconds=seconds,
                                  storages=storages)


def test_postgres_instance_is_the_documented_storage(postgres_run):
    assert postgres_run.storages == {"PostgresRunStorage", "PostgresEventLogStorage"}
    assert not list(postgres_run.home.rglob("*.db")), "SQLite files appeared: the run did not use PostgreSQL"


def test_postgres_records_the_cli_run_as_a_success(postgres, postgres_run):
    rows = postgres.query(DATABASE, "SELECT run_id, status FROM runs")
    assert rows == [(postgres_run.run.run_id, "SUCCESS")]
    assert postgres_run.run.tags["dagster/asset_partition_range_start"] == "1"
    assert postgres_run.run.tags["dagster/asset_partition_range_end"] == "MT"


def test_postgres_records_a_materialization_of_every_asset(postgres, postgres_run):
    rows = postgres.query(DATABASE, "SELECT asset_key, count(DISTINCT partition) FROM event_logs "
                                    "WHERE dagster_event_type = 'ASSET_MATERIALIZATION' AND run_id = %s "
                                    "GROUP BY asset_key", (postgres_run.run.run_id,))
    partitions = {dg.AssetKey.from_db_string(key).to_user_string(): count for key, count in rows}
    assert set(partitions) == all_asset_keys(defs)
    # Evidence assets record one materialization per chromosome (1..22, X, Y, MT) in the one run.
    assert partitions["annotation_evidence"] == 25
    assert partitions["hgnc"] == 0


def test_postgres_materializations_carry_their_checkpoint_outcome(postgres_run):
    # The store is the golden build's: every slice reused, and PostgreSQL holds that in each materialization.
    not_reused = {name: values for name, values in postgres_run.checkpoints.items() if values != {"reused"}}
    assert not_reused == {}
    print(f"\nreused full-range CLI run on PostgreSQL instance storage: {postgres_run.seconds:.1f} s")
