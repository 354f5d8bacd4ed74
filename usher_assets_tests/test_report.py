"""The HTML report and the Markdown summary, written from a small validated ranking."""

import base64
import json
import re

import polars as pl
import pytest

from usher_assets.schemas import GENE_UNIVERSE_COLUMNS
from usher_assets.scoring.composite import assign_tiers, candidate_table, composite_scores, rank_candidates
from usher_assets.scoring.report import html_table, summary_markdown, write_report
from usher_assets.scoring.validation import validate_ranking

LIST = pl.List(pl.String)
SYMBOLS = ["MYO7A", "USH2A", "CLRN1", "ACTB", "RPL10A", *[f"FILL{i}" for i in range(1, 16)]]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def universe() -> pl.DataFrame:
    n = len(SYMBOLS)
    return pl.DataFrame({
        "hgnc_id": [f"HGNC:{i}" for i in range(1, n + 1)], "gene_symbol": SYMBOLS,
        "ensembl_gene_id": [f"ENSG{i:011d}" for i in range(1, n + 1)], "entrez_id": list(range(1, n + 1)),
        "chromosome": ["1"] * n, "alias_symbols": [[]] * n, "prev_symbols": [[]] * n,
        "gene_groups": [[]] * n, "mgd_ids": [[]] * n,
    }, schema_overrides={"entrez_id": pl.Int64, "alias_symbols": LIST, "prev_symbols": LIST,
                         "gene_groups": LIST, "mgd_ids": LIST}).select(GENE_UNIVERSE_COLUMNS)


@pytest.fixture(scope="module")
def ranked_and_validation(universe):
    n = universe.height
    layers = universe.select("hgnc_id", "gene_symbol", "ensembl_gene_id").with_columns(
        pl.Series("constraint_score", [(i * 37 % n) / n for i in range(n)]),
        pl.Series("annotation_score", [None if i % 4 == 0 else (i * 11 % n) / n for i in range(n)]),
        pl.Series("go_cilium_annotated", [i % 3 == 0 for i in range(n)]),
    )
    weights = {"constraint": 1.0, "annotation": 2.0}
    candidates = candidate_table(rank_candidates(assign_tiers(composite_scores(layers, weights), 0.6, 0.4, 2)))
    ciliaminer = pl.DataFrame({"disease": ["x"], "abbreviation": ["X"], "gene_symbol": ["FILL3"],
                               "entrez_id": [None]}, schema_overrides={"entrez_id": pl.Int64})
    return candidates, validate_ranking(layers, weights, universe, ciliaminer)


@pytest.fixture(scope="module")
def written(ranked_and_validation, tmp_path_factory):
    candidates, validation = ranked_and_validation
    output_dir = tmp_path_factory.mktemp("report") / "nested"
    return write_report(candidates, validation, output_dir)


def test_write_report_writes_files(written):
    assert set(written) == {"report_html", "validation_json"}
    assert written["report_html"].name == "report.html"
    assert all(path.is_file() and path.stat().st_size > 0 for path in written.values())


def test_write_report_embeds_the_four_plots_as_png(written):
    page = written["report_html"].read_text(encoding="utf-8")
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert [alt for alt, _ in images] == ["Score distribution", "Per-layer coverage",
                                          "Layer scores of the top 50 candidates", "Weight sensitivity"]
    for _, encoded in images:
        assert base64.b64decode(encoded).startswith(PNG_MAGIC)


def test_write_report_has_validation_summary_and_candidates(written):
    page = written["report_html"].read_text(encoding="utf-8")
    for heading in ("Known Usher genes", "Negative controls", "Leave one layer out", "Discovery view"):
        assert heading in page
    assert "<td class=\"text\">MYO7A</td>" in page
    saved = json.loads(written["validation_json"].read_text(encoding="utf-8"))
    assert saved["known_metrics"]["all"]["n_genes"] == 3


def test_html_table_shows_null_as_dash_not_zero():
    table = html_table(pl.DataFrame({"gene_symbol": ["<B>"], "score": [None]}, schema={"gene_symbol": pl.String,
                                                                                        "score": pl.Float64}))
    assert "&lt;B&gt;" in table  # escaped
    assert "&mdash;" in table and "0.000" not in table


def test_summary_markdown_headline(ranked_and_validation):
    candidates, validation = ranked_and_validation
    text = summary_markdown(candidates, validation)
    tiers = dict(candidates.group_by("tier").len().iter_rows())
    assert f"**Genes ranked:** {candidates.height}; HIGH {tiers.get('HIGH', 0)}" in text
    assert f"median percentile {validation['known_metrics']['all']['median_percentile']}" in text
    assert candidates["gene_symbol"][0] in text.split("**Top 10:**")[1].split("\n")[0]
    assert "Discovery view" in text
