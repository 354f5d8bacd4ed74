"""The candidate report for people: report.html with embedded plots, and a Markdown summary."""

import html
import json
from pathlib import Path

import polars as pl

from usher_assets.schemas import GENE_SYMBOL, TIER
from usher_assets.scoring import report_plots
from usher_assets.scoring.composite import TIERS, layer_score_columns
from usher_assets.scoring.report_about import about_html, no_evidence_legend_html
from usher_assets.scoring.validation import validation_metadata

TABLE_ROWS = 50

STYLE = """
body { font-family: sans-serif; margin: 2em auto; padding: 0 1em; color: #222; max-width: 1000px; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #eee; } td.text { text-align: left; }
.table-box { max-width: 100%; overflow-x: auto; }
.table-box.tall { max-height: 36em; overflow-y: auto; } .table-box.tall table { font-size: 0.8em; margin: 0; }
.table-box.tall th, .table-box.tall td { padding: 2px 4px; } .table-box.tall thead th { position: sticky; top: 0; }
.about-grid { display: flex; flex-wrap: wrap; gap: 0 2em; align-items: flex-start; }
table.facts th { text-align: left; font-weight: normal; } table.facts caption { font-weight: bold; text-align: left; }
.legend .swatch { display: inline-block; width: 1em; height: 1em; border: 1px solid #999; vertical-align: middle; }
.legend, .note { font-size: 0.9em; color: #444; }
img { max-width: 100%; }
"""


def _cell(value) -> str:
    if value is None:
        return '<td class="text">&mdash;</td>'
    if isinstance(value, float):
        return f"<td>{value:.3f}</td>"
    if isinstance(value, int):
        return f"<td>{value}</td>"
    return f'<td class="text">{html.escape(str(value))}</td>'


def html_table(frame: pl.DataFrame, box: str = "") -> str:
    """A frame as an HTML table in a box that scrolls when the page is too narrow; nulls show as a dash, never 0."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in frame.iter_rows())
    return f"<div class='table-box {box}'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def candidates_html(candidates: pl.DataFrame) -> str:
    """The top candidates with short column names (`sensory expression`, not `sensory_expression_score`)."""
    shown = candidates.head(TABLE_ROWS)
    short = {c: c.removesuffix("_score").replace("_", " ") for c in shown.columns}
    return (f"<h2>Top {TABLE_ROWS} candidates: table</h2>"
            "<p class='note'>Layer scores are in [0, 1]; a dash is no evidence (NULL). The whole ranking is in "
            "candidates.tsv and candidates.parquet beside this file.</p>" + html_table(shown.rename(short), "tall"))


def _metrics_frame(metrics: dict) -> pl.DataFrame:
    rows = [{"set": name, **values} for name, values in metrics.items() if isinstance(values, dict)]
    return pl.DataFrame(rows)


def _image(title: str, encoded: str) -> str:
    return f'<h2>{html.escape(title)}</h2><img alt="{html.escape(title)}" src="data:image/png;base64,{encoded}">'


SENSITIVITY_NOTE = (
    "Each bar changes one layer's weight by 20 % (the others re-normalised) and compares the new ranking of "
    "every gene with the baseline. The bar is 1 - Spearman: 0 means the same order, and the longer the bar, "
    "the more that layer's weight moves the ranking."
)

CIRCULARITY_NOTE = (
    "Gene Ontology's cilium and stereocilium terms are curated from the same literature that "
    "identified the Usher genes, so the annotation layer partly encodes the answer. The row with "
    "annotation left out shows how the ranking does on the evidence that is not annotation; the "
    "strict discovery view judges only genes the annotation layer gives no cilia signal at all. "
    "Each row retrains the cilia model without that layer's features (and drops the layer from "
    "the annotation and sensory parts it feeds)."
)
DISCOVERY_NOTE = (
    "CiliaMiner genes among the genes with no cilia signal from the annotation layer (no term of any "
    "scored GO cilia subtree, no cilia gene group). Each method ranks only these genes; enrichment is "
    "the share of CiliaMiner genes in its top 10 % divided by 0.10. Intervals: 95 % bootstrap over the "
    "CiliaMiner genes (fixed seed), paired across methods. The ranking beats a baseline when its lower "
    "bound is above the baseline's estimate."
)


def _method_html(method: dict) -> str:
    items = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(json.dumps(v) if isinstance(v, dict) else str(v))}</li>"
                    for k, v in method.items() if k != "cilia_model_check")
    check = method.get("cilia_model_check") or {}
    selection = (f"<h2>How the model and weights were chosen</h2><p>{html.escape(check['criterion'])}</p>"
                 + html_table(pl.DataFrame(check["views"])) if "views" in check else "")
    return f"<h2>Method</h2><ul>{items}</ul>{selection}"


def _summary_html(markdown: str) -> str:
    """The Markdown summary as paragraphs with its **bold** labels (the only markup it uses)."""
    paragraphs = []
    for line in markdown.splitlines():
        if line.strip():
            escaped = html.escape(line)
            parts = escaped.split("**")
            paragraphs.append("<p>" + "".join(f"<b>{t}</b>" if i % 2 else t for i, t in enumerate(parts)) + "</p>")
    return "<div class='summary'>" + "".join(paragraphs) + "</div>"


def write_report(candidates: pl.DataFrame, validation: dict, output_dir: Path,
                 about: dict | None = None) -> dict[str, Path]:
    """Write report.html (plots embedded as base64 PNG) and validation.json; return their paths.

    ``candidates`` is the ranked candidate table (best first, see candidate_table);
    ``validation`` is what validate_ranking returned; ``about`` (report_about) is printed in the header.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    layer_columns = layer_score_columns(candidates)
    sections = [
        "<h1>Usher syndrome and cilia candidate genes</h1>",
        _summary_html(summary_markdown(candidates, validation)),
        about_html(about),
        _method_html(validation["method"]),
        _image("Score distribution", report_plots.score_distribution(candidates, validation["known_genes"])),
        _image("Per-layer coverage", report_plots.layer_coverage(validation["coverage"])),
        _image(f"Layer scores of the top {TABLE_ROWS} candidates",
               report_plots.top_candidates(candidates, layer_columns)),
        no_evidence_legend_html(),
        _image("Weight sensitivity (ranking score)", report_plots.sensitivity(validation["sensitivity"])),
        f"<p class='note'>{SENSITIVITY_NOTE}</p>",
        "<h2>Known Usher genes (validation labels, never features)</h2>",
        html_table(_metrics_frame(validation["known_metrics"])),
        html_table(validation["known_genes"]),
        "<h2>Negative controls</h2>",
        html_table(_metrics_frame(validation["negative_controls"])),
    ]
    discovery = validation.get("strict_discovery")
    if discovery is not None:
        sections += ["<h2>Strict discovery view: the ranking against naive baselines</h2>",
                     f"<p>{DISCOVERY_NOTE}</p>", f"<p><b>{html.escape(discovery['verdict'])}</b> "
                     f"({discovery['n_labels']} CiliaMiner genes among {discovery['n_subset_genes']} genes, "
                     f"{discovery['bootstrap_samples']} resamples, seed {discovery['seed']})</p>",
                     _image("Strict discovery enrichment", report_plots.discovery(discovery["methods"])),
                     html_table(discovery["methods"])]
    weighted = validation["weighted_view"]
    sections += [
        "<h2>Leave one layer out (the ranking)</h2>",
        f"<p>{CIRCULARITY_NOTE}</p>",
        html_table(validation["leave_one_layer_out"]),
        "<h2>Second view: the weighted composite</h2>",
        "<p>The transparent weighted mean over the layers a gene has (weights re-normalised over them); "
        "its score and rank are columns of the candidate table.</p>",
        "<h3>Known Usher genes (weighted composite)</h3>",
        html_table(_metrics_frame(weighted["known_metrics"])),
        "<h3>Negative controls (weighted composite)</h3>",
        html_table(_metrics_frame(weighted["negative_controls"])),
        "<h3>Known Usher genes with one layer left out (weighted composite)</h3>",
        html_table(validation["weighted_leave_one_layer_out"]),
    ]
    sections.append(candidates_html(candidates))
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Usher candidate report</title>"
            f"<style>{STYLE}</style></head><body>{''.join(sections)}</body></html>")
    report_path = output_dir / "report.html"
    report_path.write_text(page, encoding="utf-8")
    json_path = output_dir / "validation.json"
    json_path.write_text(json.dumps(validation_metadata(validation), indent=2, default=str),
                         encoding="utf-8")
    return {"report_html": report_path, "validation_json": json_path}


