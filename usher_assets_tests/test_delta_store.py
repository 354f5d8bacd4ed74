"""What only the Delta backend promises: checkpoints inside the data's commits, many writers at once, SIGKILL at
any moment, readers that never wait, old files vacuumed, and tables other Delta readers can open."""

import gc
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import polars as pl
import psycopg2
import pytest
from deltalake import DeltaTable, write_deltalake

from usher_assets.storage.delta_index import open_index
from usher_assets.storage.delta_log import METADATA_KEY
from usher_assets.storage.delta_store import DeltaStore
from usher_assets.storage.sql import Slice, TableRef, literal
from usher_assets.storage.store import StoreError

WRITER = Path(__file__).parent / "helpers" / "delta_writer.py"
GENES = pl.DataFrame({"gene": ["MYO7A", "USH2A", "CLRN1"], "score": [0.9, 0.8, 0.1]})


def _writer(root: Path, name: str, rounds: int, rows: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WRITER), str(root), name, str(rounds), str(rows)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _rounds_by_table(store: DeltaStore) -> dict[tuple[str, str | None], int]:
    """(table, slice) -> the round its stored rows come from (every row of a slice is from one round)."""
    found = {}
    for checkpoint in store.list_checkpoints():
        frame = store.load_dataframe(checkpoint.table_name, partition_key=checkpoint.partition_key)
        rounds = frame["round"].unique().to_list()
        assert len(rounds) == 1, (checkpoint.table_name, checkpoint.partition_key, rounds)
        found[(checkpoint.table_name, checkpoint.partition_key)] = rounds[0]
    return found


def test_each_commit_carries_its_checkpoint_and_other_delta_readers_open_the_table(tmp_path):
    store = DeltaStore(tmp_path / "delta")
    checkpoint = store.save_dataframe(GENES, "genes", schema="sources", fingerprint="f1", provenance={"step": "x"})
    latest = DeltaTable(tmp_path / "delta" / "sources" / "genes").history(limit=1)[0]
    change = json.loads(latest[METADATA_KEY])
    assert change["checkpoints"][0]["fingerprint"] == "f1"
    assert change["checkpoints"][0]["content_hash"] == checkpoint.content_hash
    assert change["provenance"][0]["fingerprint"] == "f1"
    # polars reads the table as any Delta reader would; the store's two columns ride along, named apart.
    read = pl.read_delta(str(tmp_path / "delta" / "sources" / "genes"))
    assert read.select("gene", "score").sort("gene").equals(GENES.sort("gene"))
    assert set(read.columns) == {"gene", "score", "__usher_row", "__usher_partition"}


def test_an_unchanged_save_commits_only_its_new_checkpoint(tmp_path):
    store = DeltaStore(tmp_path / "delta")
    store.save_dataframe(GENES, "genes", fingerprint="f1")
    table = tmp_path / "delta" / "main" / "genes"
    files = DeltaTable(table).file_uris()
    checkpoint, wrote = store.save_if_changed(GENES, "genes", fingerprint="f2")
    assert not wrote and checkpoint.fingerprint == "f2"
    assert DeltaTable(table).file_uris() == files and DeltaTable(table).version() == 1
    # Another process (a fresh store) folds the log to the same state.
    assert DeltaStore(tmp_path / "delta").get_checkpoint("genes").fingerprint == "f2"


def test_four_writers_at_once_write_their_tables_and_slices_of_one_table(tmp_path):
    root = tmp_path / "delta"
    writers = [_writer(root, name, 3, 20_000) for name in "abcd"]
    outcomes = [w.communicate(timeout=300) for w in writers]
    assert [w.returncode for w in writers] == [0, 0, 0, 0], [err for _, err in outcomes]
    store = DeltaStore(root)
    checkpoints = store.list_checkpoints()
    assert {(c.table_name, c.partition_key) for c in checkpoints} == (
        {(f"own_{n}", None) for n in "abcd"} | {("shared", n) for n in "abcd"})
    assert store.verify_checkpoints(checkpoints) == [None] * 8
    assert set(_rounds_by_table(store).values()) == {2}
    assert {c.fingerprint for c in checkpoints if c.table_name == "shared"} == {f"{n}-2" for n in "abcd"}
    assert store.execute_query("SELECT count(*) AS n FROM main.shared")["n"][0] == 4 * 20_000


