"""The bundled data files are unedited copies: their sha256 matches data/SOURCES.md."""

import hashlib
import re
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SOURCES_MD = (DATA_DIR / "SOURCES.md").read_text(encoding="utf-8")
# Index table rows: | `file` | bytes | `sha256` |
INDEX = dict(re.findall(r"^\| `([^`]+)` \| [\d,]+ \| `([0-9a-f]{64})` \|$", SOURCES_MD, flags=re.M))
BUNDLED = sorted(p.name for p in DATA_DIR.iterdir() if p.name != "SOURCES.md")


def test_sources_md_indexes_every_bundled_file():
    assert sorted(INDEX) == BUNDLED
    assert len(BUNDLED) == 18


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_file_matches_sources_md_sha256(name):
    digest = hashlib.sha256((DATA_DIR / name).read_bytes()).hexdigest()
    assert digest == INDEX[name]
    # The file's own provenance section carries the same digest as the index table.
    assert SOURCES_MD.count(digest) >= 2


@pytest.mark.parametrize("url", [
    "https://storage.googleapis.com/gcp-public-data--gnomad/release/4.1/constraint/gnomad.v4.1.constraint_metrics.tsv",
    "https://storage.googleapis.com/adult-gtex/bulk-gex/v8/rna-seq/GTEx_Analysis_2017-06-05_v8_RNASeQCv1.1.9_gene_median_tpm.gct.gz",
    "https://www.proteinatlas.org/download/tsv/normal_tissue.tsv.zip",
])
def test_sources_md_names_download_address_of_unbundled_source(url):
    not_bundled = SOURCES_MD.split("## Not bundled", 1)[1].split("\n## ", 1)[0]
    assert url in not_bundled
