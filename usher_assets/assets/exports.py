"""Files for people: the candidate table as Parquet and TSV, the HTML report and validation.json.

Each gets a `.provenance.json` sidecar from the checkpointing integration once the candidates table is
stored: the table's own provenance record (run id, code version, fingerprint, row count, content hash).
"""

from pathlib import Path

import polars as pl

EXPORTS = ("candidates.parquet", "candidates.tsv", "report.html", "validation.json")


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
    written = {}
    for name, write in (("candidates.parquet", table.write_parquet),
                        ("candidates.tsv", lambda p: table.write_csv(p, separator="\t"))):
        tmp = out / f".{name}.tmp"
        write(tmp)
        tmp.replace(out / name)
        written[name] = out / name
    paths = write_report(table, validation, out, about=report_about(pipeline))
    summary = summary_markdown(table, validation)
    metadata = {"summary": dg.MetadataValue.md(summary),
                "exports": dg.MetadataValue.json({k: str(v) for k, v in (written | paths).items()})}
    return table, metadata