def test_a_writer_killed_at_any_moment_leaves_every_table_at_a_version_its_checkpoint_matches(tmp_path):
    root = tmp_path / "delta"
    rng = random.Random(15)
    kills = 0
    for trial in range(12):
        writer = _writer(root, "a" if trial % 2 else "b", 1000, 20_000)
        time.sleep(rng.uniform(0.8, 2.5))  # past start-up (about 0.7 s), into the saves
        writer.send_signal(signal.SIGKILL)
        writer.communicate(timeout=60)
        kills += writer.returncode == -signal.SIGKILL
        store = DeltaStore(root)
        checkpoints = store.list_checkpoints()
        assert store.verify_checkpoints(checkpoints) == [None] * len(checkpoints), trial
        # The checkpoint names the round whose rows are stored: data and checkpoint moved together.
        for (table, key), round_ in _rounds_by_table(store).items():
            fingerprint = store.get_checkpoint(table, partition_key=key).fingerprint
            assert fingerprint.endswith(f"-{round_}"), (trial, table, key, fingerprint, round_)
    assert kills == 12
    assert len(DeltaStore(root).list_checkpoints()) >= 2


def test_readers_never_wait_for_a_writer(tmp_path):
    root = tmp_path / "delta"
    writer = _writer(root, "a", 40, 50_000)
    try:
        assert writer.stdout.readline().startswith("round 0")
        # lock_timeout=0: a DuckDB file held by the writer would refuse at once; Delta has no lock to hold.
        reader = DeltaStore(root, lock_timeout=0)
        seen = []
        for _ in range(20):
            checkpoint = reader.get_checkpoint("shared", partition_key="a")
            seen.append(int(checkpoint.fingerprint.rsplit("-", 1)[1]))
            assert reader.verify_checkpoint(checkpoint) is None or reader.get_checkpoint(
                "shared", partition_key="a").fingerprint != checkpoint.fingerprint
        assert seen == sorted(seen)  # the last committed version, never one that goes back
    finally:
        writer.kill()
        writer.communicate(timeout=60)


def test_vacuum_removes_only_files_no_kept_version_reads(tmp_path):
    store = DeltaStore(tmp_path / "delta")
    for scale in (1, 2, 3):
        store.save_dataframe(GENES.with_columns(pl.col("score") * scale), "genes")
    table = DeltaTable(tmp_path / "delta" / "main" / "genes")
    assert len(table.file_uris()) == 1
    assert store.vacuum(retention_hours=24) == {"main.genes": 0}  # every version is younger than a day
    assert store.vacuum(retention_hours=0) == {"main.genes": 2}
    assert store.verify_checkpoint(store.get_checkpoint("genes")) is None
    assert store.load_dataframe("genes")["score"].to_list() == pytest.approx([2.7, 2.4, 0.3])


