"""Gene Ontology parsers on the bundled org.Hs.eg.db / GO.db exports (GO 2022-07-01, gene2go 2022-09-12)."""

from pathlib import Path

import polars as pl
import pytest

from usher_assets.sources.formats import SourceFormatError
from usher_assets.sources.gene_ontology import (
    parse_go_annotations, parse_go_gene_info, parse_go_parents, parse_go_terms,
)

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
CILIUM = "GO:0005929"


@pytest.fixture(scope="module")
def annotations() -> pl.DataFrame:
    return parse_go_annotations(DATA_DIR / "orghs_gene_go.tsv.gz")


@pytest.fixture(scope="module")
def gene_info() -> pl.DataFrame:
    return parse_go_gene_info(DATA_DIR / "orghs_gene_info.tsv.gz")


def test_parse_go_annotations_counts_match_sources_md(annotations):
    assert annotations.height == 348_116
    assert annotations["entrez_id"].n_unique() == 20_728
    assert dict(annotations["ontology"].value_counts().iter_rows()) == {"BP": 157_247, "CC": 106_381, "MF": 84_488}
    assert annotations.schema == {"entrez_id": pl.Int64, "symbol": pl.String, "ensembl_gene_ids": pl.List(pl.String),
                                  "go_id": pl.String, "evidence": pl.String, "ontology": pl.String}


def test_parse_go_annotations_cilium_and_usher_genes(annotations):
    assert annotations.filter(pl.col("go_id") == CILIUM)["entrez_id"].n_unique() == 221
    per_gene = dict(annotations.group_by("symbol").len().iter_rows())
    assert (per_gene["MYO7A"], per_gene["USH1C"], per_gene["ADGRV1"], per_gene["ARSG"]) == (45, 41, 52, 11)
    myo7a = annotations.filter(pl.col("entrez_id") == 4647).row(0, named=True)
    assert myo7a["ensembl_gene_ids"] == ["ENSG00000137474"]


def test_parse_go_gene_info_one_row_per_gene_and_ensembl_id(gene_info):
    assert gene_info.height == 81_120
    assert gene_info["entrez_id"].n_unique() == 77_614
    ensembl_per_gene = gene_info.drop_nulls("ensembl_gene_id").group_by("entrez_id").len()
    assert ensembl_per_gene.height == 36_596
    assert ensembl_per_gene.filter(pl.col("len") > 1).height == 1_649
    # 61 X|Y pseudoautosomal genes and one gene on 10|19|3 (counted on the raw file with awk).
    several_chromosomes = gene_info.filter(pl.col("chromosomes").list.len() > 1)["entrez_id"].n_unique()
    assert several_chromosomes == 62
    assert gene_info.filter(pl.col("entrez_id") == 293)["chromosomes"].to_list() == [["X", "Y"]]
    protein_coding = gene_info.filter(pl.col("gene_type") == "protein-coding")["entrez_id"].n_unique()
    assert protein_coding == 20_598


def test_parse_go_terms_counts_and_cilium():
    terms = parse_go_terms(DATA_DIR / "go_terms.tsv.gz")
    assert terms.height == 43_559
    assert dict(terms["ontology"].value_counts().iter_rows()) == {"BP": 28_140, "MF": 11_238, "CC": 4_180,
                                                                  "universal": 1}
    assert terms.filter(pl.col("go_id") == CILIUM).select("term", "ontology").row(0) == ("cilium", "CC")
    assert terms["definition"].null_count() == 8_419  # empty in GO.db, null here


def test_parse_go_parents_counts_and_cilium_subtree():
    parents = parse_go_parents(DATA_DIR / "go_parents.tsv.gz")
    assert parents.height == 85_716
    counts = {(o, r): n for o, r, n in parents.group_by("ontology", "relationship_type").len().iter_rows()}
    assert counts[("BP", "isa")] == 51_415 and counts[("CC", "part of")] == 1_951 and counts[("MF", "part of")] == 11
    # SOURCES.md: GO:0005929 has 98 descendants; walk the child -> parent edges downwards.
    subtree, frontier = {CILIUM}, {CILIUM}
    while frontier:
        frontier = set(parents.filter(pl.col("parent_go_id").is_in(list(frontier)))["child_go_id"]) - subtree
        subtree |= frontier
    assert len(subtree) == 99


def test_parse_go_terms_rejects_malformed_go_id(tmp_path):
    path = tmp_path / "go_terms.tsv"
    path.write_text("go_id\tterm\tontology\tdefinition\nGO:0005929\tcilium\tCC\t\nGO:5929\tbad\tCC\t\n")
    with pytest.raises(SourceFormatError) as raised:
        parse_go_terms(path)
    assert (raised.value.line, raised.value.column) == (3, "go_id")
