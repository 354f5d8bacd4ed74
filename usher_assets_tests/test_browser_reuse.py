"""The Dagster UI in headless Chromium, as an operator uses it: on a built store (a clone of the golden
build), Materialize all launches one run over every chromosome, and that run's events say the checkpoints
were reused; a partition's page shows its row count; an asset check executes on its own. Screenshots go to
the test's tmp dir (printed at the end)."""

from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus  # not exported by dagster itself

from conftest import clone_build, write_config
from local_services import VENV_BIN, background, dagster_webserver, require, wait_for
from pipeline_runs import pipeline_env, reused_tables
from test_browser import CHROMIUM, CHROMIUM_ARGS, ui_home
from usher_assets.storage.launch import RANGE_END_TAG, RANGE_START_TAG
from usher_assets.storage.store import PipelineStore

pytestmark = pytest.mark.slow
EVIDENCE_ASSET, PARTITION = "constraint_evidence", "21"
CHECKED_ASSET, CHECK = "hgnc", "table_integrity"
RUN_TIMEOUT = 600  # a reused run takes seconds; on two shared cores it may wait; the waits end with the runs


def runs(home: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return list(reversed(instance.get_runs()))


def all_finished(home: Path, count: int) -> bool:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        backfills = instance.get_backfills()
        done = all(b.status != BulkActionStatus.REQUESTED for b in backfills)
        found = instance.get_runs()
    return done and len(found) >= count and all(r.is_finished for r in found)


def materialize_all(page, url: str, home: Path, work: Path, expected_runs: int, shot: Path) -> None:
    """The asset graph's Materialize all, All partitions, Launch backfill; back once the daemon's run ended."""
    page.goto(f"{url}/asset-groups")
    page.get_by_role("button", name="Materialize all").first.click()
    dialog = page.locator("[role=dialog]").first
    dialog.get_by_text("All", exact=True).first.click()
    dialog.get_by_text("25 partitions selected").wait_for()
    page.screenshot(path=shot)
    dialog.get_by_role("button", name="Launch backfill").click()
    wait_for(lambda: all_finished(home, expected_runs), "the backfill launched from the UI", RUN_TIMEOUT,
             work / "daemon.log")


@pytest.fixture(scope="module")
def operator(golden_build, tmp_path_factory):
    require("chromium")
    from playwright.sync_api import sync_playwright

    work = tmp_path_factory.mktemp("browser_reuse")
    clone_build(golden_build, work)  # what a first Materialize all built; the UI's run then reuses it
    home = ui_home(work)
    config = write_config(work)
    env = pipeline_env(home, config)
    seen = SimpleNamespace(home=home, work=work, shots={}, database=work / "usher.duckdb")
    # Backfills are launched by the daemon (make ui's dagster dev runs one; here it runs beside the webserver).
    daemon = [str(VENV_BIN / "dagster-daemon"), "run", "-m", "usher_assets.definitions"]
    with background(daemon, work / "daemon.log", "dagster-daemon", lambda: True, 10, env=env), \
            dagster_webserver(env, work / "webserver.log") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(work / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000})
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)
            seen.shots["dialog"] = work / "materialize_all.png"
            materialize_all(page, url, home, work, 1, seen.shots["dialog"])
            seen.runs = runs(home)
            reused = seen.runs[-1]
            page.goto(f"{url}/runs/{reused.run_id}")
            # The run's event list is virtualized (rows off screen are not in the page): filter it, as an
            # operator would, to the one line the run logs about what it reused.
            log_filter = page.get_by_placeholder("Filter…").or_(page.get_by_placeholder("Filter...")).first
            log_filter.fill("bodies not run")
            line = page.get_by_text("bodies not run").first
            line.wait_for()
            seen.shots["run"] = work / "reused_run_events.png"
            page.screenshot(path=seen.shots["run"])
            seen.reuse_line = line.inner_text()
            page.goto(f"{url}/assets/{CHECKED_ASSET}?view=events")
            row = page.locator("tr", has=page.get_by_text("checkpoint", exact=True)).first
            row.wait_for()
            seen.checkpoint_row = row.inner_text()
            seen.shots["events"] = work / "reused_asset_events.png"
            page.screenshot(path=seen.shots["events"])
            page.goto(f"{url}/assets/{EVIDENCE_ASSET}?view=partitions&partition={PARTITION}")
            count = page.locator("tr", has=page.get_by_text("dagster/row_count", exact=True)).first
            count.wait_for()
            seen.partition_row_count = count.inner_text()
            seen.shots["partition"] = work / "partition_row_count.png"
            page.screenshot(path=seen.shots["partition"])
            page.goto(f"{url}/assets/{CHECKED_ASSET}?view=checks")
            page.get_by_text(CHECK, exact=True).first.click()
            execute = page.locator("button", has_text="Execute").filter(has_not_text="Execute all").first
            execute.wait_for()
            seen.execute_enabled = execute.is_enabled()
            seen.shots["checks"] = work / "check_execute.png"
            page.screenshot(path=seen.shots["checks"])
            execute.click()
            wait_for(lambda: all_finished(home, 2), "the check run launched from the UI", RUN_TIMEOUT,
                     work / "webserver.log")
            seen.check_run = runs(home)[-1]
        finally:
            browser.close()
    return seen


def test_browser_materialize_all_is_one_run_over_every_chromosome(operator):
    run = operator.runs[0]
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert (run.tags[RANGE_START_TAG], run.tags[RANGE_END_TAG]) == ("1", "MT")
    assert run.job_name == "Refresh_all"
    with dg.DagsterInstance.from_config(str(operator.home)) as instance:
        by_backfill = {b.backfill_id: [r for r in operator.runs if r.tags.get("dagster/backfill") == b.backfill_id]
                       for b in instance.get_backfills()}
    assert [len(found) for found in by_backfill.values()] == [1]


def test_browser_reused_run_says_so_in_its_events(operator):
    assert operator.reuse_line.startswith("checkpoints: ") and "tables reused" in operator.reuse_line
    assert f"sources.{CHECKED_ASSET}" in reused_tables(operator.reuse_line)
    cells = operator.checkpoint_row.split()
    assert cells[0] == "checkpoint" and cells[-1] == "reused"


def test_browser_partition_page_shows_the_slice_row_count(operator):
    with PipelineStore(operator.database) as store:
        stored = {c.partition_key: c.row_count for c in store.list_checkpoints()
                  if (c.schema_name, c.table_name) == ("evidence", EVIDENCE_ASSET)}
    cells = operator.partition_row_count.split()
    assert cells[0] == "dagster/row_count"
    assert int(cells[-1].replace(",", "")) == stored[PARTITION] > 0


def test_browser_check_executes_on_its_own(operator):
    run = operator.check_run
    assert operator.execute_enabled
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert [k.name for k in run.asset_check_selection] == [CHECK] and not run.asset_selection
    print(f"\nscreenshots: {', '.join(str(p) for p in operator.shots.values())}")
