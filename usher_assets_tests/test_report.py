"""The HTML report and the Markdown summary, written from a small validated ranking."""

import base64
import json
import re

import polars as pl
import pytest

from usher_assets.schemas import GENE_UNIVERSE_COLUMNS
from usher_assets.config import PipelineConfig
from usher_assets.scoring.composite import candidate_table
from usher_assets.scoring.gene_scores import cilia_model_table, score_genes
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
    annotated = [i % 3 == 0 for i in range(n)]
    layers = universe.select("hgnc_id", "gene_symbol", "ensembl_gene_id").with_columns(
        pl.Series("constraint_score", [(i * 37 % n) / n for i in range(n)]),
        pl.Series("exac_pli", [(i * 37 % n) / n for i in range(n)]),
        pl.Series("bioid_max_saint", [None if i % 5 == 0 else (i * 7 % n) / n for i in range(n)]),
        pl.Series("annotation_score", [None if i % 4 == 0 else (i * 11 % n) / n for i in range(n)]),
        pl.Series("go_cilium_annotated", annotated), pl.Series("cilia_annotated", annotated),
        pl.Series("cilia_signal", [0.8 if a else 0.0 for a in annotated]),
        pl.Series("go_sensory_evidence", [1.0 if i == 1 else 0.0 for i in range(n)]),
        pl.Series("go_term_count", [i % 7 for i in range(n)]),
    )
    default = PipelineConfig.load().scoring
    scoring = default.model_copy(update={"weights": {"constraint": 1 / 3, "annotation": 2 / 3},
                                         "model": default.model.model_copy(update={"folds": 2, "max_iter": 10}),
                                         "bootstrap_samples": 50})
    scores = score_genes(layers, cilia_model_table(layers, set(), scoring.model), scoring.weights, scoring)
    ciliaminer = pl.DataFrame({"disease": ["x"], "abbreviation": ["X"], "gene_symbol": ["FILL3"],
                               "entrez_id": [None]}, schema_overrides={"entrez_id": pl.Int64})
    return candidate_table(scores), validate_ranking(scores, scoring.weights, scoring, universe, ciliaminer)


@pytest.fixture(scope="module")
def written(ranked_and_validation, tmp_path_factory):
    candidates, validation = ranked_and_validation
    output_dir = tmp_path_factory.mktemp("report") / "nested"
    return write_report(candidates, validation, output_dir)


def test_write_report_writes_files(written):
    assert set(written) == {"report_html", "validation_json"}
    assert written["report_html"].name == "report.html"
    assert all(path.is_file() and path.stat().st_size > 0 for path in written.values())


def test_write_report_embeds_the_five_plots_as_png(written):
    page = written["report_html"].read_text(encoding="utf-8")
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert [alt for alt, _ in images] == ["Score distribution", "Per-layer coverage",
                                          "Layer scores of the top 50 candidates",
                                          "Weight sensitivity (ranking score)", "Strict discovery enrichment"]
    for _, encoded in images:
        assert base64.b64decode(encoded).startswith(PNG_MAGIC)


def test_write_report_has_validation_summary_and_candidates(written):
    page = written["report_html"].read_text(encoding="utf-8")
    for heading in ("Method", "Known Usher genes", "Negative controls", "Strict discovery view",
                    "Leave one layer out", "Second view: the weighted composite"):
        assert heading in page
    assert "<td class=\"text\">MYO7A</td>" in page
    # The second view's three tables each say what they are, in the order they are shown.
    second = page[page.index("Second view: the weighted composite"):]
    titled = [second.index(f"<h3>{title} (weighted composite)</h3>") for title in
              ("Known Usher genes", "Negative controls", "Known Usher genes with one layer left out")]
    assert titled == sorted(titled)
    for start, end in zip(titled, [*titled[1:], len(second)]):
        assert "<table" in second[start:end]  # each heading has its table before the next heading
    saved = json.loads(written["validation_json"].read_text(encoding="utf-8"))
    assert saved["known_metrics"]["all"]["n_genes"] == 3
    strict = saved["strict_discovery"]
    assert strict["verdict"] in page  # the verdict is said plainly in both
    assert [m["method"] for m in strict["methods"]][2:] == ["pLI alone", "GO term count (study depth)",
                                                             "ciliated-cell logFC",
                                                             "rank sum (ciliated logFC + pLI + cilia proteome)"]
    assert {"enrichment_low", "enrichment_high", "auroc_low", "auroc_high"} <= set(strict["methods"][0])


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
    assert "Strict discovery view" in text and validation["strict_discovery"]["verdict"] in text
    assert "**Thin evidence:**" in text