def summary_markdown(candidates: pl.DataFrame, validation: dict) -> str:
    """A short Markdown summary for asset metadata: tiers, top genes, validation headline."""
    tiers = candidates.group_by(TIER).len()
    counts = {tier: int(n) for tier, n in tiers.iter_rows()}
    known = validation["known_metrics"]
    controls = validation["negative_controls"]["all"]
    score = "ranking_score" if "ranking_score" in candidates.columns else "composite_score"
    top = candidates.head(10).select(GENE_SYMBOL, score).iter_rows()
    thin = validation.get("top_thin_evidence")
    lines = [
        f"**Genes ranked:** {candidates.height}; "
        + ", ".join(f"{tier} {counts.get(tier, 0)}" for tier in TIERS),
        "**Top 10:** " + ", ".join(f"{s} ({c:.3f})" if c is not None else s for s, c in top),
        f"**Known Usher genes:** {known['all']['n_genes']} found, median percentile "
        f"{known['all']['median_percentile']} (core {known['core']['median_percentile']}), "
        f"{known['all']['top_count']} in the top {known['all']['top_fraction']:.0%}",
        f"**Negative controls:** {controls['n_genes']} genes, median percentile "
        f"{controls['median_percentile']}",
        f"**Weight sensitivity (+-20 %):** minimum Spearman {validation['sensitivity_min_spearman']:.4f}",
    ]
    if thin is not None:
        lines.append(f"**Thin evidence:** {thin['thin_count']} of the top {thin['top_n']} have at most "
                     f"{thin['max_layers_counted_thin']} layers")
    discovery = validation.get("strict_discovery")
    if discovery is not None:
        row = discovery["methods"].row(0, named=True)
        lines.append(
            f"**Strict discovery view** ({discovery['n_subset_genes']} genes without annotation cilia signal, "
            f"{discovery['n_labels']} CiliaMiner genes): top-10 % enrichment {row['enrichment']:.2f}x "
            f"[{row['enrichment_low']:.2f}, {row['enrichment_high']:.2f}], AUROC {row['auroc']:.3f}. "
            + discovery["verdict"]
        )
    return "\n\n".join(lines)
