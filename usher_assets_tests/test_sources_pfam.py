"""The Pfam export of org.Hs.eg.db (orghs_gene_pfam.tsv.gz): counts as data/SOURCES.md gives them, and bad lines."""

import gzip
from pathlib import Path

import polars as pl
import pytest

from usher_assets.sources.formats import SourceFormatError
from usher_assets.sources.gene_ontology import parse_pfam_domains

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
HEADER = "entrez_id\tsymbol\tensembl_gene_ids\tpfam_id\n"


def test_parse_pfam_domains_counts_match_sources_md():
    domains = parse_pfam_domains(DATA_DIR / "orghs_gene_pfam.tsv.gz")
    assert domains.height == 28_673
    assert domains["entrez_id"].n_unique() == 17_643
    assert domains["pfam_id"].n_unique() == 6_282
    assert domains.schema == {"entrez_id": pl.Int64, "symbol": pl.String, "ensembl_gene_ids": pl.List(pl.String),
                              "pfam_id": pl.String}
    myo7a = domains.filter(pl.col("symbol") == "MYO7A")
    assert sorted(myo7a["pfam_id"]) == ["PF00063", "PF00373", "PF00612", "PF00784"]
    assert myo7a["ensembl_gene_ids"].to_list()[0] == ["ENSG00000137474"]
    assert domains.filter(pl.col("ensembl_gene_ids").list.len() == 0).height == 38


def _write(tmp_path, body: str) -> Path:
    path = tmp_path / "orghs_gene_pfam.tsv.gz"
    path.write_bytes(gzip.compress((HEADER + body).encode()))
    return path


@pytest.mark.parametrize(("body", "line", "column", "fragment"), [
    ("2\tA2M\tENSG00000175899\tPF00207\n2\tA2M\tENSG00000175899\tPFAM7\n", 3, "pfam_id", "'PFAM7'"),
    ("2\tA2M\tENSG00000175899\tPF00207\n2\tA2M\tENSG00000175899\t\n", 3, "pfam_id", "is empty"),
    ("2\tA2M\tENSG00000175899\tPF00207\nA2M\tA2M\tENSG00000175899\tPF01835\n", 3, "entrez_id", "A2M"),
    ("2\tA2M\tENSG00000175899\tPF00207\n9\tNAT1\tENSG00000171428\tPF00797\n2\tA2M\t\tPF00207\n", 4, "pfam_id",
     "duplicate ID"),
])
def test_parse_pfam_domains_names_file_line_and_field(tmp_path, body, line, column, fragment):
    path = _write(tmp_path, body)
    with pytest.raises(SourceFormatError) as raised:
        parse_pfam_domains(path)
    assert (raised.value.line, raised.value.column) == (line, column)
    assert str(path) in str(raised.value) and fragment in str(raised.value)
