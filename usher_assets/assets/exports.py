"""Files for people: the candidate table as Parquet and TSV, the HTML report, each with a provenance sidecar."""

from pathlib import Path

import polars as pl

from usher_assets.storage.provenance import ProvenanceTracker

EXPORTS = ("candidates.parquet", "candidates.tsv", "report.html")


def exported_files(pipeline) -> list[Path]:
    return [pipeline.output_dir / name for name in EXPORTS]


def export_candidates(gene_scores: pl.DataFrame, validation: dict, pipeline) -> tuple[pl.DataFrame, dict]:
    """Write the exports atomically and return the candidate table with report metadata."""
    import dagster as dg

    from usher_assets.scoring.composite import candidate_table
    from usher_assets.scoring.report import summary_markdown, write_report
    from usher_assets.scoring.report_about import report_about

    table = candidate_table(gene_scores)
    out = pipeline.output_dir
    out.mkdir(parents=True, exist_ok=True)
    from usher_assets.assets.declare import pipeline_provenance

    provenance = ProvenanceTracker(asset_key="candidates", **pipeline_provenance(pipeline))
    provenance.step("export", rows=table.height, columns=table.columns)
    written = {}
    for name, write in (("candidates.parquet", table.write_parquet),
                        ("candidates.tsv", lambda p: table.write_csv(p, separator="\t"))):
        tmp = out / f".{name}.tmp"
        write(tmp)
        tmp.replace(out / name)
        provenance.save_sidecar(out / name, rows=table.height)
        written[name] = out / name
    paths = write_report(table, validation, out, about=report_about(pipeline))
    for path in paths.values():
        provenance.save_sidecar(path)
    summary = summary_markdown(table, validation)
    metadata = {"summary": dg.MetadataValue.md(summary),
                "exports": dg.MetadataValue.json({k: str(v) for k, v in (written | paths).items()})}
    return table, metadata
