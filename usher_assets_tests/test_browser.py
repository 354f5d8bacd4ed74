"""The Dagster UI in headless Chromium: find an asset in the graph, materialize it, see its checkpoint metadata."""

from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest

from conftest import write_config
from local_services import dagster_webserver, require, wait_for
from pipeline_runs import pipeline_env

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google, which this network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ASSET = "hgnc"
# Runs launched from the UI start at once (no daemon needed); the "join the community" dialog is marked seen.
INSTANCE_YAML = """\
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
telemetry:
  enabled: false
"""


def finished_run(home: Path) -> dg.DagsterRun | None:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs(limit=1)
    return runs[0] if runs and runs[0].is_finished else None


def ui_home(work: Path) -> Path:
    """A Dagster home for a UI session: the instance settings, and the welcome tour marked as seen."""
    home = work / "dagster_home"
    (home / ".nux").mkdir(parents=True)
    (home / ".nux" / "nux.yaml").write_text("seen: 1\n")
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    # Create the instance's SQLite storage now: a webserver and a daemon started together on an empty home
    # both stamp its schema, and the loser then refuses to load ("more than one head present").
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs(limit=1)
    return home


@pytest.fixture(scope="module")
def ui_materialization(tmp_path_factory):
    """Drive the UI once: graph, filter to one asset, Materialize, then its asset page; screenshots on disk."""
    require("chromium")
    from playwright.sync_api import sync_playwright

    work = tmp_path_factory.mktemp("browser")
    home = ui_home(work)
    env = pipeline_env(home, write_config(work))
    seen = SimpleNamespace(home=home, screenshots={})
    with dagster_webserver(env, work / "webserver.log") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(work / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000})
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{url}/asset-groups")
            page.locator(".CodeMirror").first.click()  # "Search and filter assets"
            page.keyboard.type(f'key:"{ASSET}"')
            page.keyboard.press("Enter")
            node = page.get_by_text("Never materialized")
            node.wait_for()
            seen.graph_url = page.url
            seen.screenshots["graph"] = work / "asset_graph.png"
            page.screenshot(path=seen.screenshots["graph"])
            page.get_by_text("Materialize", exact=True).click()
            wait_for(lambda: finished_run(home) is not None, f"the run of {ASSET} launched from the UI", 240,
                     work / "webserver.log")
            seen.run = finished_run(home)
            page.goto(f"{url}/assets/{ASSET}")
            row = page.locator("tr", has=page.get_by_text("checkpoint", exact=True))
            row.scroll_into_view_if_needed()
            seen.checkpoint_row = row.inner_text()
            seen.screenshots["asset"] = work / f"{ASSET}_materialized.png"
            page.screenshot(path=seen.screenshots["asset"])
        finally:
            browser.close()
    return seen


def test_browser_graph_filters_to_the_asset(ui_materialization):
    assert "hgnc" in ui_materialization.graph_url
    assert ui_materialization.screenshots["graph"].stat().st_size > 10_000


def test_browser_materialize_button_launches_a_successful_run(ui_materialization):
    run = ui_materialization.run
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert run.tags.get("dagster/from_ui") == "true"
    assert [k.to_user_string() for k in run.asset_selection] == [ASSET]


def test_browser_asset_page_shows_the_checkpoint_metadata(ui_materialization):
    # A fresh database: the body ran and wrote the table, so the UI shows checkpoint = written.
    cells = ui_materialization.checkpoint_row.split()
    assert cells[0] == "checkpoint" and cells[-1] == "written"
    assert ui_materialization.screenshots["asset"].stat().st_size > 10_000
    print(f"\nscreenshots: {', '.join(str(p) for p in ui_materialization.screenshots.values())}")
