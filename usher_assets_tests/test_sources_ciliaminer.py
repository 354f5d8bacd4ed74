"""parse_ciliaminer on the bundled CiliaMiner secondary-ciliopathy list (validation labels only)."""

import json
from pathlib import Path

import polars as pl
import pytest

from usher_assets.sources.ciliaminer import parse_ciliaminer
from usher_assets.sources.formats import SourceFormatError

CILIAMINER_FILE = Path(__file__).resolve().parents[1] / "data" / "ciliaminer_secondarylist.json"
USHER_GENES = ["ADGRV1", "ARSG", "CDH23", "CIB2", "CLRN1", "HARS1", "MYO7A", "PCDH15", "PDZD7", "USH1C", "USH1G",
               "USH2A", "WHRN"]


@pytest.fixture(scope="module")
def ciliaminer() -> pl.DataFrame:
    return parse_ciliaminer(CILIAMINER_FILE)


def test_parse_ciliaminer_drops_records_without_gene(ciliaminer):
    # 228 records, 26 without a gene; 190 distinct genes over 18 diseases (data/SOURCES.md).
    assert ciliaminer.height == 202
    assert ciliaminer["gene_symbol"].n_unique() == 190
    assert ciliaminer["disease"].n_unique() == 18
    assert ciliaminer.schema == {"disease": pl.String, "abbreviation": pl.String, "gene_symbol": pl.String,
                                 "entrez_id": pl.Int64}


def test_parse_ciliaminer_usher_rows_give_the_13_known_genes(ciliaminer):
    usher = ciliaminer.filter(pl.col("disease") == "Usher Syndrome")
    assert sorted(usher["gene_symbol"].unique()) == USHER_GENES
    assert usher.filter(pl.col("gene_symbol") == "MYO7A").select("abbreviation", "entrez_id").row(0) == ("USH1B", 4647)


@pytest.mark.parametrize(("content", "fragment", "line"), [
    ('[{"Ciliopathy": "Usher Syndrome",\n "Abbreviation": "USH1B"\n "Human Gene Name": "MYO7A"}]', "not valid JSON", 3),
    ('{"Ciliopathy": "Usher Syndrome"}', "JSON list", None),
    ('[{"Ciliopathy": "Usher Syndrome", "Abbreviation": "USH1B", "Human Gene Name": "MYO7A"}]', "lacks field", None),
    ('[{"Ciliopathy": "Usher Syndrome", "Abbreviation": "USH1B", "Human Gene Name": "MYO7A",'
     ' "Human Gene ID": 4647.5}]', "whole NCBI Gene ID", None),
])
def test_parse_ciliaminer_rejects_malformed_json(tmp_path, content, fragment, line):
    path = tmp_path / "secondarylist.json"
    path.write_text(content)
    with pytest.raises(SourceFormatError) as raised:
        parse_ciliaminer(path)
    assert str(path) in str(raised.value) and fragment in str(raised.value)
    assert raised.value.line == line


def test_parse_ciliaminer_rejects_duplicate_disease_gene_record(tmp_path):
    records = json.loads(CILIAMINER_FILE.read_text())
    usher = [r for r in records if r["Human Gene Name"] == "MYO7A" and r["Ciliopathy"] == "Usher Syndrome"]
    path = tmp_path / "secondarylist.json"
    path.write_text(json.dumps(records + usher))
    with pytest.raises(SourceFormatError, match="duplicate ID .*'MYO7A'"):
        parse_ciliaminer(path)