def test_storage_vacuum_cli_on_a_delta_config(tmp_path, config_writer):
    config = config_writer(storage={"database": str(tmp_path / "usher.duckdb"), "backend": "delta",
                                    "delta_root": str(tmp_path / "delta"), "output_dir": str(tmp_path / "out"),
                                    "download_dir": str(tmp_path / "downloads"), "delta_retention_hours": 0})
    store = DeltaStore(tmp_path / "delta")
    store.save_dataframe(GENES, "genes")
    store.save_dataframe(GENES.head(1), "genes")
    cli = Path(sys.executable).parent / "usher-assets"
    done = subprocess.run([str(cli), "storage", "vacuum", "--config", str(config), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"retention_hours": 0.0, "removed_files": {"main.genes": 1}}
    listed = subprocess.run([str(cli), "checkpoints", "verify", "--config", str(config)],
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and "all intact" in listed.stdout


def test_a_type_delta_cannot_hold_is_refused_by_name_and_the_table_kept(tmp_path):
    import datetime

    store = DeltaStore(tmp_path / "delta")
    store.save_dataframe(GENES, "genes")
    with pytest.raises(Exception) as caught:
        store.save_dataframe(pl.DataFrame({"at": [datetime.time(12, 0)]}), "genes")
    assert "saving main.genes failed, previous version kept" in str(caught.value)
    assert store.load_dataframe("genes").equals(GENES)


def test_unsigned_and_nanosecond_columns_are_stored_in_delta_types_that_read_back_equal(tmp_path):
    store = DeltaStore(tmp_path / "delta")
    frame = pl.DataFrame({"count": pl.Series([1, 2**32 - 1], dtype=pl.UInt32),
                          "at": pl.Series([1_000, 2_000], dtype=pl.Datetime("ns"))})
    checkpoint = store.save_dataframe(frame, "counts")
    back = store.load_dataframe("counts")
    assert back["count"].to_list() == [1, 2**32 - 1]  # not wrapped into a signed 32-bit column
    assert store.verify_checkpoint(checkpoint) is None
    assert store.save_if_changed(frame, "counts")[1] is False  # the same frame again is unchanged


def test_a_foreign_commit_is_read_but_never_vouched_for(tmp_path):
    store = DeltaStore(tmp_path / "delta")
    checkpoint = store.save_dataframe(GENES, "genes")
    uri = tmp_path / "delta" / "main" / "genes"
    extra = pl.read_delta(str(uri)).head(1).to_arrow()
    write_deltalake(uri, extra, mode="append")  # a writer that goes around the store
    fresh = DeltaStore(tmp_path / "delta")
    assert fresh.get_checkpoint("genes") == checkpoint
    assert "row count is 4" in fresh.verify_checkpoint(checkpoint)


def _slice_of(store: DeltaStore, name: str) -> None:
    data = pl.DataFrame({"writer": [name] * 3, "score": [0.1, 0.2, 0.3]})
    store.save(data, TableRef("main", "shared"), [Slice(name, f"writer = {literal(name)}")], {name: (name, {})})


def _after_the_next_read(store: DeltaStore, other_writer) -> None:
    """Run `other_writer` once, right after `store`'s next save has read the table it will commit to."""
    read, pending = store._current, [other_writer]

    def read_then_let_them_commit(ref):
        state = read(ref)
        if pending:
            pending.pop()()
        return state

    store._current = read_then_let_them_commit


@pytest.mark.parametrize("first_save", ["creates the table", "adds a slice"])
def test_a_save_decided_before_another_writers_commit_keeps_that_commit(tmp_path, first_save):
    # The other writer commits between this save reading the table and writing it: with no table yet (both
    # create it), or with a table this save must rewrite whole (it had been written whole before).
    ours, theirs = DeltaStore(tmp_path / "delta"), DeltaStore(tmp_path / "delta")
    if first_save == "adds a slice":
        ours.save(GENES.with_columns(writer=pl.lit("whole")), TableRef("main", "shared"), None, {None: ("w", {})})
    _after_the_next_read(ours, lambda: _slice_of(theirs, "theirs"))
    _slice_of(ours, "ours")
    fresh = DeltaStore(tmp_path / "delta")
    checkpoints = {c.partition_key: c for c in fresh.list_checkpoints()}
    assert "ours" in checkpoints
    assert all(fresh.verify_checkpoint(c) is None for c in checkpoints.values()), \
        {k: fresh.verify_checkpoint(c) for k, c in checkpoints.items()}
    stored = fresh.load_dataframe("shared")["writer"].unique().sort().to_list()
    assert sorted(k for k in checkpoints if k) == [w for w in stored if w != "whole"]


def _commits_read(monkeypatch) -> list:
    """How many commits of a log each fold reads from here on."""
    calls, commits = [], DeltaStore._commits

    def spy(store, ref, table, first):
        found = commits(store, ref, table, first)
        calls.append(len(found))
        return found

    monkeypatch.setattr(DeltaStore, "_commits", spy)
    return calls


def _slice_saves(store: DeltaStore, rounds: int) -> None:
    for i in range(rounds):
        gene = GENES["gene"][i % GENES.height]
        store.save(GENES.filter(pl.col("gene") == gene).with_columns(pl.lit(i).alias("round")),
                   TableRef("main", "genes"), [Slice(gene, f"gene = {literal(gene)}")], {gene: (f"f{i}", {})})


def _bookkeeping(store: DeltaStore) -> list[tuple]:
    checkpoints = sorted((c.partition_key, c.fingerprint, c.content_hash, c.row_count)
                         for c in store.list_checkpoints())
    with store.connect() as con:
        provenance = con.execute("SELECT count(*) FROM main._provenance").fetchone()[0]
    return [*checkpoints, ("provenance rows", provenance)]


class Index:
    """A store root's index entries, in files beside the tables or in PostgreSQL, read and replaced from outside."""

    def __init__(self, root: Path, url: str | None):
        self.root, self.url = root, url

    def store(self, root: Path | None = None) -> DeltaStore:
        return DeltaStore(root or self.root, index_url=self.url)

    def _entries(self):
        return open_index(str(self.root), self.url, local=True)

    def names(self) -> list[str]:
        if self.url is None:
            return sorted(p.stem for p in (self.root / "_index").glob("*.json"))
        with psycopg2.connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT table_name FROM usher_delta_index WHERE root = %s", (str(self.root),))
            return sorted(name for (name,) in cursor.fetchall())

    def get(self, name: str):
        return self._entries().get(name)

    def put(self, name: str, entry) -> None:
        if self.url is None:
            (self.root / "_index" / f"{name}.json").write_text(entry if isinstance(entry, str) else json.dumps(entry))
            return
        with psycopg2.connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute("UPDATE usher_delta_index SET entry = %s WHERE root = %s AND table_name = %s",
                           (json.dumps(entry), str(self.root), name))

    def forget(self) -> None:
        if self.url is None:
            shutil.rmtree(self.root / "_index")
            return
        with psycopg2.connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute("DELETE FROM usher_delta_index WHERE root = %s", (str(self.root),))


@pytest.fixture(scope="module")
def index_database():
    from local_services import postgres_server, require

    require("initdb", "pg_ctl")
    with postgres_server() as server:
        server.create_database("delta_index")
        yield f"postgresql://{server.user}:{server.password}@{server.host}:{server.port}/delta_index"


@pytest.fixture(params=["files", "postgresql"])
def index(request, tmp_path) -> Index:
    url = request.getfixturevalue("index_database") if request.param == "postgresql" else None
    return Index(tmp_path / "delta", url)


def test_a_new_process_starts_from_the_saved_index_and_reads_only_the_newest_commit(index, monkeypatch):
    _slice_saves(index.store(), 12)
    assert index.names() == ["main.genes"]
    reads = _commits_read(monkeypatch)
    indexed = _bookkeeping(index.store())
    assert reads == [1]  # the commit the entry was folded to, which is also the newest
    index.forget()
    assert _bookkeeping(index.store()) == indexed  # the whole log folded again says the same
    assert reads[1:] == [12]


def test_an_index_behind_the_log_is_brought_up_to_its_newest_commit(index, monkeypatch):
    # A writer killed after its commit and before it updated the index leaves an entry that lags.
    store = index.store()
    _slice_saves(store, 3)
    lagging = index.get("main.genes")
    store.save(GENES.with_columns(pl.lit(99).alias("round")).head(1), TableRef("main", "genes"),
               [Slice("MYO7A", "gene = 'MYO7A'")], {"MYO7A": ("after the copy", {})})
    index.put("main.genes", lagging)
    reads = _commits_read(monkeypatch)
    fresh = index.store()
    assert fresh.get_checkpoint("genes", partition_key="MYO7A").fingerprint == "after the copy"
    assert reads == [2]  # the entry's commit and the one after it
    reads.clear()
    assert _bookkeeping(index.store()) == _bookkeeping(fresh) and reads == [1]  # the entry caught up


@pytest.mark.parametrize("damage", ["a checkpoint edited", "not JSON", "the table written again"])
def test_an_index_entry_that_disagrees_with_the_log_is_not_believed(index, tmp_path, damage):
    _slice_saves(index.store(), 4)
    truth = _bookkeeping(index.store())
    saved = index.get("main.genes")
    if damage == "a checkpoint edited":
        saved["log"]["checkpoints"]["MYO7A"]["fingerprint"] = "forged"
        index.put("main.genes", saved)
    elif damage == "not JSON":
        index.put("main.genes", json.dumps(saved)[:40])  # a file cut short; in PostgreSQL a bare JSON string
    else:  # dropped and written again by another tool, up to the same version, the old entry kept
        shutil.rmtree(index.root / "main" / "genes")
        elsewhere = tmp_path / "elsewhere"
        _slice_saves(index.store(elsewhere), 4)
        shutil.copytree(elsewhere / "main" / "genes", index.root / "main" / "genes")
        index.put("main.genes", saved)
        truth = _bookkeeping(index.store(elsewhere))
    assert _bookkeeping(index.store()) == truth


def test_a_delta_index_that_is_not_a_postgresql_url_or_cannot_be_reached_is_named(tmp_path):
    with pytest.raises(StoreError, match="must be a postgresql:// URL, got 'mysql://me@db/x'"):
        DeltaStore(tmp_path, index_url="mysql://me:secret@db/x")
    with pytest.raises(StoreError, match="the Delta index database postgresql://me@127.0.0.1:1/none") as error:
        DeltaStore(tmp_path, index_url="postgresql://me:secret@127.0.0.1:1/none")
    assert "secret" not in str(error.value)
    assert not any(tmp_path.iterdir())  # refused before anything was written


def _database_of_its_own(url: str, name: str) -> str:
    """A new database beside the index fixture's, so that the sessions counted there are only a test's own."""
    with closing(psycopg2.connect(url)) as connection:
        connection.autocommit = True  # CREATE DATABASE refuses to run in a transaction
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    return f"{url.rsplit('/', 1)[0]}/{name}"


def _sessions(url: str, database: str, settles_at: int, timeout: float = 10.0) -> int:
    """The sessions open on `database`, seen from a connection to `url`, once they number `settles_at` (a
    backend leaves pg_stat_activity a moment after its client closed) or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    with closing(psycopg2.connect(url)) as observer, observer.cursor() as cursor:
        while True:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                           (database,))
            found = cursor.fetchone()[0]
            observer.rollback()  # a new snapshot of pg_stat_activity on the next look
            if found == settles_at or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


def test_closing_a_store_ends_its_index_session_and_the_next_use_opens_another(tmp_path, index_database):
    url = _database_of_its_own(index_database, "delta_index_closed")
    store = DeltaStore(tmp_path / "delta", index_url=url)
    store.save_dataframe(GENES, "genes")
    assert _sessions(index_database, "delta_index_closed", settles_at=1) == 1
    store.close()
    assert _sessions(index_database, "delta_index_closed", settles_at=0) == 0
    store.close()  # closed already: nothing to do
    Index(tmp_path / "delta", url).forget()
    # Used again, the store opens a session of its own and writes the entry there.
    store.save_dataframe(GENES.head(1), "genes")
    assert _sessions(index_database, "delta_index_closed", settles_at=1) == 1
    assert Index(tmp_path / "delta", url).names() == ["main.genes"]
    assert store.get_checkpoint("genes").row_count == 1
    store.close()
    assert _sessions(index_database, "delta_index_closed", settles_at=0) == 0


def test_a_forked_child_closing_its_inherited_store_leaves_the_parents_index_session(tmp_path, index_database):
    url = _database_of_its_own(index_database, "delta_index_forked")
    store = DeltaStore(tmp_path / "delta", index_url=url)
    store.save_dataframe(GENES, "genes")
    connection = store._index_entries._connection
    child = os.fork()
    if child == 0:  # the child closes what it inherited, twice, and lets the collector at it
        code = 1
        try:
            store.close()
            store.close()
            gc.collect()
            code = 0 if store._index_entries._connection is None else 2  # forgotten, to be opened again on use
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's session is still open, and its connection (not a new one) still answers.
    assert _sessions(index_database, "delta_index_forked", settles_at=1, timeout=1.0) == 1
    assert store._index_entries.get("main.genes")["table_id"] == DeltaTable(tmp_path / "delta" / "main" / "genes"
                                                                            ).metadata().id
    assert store._index_entries._connection is connection
    store.close()
    assert _sessions(index_database, "delta_index_forked", settles_at=0) == 0


@pytest.mark.parametrize("table", ["written whole", "in slices"])
def test_an_unchanged_save_decided_before_another_writer_rewrote_the_rows_is_decided_again(tmp_path, table):
    # Ours finds its rows unchanged and would commit only a new checkpoint; meanwhile theirs writes other
    # rows there. Written on the version it read, our commit is refused and the save decided again, so the
    # checkpoint that stands always names the rows that are stored.
    ours, theirs = DeltaStore(tmp_path / "delta"), DeltaStore(tmp_path / "delta")
    ref = TableRef("main", "genes")
    slices = None if table == "written whole" else [Slice("MYO7A", "gene = 'MYO7A'")]
    key = None if slices is None else "MYO7A"
    rows = GENES if slices is None else GENES.head(1)
    ours.save(rows, ref, slices, {key: ("first", {})})
    _after_the_next_read(ours, lambda: theirs.save(rows.with_columns(pl.col("score") * 0.5), ref, slices,
                                                   {key: ("theirs", {})}))
    [(checkpoint, wrote)] = ours.save(rows, ref, slices, {key: ("ours", {})})
    assert wrote  # decided again on their version, where our rows are a change
    fresh = DeltaStore(tmp_path / "delta")
    stored = fresh.get_checkpoint("genes", partition_key=key)
    assert stored.fingerprint == "ours" and fresh.verify_checkpoint(stored) is None
    assert fresh.load_dataframe("genes", partition_key=key)["score"].to_list() == rows["score"].to_list()


def test_a_commit_landing_while_the_log_is_read_is_folded_under_its_own_version(tmp_path, monkeypatch):
    # delta-rs's history() on a handle opened before another commit numbers the newest commits down from the
    # handle's version, so folding it would put that commit's checkpoint under the wrong version.
    root = tmp_path / "delta"
    writer, reader = DeltaStore(root), DeltaStore(root)
    _slice_saves(writer, 1)
    reader._current(TableRef("main", "genes"))  # in memory at version 0
    writer.save(GENES.filter(pl.col("gene") == "USH2A").with_columns(pl.lit(1).alias("round")),
                TableRef("main", "genes"), [Slice("USH2A", "gene = 'USH2A'")], {"USH2A": ("f1", {})})
    opened = DeltaTable.__init__

    def open_then_let_a_commit_land(table, *args, **kwargs):
        opened(table, *args, **kwargs)
        if not getattr(open_then_let_a_commit_land, "done", False):
            open_then_let_a_commit_land.done = True
            writer.save(GENES.head(1).with_columns(pl.lit(7).alias("round")), TableRef("main", "genes"),
                        [Slice("MYO7A", "gene = 'MYO7A'")], {"MYO7A": ("landed meanwhile", {})})

    monkeypatch.setattr(DeltaTable, "__init__", open_then_let_a_commit_land)
    _, table = reader._current(TableRef("main", "genes"))
    monkeypatch.undo()
    # The reader folded what its handle's version holds: USH2A's second save, not the commit after it.
    assert table.version() == 1
    assert reader._logs[("main", "genes")][1].checkpoints["USH2A"]["fingerprint"] == "f1"
    assert "landed meanwhile" not in {c["fingerprint"] for c in reader._logs[("main", "genes")][1].checkpoints.values()}
    assert DeltaStore(root).get_checkpoint("genes", partition_key="MYO7A").fingerprint == "landed meanwhile"


def test_storage_delta_index_in_the_pipeline_config_reaches_the_cli_and_the_io_manager(tmp_path, config_writer,
                                                                                      index_database):
    from usher_assets.config import PipelineConfig
    from usher_assets.storage.io_manager import DuckDBIOManager

    root = tmp_path / "delta"
    config = config_writer(storage={"database": str(tmp_path / "usher.duckdb"), "backend": "delta",
                                    "delta_root": str(root), "output_dir": str(tmp_path / "out"),
                                    "download_dir": str(tmp_path / "downloads"), "delta_index": index_database})
    manager = DuckDBIOManager(**PipelineConfig.load(config).io_manager_config())
    manager.store().save_dataframe(GENES, "genes")
    assert not (root / "_index").exists()  # the entry went to PostgreSQL, not beside the table
    assert Index(root, index_database).names() == ["main.genes"]
    # The CLI, in a process of its own, folds the log again and writes the entry back to PostgreSQL.
    Index(root, index_database).forget()
    cli = Path(sys.executable).parent / "usher-assets"
    listed = subprocess.run([str(cli), "checkpoints", "list", "--config", str(config), "--json"],
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert [(c["table"], c["rows"]) for c in json.loads(listed.stdout)] == [("main.genes", 3)]
    assert Index(root, index_database).names() == ["main.genes"] and not (root / "_index").exists()


def test_slices_rewritten_in_any_order_load_whole_in_the_order_one_duckdb_file_gives(tmp_path):
    # Each rewritten slice's rows go after every stored row, as DELETE + INSERT leave them in a DuckDB table; a
    # row-order key reused across slices would leave the whole table's order to chance.
    from usher_assets.storage import PipelineStore

    delta, duckdb_file = DeltaStore(tmp_path / "delta"), PipelineStore(tmp_path / "one.duckdb")
    ref = TableRef("main", "genes")
    rounds = random.Random(7)
    for i in range(12):
        gene = rounds.choice(GENES["gene"].to_list())
        rows = pl.DataFrame({"gene": [gene] * (1 + i % 3), "round": list(range(i, i + 1 + i % 3))})
        for store in (delta, duckdb_file):
            store.save(rows, ref, [Slice(gene, f"gene = {literal(gene)}")], {gene: (f"f{i}", {})})
    assert DeltaStore(tmp_path / "delta").load_dataframe("genes").equals(duckdb_file.load_dataframe("genes"))
    with delta.connect() as con:
        assert con.execute("SELECT count(*) = count(DISTINCT __usher_row) FROM _delta_rows.\"main.genes\"").fetchone() \
            == (True,)


def _write_slices_calls(monkeypatch) -> list:
    """One entry per writes.write_slices a save decides on from here on."""
    from usher_assets.storage import writes

    calls, write_slices = [], writes.write_slices

    def spy(*args, **kwargs):
        calls.append(1)
        return write_slices(*args, **kwargs)

    monkeypatch.setattr(writes, "write_slices", spy)
    return calls


def _save_a_slice_in_another_schema(root: Path, calls: list, other_rows: bool) -> dict:
    """MYO7A's slice stored with a score column, then saved with a label column instead (no other slice takes
    that: the table is rewritten whole); with `other_rows`, USH2A's rows are stored too, without a checkpoint.
    What the second save decided and committed, and what the table then holds."""
    store, ref = DeltaStore(root), TableRef("main", "genes")
    myo7a, ush2a = [Slice("MYO7A", "gene = 'MYO7A'")], [Slice("USH2A", "gene = 'USH2A'")]
    store.save(pl.DataFrame({"gene": ["MYO7A"] * 2, "score": [0.9, 0.8]}), ref, myo7a, {"MYO7A": ("f1", {})})
    if other_rows:
        store.save(pl.DataFrame({"gene": ["USH2A"], "score": [0.5]}), ref, ush2a, {"USH2A": ("f2", {})})
        store.delete_checkpoint("genes", partition_key="USH2A")  # its rows stay
    table, calls_before = root / "main" / "genes", len(calls)
    version = DeltaTable(table).version()
    try:
        [(_, wrote)] = store.save(pl.DataFrame({"gene": ["MYO7A"] * 3, "label": ["a", "b", "c"]}), ref, myo7a,
                                  {"MYO7A": ("f3", {})})
        outcome = "written" if wrote else "unchanged"
    except StoreError as exc:
        outcome = str(exc).replace(str(root), "<root>")
    fresh = DeltaStore(root)
    checkpoints = fresh.list_checkpoints()
    return {"write_slices": len(calls) - calls_before, "commits": DeltaTable(table).version() - version,
            "outcome": outcome, "stored": pl.read_delta(str(table)).sort("__usher_row").rows(named=True),
            "checkpoints": [(c.partition_key, c.fingerprint, c.content_hash, c.row_count) for c in checkpoints],
            "verified": fresh.verify_checkpoints(checkpoints), "loaded": fresh.load_dataframe("genes").rows()}


@pytest.mark.parametrize("other_rows", [False, True], ids=["no other rows", "other slices' rows stored"])
def test_a_slice_in_another_schema_is_decided_on_all_rows_only_when_other_rows_are_stored(tmp_path, monkeypatch,
                                                                                          other_rows):
    calls = _write_slices_calls(monkeypatch)
    saved = _save_a_slice_in_another_schema(tmp_path / "delta", calls, other_rows)
    if other_rows:  # refused on the copy of all rows, as before: nothing committed, the old rows kept
        assert saved["write_slices"] == 2 and saved["commits"] == 0
        assert "replacing it would drop partitions (unrecorded rows)" in saved["outcome"]
        assert saved["loaded"] == [("MYO7A", 0.9), ("MYO7A", 0.8), ("USH2A", 0.5)]
    else:  # the copy of the slice's rows held every stored row: decided once, one commit rewriting the table
        assert saved["write_slices"] == 1 and saved["commits"] == 1 and saved["outcome"] == "written"
        assert saved["loaded"] == [("MYO7A", "a"), ("MYO7A", "b"), ("MYO7A", "c")]
        assert saved["stored"] == [{"gene": "MYO7A", "label": label, "__usher_row": row, "__usher_partition": "MYO7A"}
                                   for row, label in enumerate("abc")]
    assert saved["verified"] == [None]
    # Deciding again on a copy of all rows, as every such save did before, stores the same and commits the same.
    monkeypatch.setattr(DeltaStore, "_rows_outside", lambda store, con, ref, where: True)
    again = _save_a_slice_in_another_schema(tmp_path / "decided-twice", calls, other_rows)
    assert again.pop("write_slices") == 2
    assert {k: v for k, v in saved.items() if k != "write_slices"} == again
