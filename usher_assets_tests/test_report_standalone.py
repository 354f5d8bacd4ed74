"""report.html stands alone: date, version, releases and weights in the page, a legend for grey cells, one heading
each, a table that fits or scrolls in its own box (measured in real Chromium), a sensitivity axis that shows
differences."""

import re

import polars as pl
import pytest

from local_services import require
from test_report import ranked_and_validation, universe  # noqa: F401  (fixtures)
from usher_assets import __version__
from usher_assets.scoring.report import write_report
from usher_assets.scoring.report_about import report_about
from usher_assets.scoring.report_plots import sensitivity_figure

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PAGE_WIDTH = 1280
MOST_CONTENT_WIDTH = 1000


@pytest.fixture(scope="module")
def page(ranked_and_validation, tmp_path_factory):  # noqa: F811
    from usher_assets.config import PipelineConfig

    candidates, validation = ranked_and_validation
    about = report_about(PipelineConfig.load())  # the bundled config: three sources unset
    written = write_report(candidates, validation, tmp_path_factory.mktemp("standalone"), about=about)
    return written["report_html"], about


def test_report_names_date_version_config_weights_and_every_source_release(page):
    path, about = page
    text = path.read_text(encoding="utf-8")
    assert re.search(r"<td class='text'>\d{4}-\d\d-\d\d \d\d:\d\d UTC</td>", text)
    assert f"usher_assets {__version__}" in text and about["config_hash"][:12] in text
    for layer, weight in about["weights"].items():
        assert f"<th scope='row'>{layer}</th><td class='text'>{weight:g}</td>" in text
    for source, release in about["source_releases"].items():
        shown = release if release is not None else "not configured (its evidence is NULL)"
        assert f"<th scope='row'>{source}</th><td class='text'>{shown}</td>" in text


def test_report_explains_grey_cells_and_has_no_heading_twice(page):
    text = page[0].read_text(encoding="utf-8")
    assert "Grey: no evidence" in text
    headings = re.findall(r"<h[12]>([^<]+)</h[12]>", text)
    assert len(headings) == len(set(headings)), headings


def test_sensitivity_axis_starts_at_zero_and_spreads_the_bars():
    # Spearman 0.9968 and 0.9997: as Spearman bars both fill the axis; as distances from 1 they differ tenfold.
    table = pl.DataFrame({"layer": ["a", "a"], "change": [0.2, -0.2], "spearman": [0.9968, 0.9997]})
    figure = sensitivity_figure(table)
    axis = figure.axes[0]
    low, high = axis.get_xlim()
    widths = sorted(bar.get_width() for bar in axis.patches)
    assert low == 0 and widths == pytest.approx([0.0003, 0.0032])
    assert widths[-1] / high > 0.7 and widths[0] / high < 0.1
    assert "1 - Spearman" in axis.get_xlabel()


@pytest.mark.slow
def test_report_fits_the_page_in_chromium(page, tmp_path):
    require("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            view = browser.new_page(viewport={"width": PAGE_WIDTH, "height": 900})
            view.goto(page[0].as_uri())
            page_width = view.evaluate("document.documentElement.scrollWidth")
            boxes = view.evaluate("[...document.querySelectorAll('.table-box')].map(b => b.clientWidth)")
            images = view.evaluate("[...document.querySelectorAll('img')].map(i => i.naturalWidth > 0)")
            view.screenshot(path=tmp_path / "report.png", full_page=True)
        finally:
            browser.close()
    assert page_width <= PAGE_WIDTH  # nothing makes the page itself scroll sideways
    assert boxes and max(boxes) <= MOST_CONTENT_WIDTH
    # Every figure the page embeds renders (as many as report.html has <img> tags).
    assert images and all(images) and len(images) == page[0].read_text(encoding="utf-8").count("<img ")
