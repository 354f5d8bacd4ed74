"""What report.html says about itself, so it can be read and cited alone: when and by which pipeline version it
was made, from which source releases, with which weights and tiers; and the legend of the heat map's grey cells.
"""

import html
from datetime import datetime, timezone

from usher_assets import __version__
from usher_assets.storage.fingerprint import canonical_hash

NO_EVIDENCE_GREY = "#dddddd"  # the heat map's colour for a NULL layer score (report_plots uses it too)
CONFIG_HASH_SHORT = 12


def report_about(config) -> dict:
    """The facts the report header prints, from a PipelineConfig; plain data, so tests can build it by hand."""
    return {
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "pipeline_version": __version__,
        # What decides the results (sources and scoring), not where the files of this build live.
        "config_hash": canonical_hash({s: config.section_hash(s) for s in ("sources", "scoring")}),
        "source_releases": config.source_releases(),
        "weights": dict(config.scoring.weights),
        "tiers": config.scoring.tiers.model_dump(),
    }


def _rows(pairs) -> str:
    return "".join(f"<tr><th scope='row'>{html.escape(str(k))}</th><td class='text'>{html.escape(str(v))}</td></tr>"
                   for k, v in pairs)


def about_html(about: dict | None) -> str:
    """The report's "About this report" block: date, version, config hash, weights, tiers, source releases."""
    if not about:
        return ""
    tiers = about["tiers"]
    made = [("Generated", about["generated_at"]), ("Pipeline version", f"usher_assets {about['pipeline_version']}"),
            ("Configuration hash (sources and scoring)", about["config_hash"][:CONFIG_HASH_SHORT]),
            ("Tiers", f"HIGH: ranking score >= {tiers['high']}, MEDIUM: >= {tiers['medium']}; genes with "
                      f"<= {tiers['thin_evidence']} evidence layers are flagged thin, not demoted")]
    weights = [(layer, f"{weight:g}") for layer, weight in about["weights"].items()]
    releases = [(source, release if release is not None else "not configured (its evidence is NULL)")
                for source, release in about["source_releases"].items()]
    return ("<section class='about'><h2>About this report</h2><div class='about-grid'>"
            f"<table class='facts'><caption>This report</caption>{_rows(made)}</table>"
            f"<table class='facts'><caption>Layer weights (sum 1)</caption>{_rows(weights)}</table>"
            f"<table class='facts'><caption>Source releases</caption>{_rows(releases)}</table>"
            "</div></section>")


def no_evidence_legend_html() -> str:
    """The legend under the heat map: what a grey cell means, and what the last two columns are."""
    return (f"<p class='legend'><span class='swatch' style='background:{NO_EVIDENCE_GREY}'></span> "
            "Grey: no evidence, the layer has no score for this gene (NULL, not zero). The last two columns are "
            "the cilia model's percentile and the ranking score the genes are ranked by (see Method), to which "
            "missing sensory or annotation evidence adds nothing. Letters after a gene: its tier (H high, M medium, "
            "L low).</p>")
