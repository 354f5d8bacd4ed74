"""Parsers of the cell-level sources (hair cells, lung atlas, cilia proteome, interactomes, orthologs)."""

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd
import polars as pl
import pytest
import rdata

from usher_assets.sources.cilia_proteome import parse_cilia_proteome
from usher_assets.sources.formats import SourceFormatError
from usher_assets.sources.hair_cells import hair_cell_enrichment, parse_hair_cell_expression
from usher_assets.sources.hgnc import parse_hgnc
from usher_assets.sources.interactomes import (
    map_partners_to_universe, parse_bioid_interactions, parse_screen_hits, parse_tap_ms_interactions,
)
from usher_assets.sources.lung_atlas import parse_ciliated_cell_markers
from usher_assets.sources.orthologs import map_mouse_to_human, parse_mouse_human_orthologs
from usher_assets.sources.universe import build_gene_universe

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
MATRIX = DATA_DIR / "scheffer2015_gse60019_expression_matrix.tsv.RDS"
DESIGN = DATA_DIR / "scheffer2015_gse60019_experiment_design.RDS"
LUNG = DATA_DIR / "travaglini2020_Table_S4.10X.xlsx"
PROTEOME = DATA_DIR / "mick2015_Mich_NAchury_DecCell_2015_TableS1.xlsx"
BIOID = DATA_DIR / "gupta2015_bioid_interactions.tsv.gz"
SCREEN = DATA_DIR / "gupta2015_screen_hits.tsv.gz"
TAP_MS = DATA_DIR / "boldt2016_41467_2016_BFncomms11491_MOESM835_ESM_s3.xlsx"
TISSUE_ENRICH = DATA_DIR / "tissueenrich_combine-expression.rda"
CELL_FIXTURES = Path(__file__).resolve().parent / "data" / "cells"


@pytest.fixture(scope="module")
def hgnc():
    return parse_hgnc(DATA_DIR / "hgnc_complete_set.txt.gz")


@pytest.fixture(scope="module")
def universe(hgnc):
    return build_gene_universe(hgnc)


@pytest.fixture(scope="module")
def orthologs():
    return parse_mouse_human_orthologs(TISSUE_ENRICH)  # ~9 s: rdata walks the whole workspace


@pytest.fixture(scope="module")
def hair_expression():
    return parse_hair_cell_expression(MATRIX, DESIGN)


@pytest.fixture(scope="module")
def enrichment(hair_expression):
    return hair_cell_enrichment(hair_expression)


def symbol_id(universe, symbol):
    return universe.filter(pl.col("gene_symbol") == symbol)["hgnc_id"].item()


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    """A minimal workbook of inline-string and number cells: enough for calamine, no writer library."""
    def cell(ref, value):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f'<c r="{ref}"><v>{value}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'

    main = "http://schemas.openxmlformats.org"
    rel = f"{main}/officeDocument/2006/relationships"
    names = list(sheets)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", (
            f'<Types xmlns="{main}/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                      'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(len(names)))
            + "</Types>"))
        archive.writestr("_rels/.rels", f'<Relationships xmlns="{main}/package/2006/relationships">'
                         f'<Relationship Id="r" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        archive.writestr("xl/workbook.xml", (
            f'<workbook xmlns="{main}/spreadsheetml/2006/main" xmlns:r="{rel}"><sheets>'
            + "".join(f'<sheet name="{escape(n)}" sheetId="{i + 1}" r:id="s{i}"/>' for i, n in enumerate(names))
            + "</sheets></workbook>"))
        archive.writestr("xl/_rels/workbook.xml.rels", (
            f'<Relationships xmlns="{main}/package/2006/relationships">'
            + "".join(f'<Relationship Id="s{i}" Type="{rel}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                      for i in range(len(names)))
            + "</Relationships>"))
        for i, name in enumerate(names):
            rows = "".join(
                f'<row r="{r + 1}">' + "".join(cell(f"{chr(65 + c)}{r + 1}", v) for c, v in enumerate(row) if v != "")
                + "</row>" for r, row in enumerate(sheets[name]))
            sheet = f'<worksheet xmlns="{main}/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>'
            archive.writestr(f"xl/worksheets/sheet{i}.xml", sheet)
    return path


def write_rds(path: Path, columns: dict[str, list]) -> Path:
    # rdata writes text columns only as factors under pandas 3; the parser reads factors as text.
    frame = pd.DataFrame({name: pd.Categorical(values) if isinstance(values[0], str) else values
                          for name, values in columns.items()})
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    rdata.write_rds(path, frame)
    return path


# --- hair cells (Scheffer 2015) ---

def test_parse_hair_cell_expression_has_every_gene_and_sample(hair_expression):
    assert hair_expression.columns == ["mouse_gene_symbol", "sample", "cell_type", "organ", "time_point", "cpm"]
    assert hair_expression.height == 14_479 * 18
    samples = hair_expression.unique("sample")
    assert dict(samples["cell_type"].value_counts().iter_rows()) == {"hair_cell": 10, "surrounding_cell": 8}
    assert set(samples["organ"]) == {"cochlea", "utricle"}
    assert set(samples["time_point"]) == {"E16", "P0", "P4", "P7"}
    assert hair_expression.null_count().sum_horizontal().item() == 0


@pytest.mark.parametrize(("gene", "hair", "surrounding"), [
    ("Pou4f3", 244, 0.4), ("Tmc1", 294, 1.2), ("Otof", 128, 2.4), ("Myo7a", 52, 1.3), ("Arl13b", 15, 16),
])
def test_hair_cell_enrichment_means_match_sources_md(enrichment, gene, hair, surrounding):
    row = enrichment.filter(pl.col("mouse_gene_symbol") == gene).row(0, named=True)
    assert row["hair_cell_mean_cpm"] == pytest.approx(hair, rel=0.05)
    assert row["surrounding_cell_mean_cpm"] == pytest.approx(surrounding, rel=0.1)


@pytest.mark.parametrize("gene", ["Tmc1", "Otof", "Myo7a", "Pou4f3"])
def test_hair_cell_enrichment_marks_hair_cell_genes(enrichment, gene):
    row = enrichment.filter(pl.col("mouse_gene_symbol") == gene).row(0, named=True)
    assert row["hair_cell_log2fc"] > 4
    assert row["hair_cell_groups_enriched"] >= 7
    assert row["hair_cell_groups_measured"] == 8


def test_hair_cell_enrichment_leaves_arl13b_unenriched(enrichment):
    row = enrichment.filter(pl.col("mouse_gene_symbol") == "Arl13b").row(0, named=True)
    assert abs(row["hair_cell_log2fc"]) < 0.5
    assert row["hair_cell_groups_enriched"] <= 1


@pytest.mark.parametrize(("hair", "surrounding", "low", "high"), [
    (0.04, 0.4, -0.5, 0.0),  # a 10-fold ratio of near-zero CPMs is noise: the 1-CPM floor keeps it near 0
    (100.0, 1.0, 5.6, 5.7),  # log2(101 / 2)
    (3.0, 3.0, 0.0, 0.0),
])
def test_hair_cell_enrichment_pseudocount_floors_low_counts(hair, surrounding, low, high):
    expression = pl.DataFrame({
        "mouse_gene_symbol": ["G", "G"], "sample": ["a", "b"], "cell_type": ["hair_cell", "surrounding_cell"],
        "organ": ["cochlea", "cochlea"], "time_point": ["P0", "P0"], "cpm": [hair, surrounding],
    })
    row = hair_cell_enrichment(expression).row(0, named=True)
    assert low <= row["hair_cell_log2fc"] <= high
    assert row["hair_cell_groups_measured"] == 1


def test_parse_hair_cell_expression_rejects_unknown_cell_type(tmp_path):
    design = write_rds(tmp_path / "design.rds", {
        "sample": ["S1", "S2"], "organism_part": ["epithelium_of_utricle"] * 2,
        "cell_type": ["sensory_hair_cell", "supporting_cell"], "time_point": ["P0", "P0"],
    })
    matrix = write_rds(tmp_path / "matrix.rds", {"gene": ["Myo7a"], "S1": [1.0], "S2": [2.0]})
    with pytest.raises(SourceFormatError, match="supporting_cell") as error:
        parse_hair_cell_expression(matrix, design)
    assert error.value.column == "cell_type"


def test_parse_hair_cell_expression_rejects_samples_missing_from_sheet(tmp_path):
    design = write_rds(tmp_path / "design.rds", {
        "sample": ["S1"], "organism_part": ["epithelium_of_utricle"], "cell_type": ["sensory_hair_cell"],
        "time_point": ["P0"],
    })
    matrix = write_rds(tmp_path / "matrix.rds", {"gene": ["Myo7a"], "S1": [1.0], "S9": [2.0]})
    with pytest.raises(SourceFormatError, match="S9"):
        parse_hair_cell_expression(matrix, design)


def test_parse_hair_cell_expression_rejects_negative_cpm(tmp_path):
    design = write_rds(tmp_path / "design.rds", {
        "sample": ["S1"], "organism_part": ["epithelium_of_utricle"], "cell_type": ["sensory_hair_cell"],
        "time_point": ["P0"],
    })
    matrix = write_rds(tmp_path / "matrix.rds", {"gene": ["Myo7a", "Otof"], "S1": [1.0, -2.0]})
    with pytest.raises(SourceFormatError, match="row 2") as error:
        parse_hair_cell_expression(matrix, design)
    assert error.value.column == "S1"


def test_parse_hair_cell_expression_rejects_a_text_file(tmp_path):
    text = tmp_path / "matrix.rds"
    text.write_text("gene\tGSM1\nMyo7a\t1.0\n")
    with pytest.raises(SourceFormatError, match="not a readable R .rds file"):
        parse_hair_cell_expression(text, DESIGN)


# --- lung ciliated cells (Travaglini 2020) ---

@pytest.fixture(scope="module")
def lung_markers():
    return parse_ciliated_cell_markers(LUNG)


def test_parse_ciliated_cell_markers_reads_both_ciliated_types_only(lung_markers):
    assert lung_markers.columns == ["gene_symbol", "cell_type", "avg_logfc", "pct_in", "pct_out", "p_val_adj"]
    assert dict(lung_markers["cell_type"].value_counts().iter_rows()) == {"Ciliated": 1790, "Proximal Ciliated": 1824}


@pytest.mark.parametrize(("gene", "cell_type", "logfc", "pct_in", "pct_out"), [
    ("FOXJ1", "Ciliated", 1.64, 0.90, 0.08),
    ("DNAH5", "Ciliated", 1.66, None, None),
    ("RSPH1", "Ciliated", 2.34, None, None),
    ("ARL13B", "Ciliated", 0.40, None, None),
])
def test_parse_ciliated_cell_markers_known_values(lung_markers, gene, cell_type, logfc, pct_in, pct_out):
    row = lung_markers.filter((pl.col("gene_symbol") == gene) & (pl.col("cell_type") == cell_type)).row(0, named=True)
    assert row["avg_logfc"] == pytest.approx(logfc)
    if pct_in is not None:
        assert (row["pct_in"], row["pct_out"]) == pytest.approx((pct_in, pct_out))


def test_parse_ciliated_cell_markers_has_no_usher_gene(lung_markers):
    # SOURCES.md: no Usher gene is a ciliated-cell marker (USH1C is a neuroendocrine marker).
    assert not set(lung_markers["gene_symbol"]) & {"USH1C", "MYO7A", "CDH23", "PCDH15", "USH2A", "ADGRV1"}


def _marker_sheet(title, rows):
    header = ["Gene", "avg_logFC", "pct_in_cluster", "pct_out_cluster", "p_val", "p_val_adj", "TF", "Receptor",
              "Ligand", "Enzymes", "OMIM", "GWAS", "MCC"]
    return [[title], header, *rows]


@pytest.mark.parametrize(("cluster_2", "message", "line", "column"), [
    (_marker_sheet("Club", [["FOXJ1", 1.6, 0.9, 0.1, 0.0, 0.0]]), "Ciliated", 1, None),
    (_marker_sheet("Ciliated", [["FOXJ1", "high", 0.9, 0.1, 0.0, 0.0]]), "expected a number", 3, "avg_logFC"),
    (_marker_sheet("Ciliated", [["FOXJ1", 1.6, 1.9, 0.1, 0.0, 0.0]]), r"fraction in \[0, 1\]", 3, "pct_in_cluster"),
    (_marker_sheet("Ciliated", [["FOXJ1", 1.6, 0.9, 0.1, 0.0, 0.0], ["FOXJ1", 1.2, 0.9, 0.1, 0.0, 0.0]]),
     "listed twice", 4, "Gene"),
    ([["Ciliated"], ["Gene", "logFC"]], "expected header cells", 2, None),
])
def test_parse_ciliated_cell_markers_rejects_bad_sheet(tmp_path, cluster_2, message, line, column):
    cluster_3 = _marker_sheet("Proximal Ciliated", [["TUBB4B", 2.0, 1.0, 0.8, 0.0, 0.0]])
    workbook = write_xlsx(tmp_path / "lung.xlsx", {"Cluster 2": cluster_2, "Cluster 3": cluster_3})
    with pytest.raises(SourceFormatError, match=message) as error:
        parse_ciliated_cell_markers(workbook)
    assert (error.value.line, error.value.column) == (line, column)


def test_parse_ciliated_cell_markers_names_missing_sheet():
    with pytest.raises(SourceFormatError, match="'Cluster 2'"):
        parse_ciliated_cell_markers(PROTEOME)


def test_parse_ciliated_cell_markers_rejects_non_workbook(tmp_path):
    path = tmp_path / "lung.xlsx"
    path.write_bytes(b"not a zip archive at all")
    with pytest.raises(SourceFormatError, match="not a readable spreadsheet"):
        parse_ciliated_cell_markers(path)


# --- cilia proteome (Mick 2015) ---

@pytest.fixture(scope="module")
def proteome():
    return parse_cilia_proteome(PROTEOME)


def test_parse_cilia_proteome_counts_tiers_and_skipped_rows(proteome):
    frame, skipped = proteome
    assert frame.columns == ["mouse_gene_symbol", "uniprot_accession", "tier", "spectral_counts", "experiments"]
    # Tier 1: 162 rows - bait - 1 without GN=; Tier 2: 209 - 2 without GN=.
    assert dict(frame["tier"].value_counts().iter_rows()) == {1: 160, 2: 207}
    assert skipped == {"bait_construct": 1, "no_gene_name": 3}
    assert frame.filter(pl.col("tier") == 2)["experiments"].null_count() == 207
    assert frame.filter(pl.col("tier") == 1)["experiments"].null_count() == 0
    assert "DMC100" not in frame["uniprot_accession"].to_list()


@pytest.mark.parametrize(("gene", "tier", "spectra", "experiments"), [
    ("Arl13b", 1, 110, 3), ("Ift88", 1, 50, None), ("Ift172", 1, 116, None), ("Gpr98", 2, 10, None),
])
def test_parse_cilia_proteome_known_values(proteome, gene, tier, spectra, experiments):
    row = proteome[0].filter(pl.col("mouse_gene_symbol") == gene).row(0, named=True)
    assert (row["tier"], row["spectral_counts"]) == (tier, spectra)
    if experiments is not None:
        assert row["experiments"] == experiments


@pytest.mark.parametrize(("tier_1_row", "message", "column"), [
    (["'>sp|P1|A_MOUSE A OS=Mus musculus GN=Abc PE=1'", "many", 2, "P1"], "expected a number",
     "total spectral counts"),
    (["'>sp|P1|A_MOUSE A OS=Mus musculus GN=Abc PE=1'", 5.5, 2, "P1"], "whole number", "total spectral counts"),
    (["'>sp|P1|A_MOUSE A OS=Mus musculus GN=Abc PE=1'", 5, 2, ""], "non-empty text", "Uniprot accession number"),
])
def test_parse_cilia_proteome_rejects_bad_row(tmp_path, tier_1_row, message, column):
    workbook = write_xlsx(tmp_path / "mick.xlsx", {
        "Tier 1": [["Protein", "total spectral counts", "Identified in # experiments", "Uniprot accession number"],
                   tier_1_row],
        "Tier 2": [["Protein", "total spectral counts", "Uniprot accession number"]],
    })
    with pytest.raises(SourceFormatError, match=message) as error:
        parse_cilia_proteome(workbook)
    assert (error.value.line, error.value.column) == (2, column)


# --- interactomes (Gupta 2015, Boldt 2016) ---

def test_parse_bioid_interactions_reads_records():
    bioid = parse_bioid_interactions(BIOID)
    assert bioid.columns == ["bait_symbol", "prey_symbol", "condition", "avg_saint", "max_saint",
                             "max_spectral_count", "spectral_count_sum"]
    assert (bioid.height, bioid["bait_symbol"].n_unique(), bioid["prey_symbol"].n_unique()) == (6956, 58, 1723)
    assert set(bioid["condition"]) == {"ciliated", "non_ciliated"}
    row = bioid.filter((pl.col("bait_symbol") == "AHI1") & (pl.col("prey_symbol") == "DSP")).row(0, named=True)
    assert (row["condition"], row["avg_saint"], row["max_spectral_count"]) == ("ciliated", 0.92, 20)
    # "CENPJ/CPAP" names one gene; only its first name is kept.
    assert "CENPJ" in set(bioid["bait_symbol"]) and not bioid["bait_symbol"].str.contains("/").any()


HEADER = "Bait\tPrey\tCondition\tAvgSAINT\tMaxSAINT\tMaxSpec\tSpecSum\tco-IP validated\tReported\n"


@pytest.mark.parametrize(("record", "message", "column"), [
    ("AHI1\tDSP\tCiliated\t1.2\t1.0\t20\t34\t\t\n", r"\[0.0, 1.0\]", "AvgSAINT"),
    ("AHI1\tDSP\tCiliated\t0.9\t1.0\tmany\t34\t\t\n", "expected", "MaxSpec"),
    ("AHI1\tDSP\tStarved\t0.9\t1.0\t20\t34\t\t\n", "expected one of", "Condition"),
])
def test_parse_bioid_interactions_rejects_bad_record(tmp_path, record, message, column):
    path = tmp_path / "bioid.tsv"
    path.write_text(HEADER + record)
    with pytest.raises(SourceFormatError, match=message) as error:
        parse_bioid_interactions(path)
    assert (error.value.line, error.value.column) == (2, column)


def test_parse_screen_hits_nulls_unscreened_genes():
    screen = parse_screen_hits(SCREEN)
    assert screen.height == 1734
    assert screen["screened"].sum() == 535
    unscreened = screen.filter(~pl.col("screened"))
    assert unscreened["hit_cilia_screen"].null_count() == unscreened.height
    screened = screen.filter(pl.col("screened"))
    assert screened["hit_cilia_screen"].null_count() == 0
    assert screened["hit_cilia_screen"].sum() == 133
    assert screen.filter(pl.col("gene_symbol") == "AAK1")["entrez_id"].item() == 22848


def test_parse_screen_hits_rejects_hit_on_unscreened_gene():
    with pytest.raises(SourceFormatError, match="not screened") as error:
        parse_screen_hits(CELL_FIXTURES / "screen_hit_without_screen.tsv")
    assert (error.value.line, error.value.column) == (3, "Hit-Any_screen (Fig4,7,S4)")


@pytest.fixture(scope="module")
def tap_ms():
    return parse_tap_ms_interactions(TAP_MS)


def test_parse_tap_ms_interactions_keeps_only_syscilia_columns(tap_ms):
    assert tap_ms.columns == ["protein_a_symbol", "protein_b_symbol", "sa_ij", "spoke_ij", "spoke_ji", "matrix_ij",
                              "fpr", "fdr", "tagged"]
    assert tap_ms.height == 4905
    assert tap_ms["fdr"].max() <= 0.1
    row = tap_ms.filter((pl.col("protein_a_symbol") == "KIF3B") & (pl.col("protein_b_symbol") == "KIF3A"))
    assert row.row(0, named=True)["sa_ij"] == pytest.approx(14.35443)


@pytest.mark.parametrize(("symbol", "interactions"), [
    ("USH1C", 10), ("DFNB31", 9), ("CDH23", 7), ("MYO7A", 1), ("USH1G", 1),
])
def test_parse_tap_ms_interactions_lists_usher_baits(tap_ms, symbol, interactions):
    # SOURCES.md's leakage caution: these edges must be dropped when Usher genes are held out.
    touching = tap_ms.filter((pl.col("protein_a_symbol") == symbol) | (pl.col("protein_b_symbol") == symbol))
    assert touching.height == interactions


@pytest.mark.parametrize(("rows", "message", "line", "column"), [
    ([["Protein A", "Protein B", "BioPlex"]], "expected header cells", 1, None),
    ([["Protein A", "Protein B", "Syscilia"], ["", "", "SAij", "Spoke ij", "Spoke ji", "Matrix ij", "FPR", "FDR",
                                               "Tagged"], ["A", "B", 3.2, 3.2, 0, 0, 0.1, 0.02, "maybe"]],
     "expected one of", 3, "Tagged"),
    ([["Protein A", "Protein B", "Syscilia"], ["", "", "SAij", "Spoke ij", "Spoke ji", "Matrix ij", "FPR", "FDR",
                                               "Tagged"], ["A", "B", "", 3.2, 0, 0, 0.1, 0.02, "one"]],
     "expected a number", 3, "SAij"),
])
def test_parse_tap_ms_interactions_rejects_bad_sheet(tmp_path, rows, message, line, column):
    workbook = write_xlsx(tmp_path / "boldt.xlsx", {"Supplementary Data file 3": rows})
    with pytest.raises(SourceFormatError, match=message) as error:
        parse_tap_ms_interactions(workbook)
    assert (error.value.line, error.value.column) == (line, column)


def test_map_partners_to_universe_resolves_old_symbols(tap_ms, universe):
    mapped, report = map_partners_to_universe(tap_ms, universe, "protein_a", "protein_b")
    whrn = symbol_id(universe, "WHRN")
    assert mapped.filter(pl.col("protein_a_symbol") == "DFNB31")["protein_a_hgnc_id"].unique().to_list() == [whrn]
    assert report["rows_in"] == 4905 and report["rows_out"] == mapped.height
    assert mapped.height > 4850  # few edges lose an end: pseudogenes and ambiguous old symbols
    assert mapped.filter(pl.col("protein_a_hgnc_id") == pl.col("protein_b_hgnc_id")).height == 0


# --- orthologs ---

def test_parse_mouse_human_orthologs_reads_one_to_one_table(orthologs):
    assert orthologs.columns == ["mouse_ensembl_gene_id", "mouse_gene_symbol", "human_ensembl_gene_id",
                                 "human_gene_symbol"]
    assert orthologs.height == 15_187
    assert orthologs["human_ensembl_gene_id"].is_unique().all()
    row = orthologs.filter(pl.col("human_gene_symbol") == "MYO7A").row(0, named=True)
    assert row["mouse_gene_symbol"] == "MYO7A"  # TissueEnrich upper-cased the mouse symbols


def test_parse_mouse_human_orthologs_rejects_file_without_dataset():
    with pytest.raises(SourceFormatError, match="expected object 'dataset' with entry 'mouseHumanOrthologs'"):
        parse_mouse_human_orthologs(DESIGN)


def test_map_mouse_to_human_hair_cells_one_row_per_gene(enrichment, universe, orthologs):
    mapped, report = map_mouse_to_human(enrichment, "mouse_gene_symbol", universe, orthologs,
                                        best_by=["hair_cell_log2fc"])
    assert mapped["hgnc_id"].is_unique().all()
    assert report["rows_in"] == enrichment.height
    assert (report["one_to_one"] + report["by_mgi"] + report["by_symbol"] + report["one_to_many"]
            + report["unmapped"]) == report["rows_in"]
    assert report["genes_out"] == mapped.height == report["one_to_one"] + report["by_symbol"] - report["merged_rows"]
    assert report["one_to_one"] > 11_000 and report["genes_out"] > 12_500
    routes = dict(mapped.select("mouse_gene_symbol", "ortholog_match").iter_rows())
    assert routes["Myo7a"] == "ortholog"
    myo7a = mapped.filter(pl.col("hgnc_id") == symbol_id(universe, "MYO7A"))
    assert myo7a["mouse_gene_symbol"].item() == "Myo7a"


def test_map_mouse_to_human_old_mouse_symbol_falls_back_to_hgnc(proteome, universe, orthologs):
    mapped, report = map_mouse_to_human(proteome[0], "mouse_gene_symbol", universe, orthologs,
                                        best_by=["tier", "spectral_counts"], descending=[False, True])
    gpr98 = mapped.filter(pl.col("mouse_gene_symbol") == "Gpr98").row(0, named=True)
    assert (gpr98["hgnc_id"], gpr98["ortholog_match"]) == (symbol_id(universe, "ADGRV1"), "symbol")
    # Anxa1 is listed twice in Tier 2 (53 and 24 spectra): one human row, the stronger one.
    anxa1 = mapped.filter(pl.col("hgnc_id") == symbol_id(universe, "ANXA1"))
    assert anxa1["spectral_counts"].to_list() == [53]
    assert report["merged_rows"] == 1


ORTHOLOG_SCHEMA = {"mouse_ensembl_gene_id": pl.String, "mouse_gene_symbol": pl.String,
                   "human_ensembl_gene_id": pl.String, "human_gene_symbol": pl.String}


def ortholog_table(universe, pairs):
    """A small ortholog table: (mouse symbol, human symbol) with the universe's Ensembl IDs."""
    ensembl = dict(universe.select("gene_symbol", "ensembl_gene_id").iter_rows())
    return pl.DataFrame([(f"ENSMUSG{i:011d}", mouse, ensembl[human], human) for i, (mouse, human) in enumerate(pairs)],
                        schema=ORTHOLOG_SCHEMA, orient="row")


def test_map_mouse_to_human_drops_one_to_many_without_falling_back(universe):
    # Foo1 has two orthologs in the table, and its upper-cased symbol would resolve too: still dropped.
    table = ortholog_table(universe, [("FOO1", "MYO7A"), ("FOO1", "OTOF"), ("TMC1", "TMC1")])
    frame = pl.DataFrame({"gene": ["Foo1", "Tmc1", "2F1"], "value": [1.0, 2.0, 3.0]})
    mapped, report = map_mouse_to_human(frame, "gene", universe, table)
    assert mapped["gene"].to_list() == ["Tmc1"]
    # "2F1" is an alias of two human genes: also one-to-many.
    assert (report["one_to_one"], report["one_to_many"], report["unmapped"]) == (1, 2, 0)


def test_map_mouse_to_human_never_counts_a_human_gene_twice(universe):
    table = ortholog_table(universe, [("ARF4", "ARF4")])
    # Arf4 arrives by the ortholog table; Arf2 (no human ortholog) only by its symbol, an HGNC
    # alias of ARF4. The ortholog route wins even though Arf2 has the larger value.
    frame = pl.DataFrame({"gene": ["Arf2", "Arf4", "Zzz9"], "value": [9.0, 1.0, 5.0]})
    mapped, report = map_mouse_to_human(frame, "gene", universe, table, best_by=["value"])
    arf4 = mapped.filter(pl.col("hgnc_id") == symbol_id(universe, "ARF4")).row(0, named=True)
    assert mapped.filter(pl.col("hgnc_id") == symbol_id(universe, "ARF4")).height == 1
    assert (arf4["gene"], arf4["value"], arf4["ortholog_match"]) == ("Arf4", 1.0, "ortholog")
    assert arf4["mouse_symbols"] == ["Arf2", "Arf4"]
    assert report == {"rows_in": 3, "one_to_one": 1, "by_mgi": 0, "by_symbol": 1, "one_to_many": 0,
                      "unmapped": 1, "merged_rows": 1, "genes_out": 1}


@pytest.mark.parametrize(("best_by", "descending", "kept"), [
    (["value"], True, "B"),
    (["value"], False, "A"),
    ([], True, "A"),  # no preference: first mouse symbol
])
def test_map_mouse_to_human_keeps_best_row_of_one_route(universe, best_by, descending, kept):
    table = ortholog_table(universe, [("A", "MYO7A"), ("B", "MYO7A")])
    frame = pl.DataFrame({"gene": ["A", "B"], "value": [1.0, 2.0]})
    mapped, _ = map_mouse_to_human(frame, "gene", universe, table, best_by=best_by, descending=descending)
    assert mapped["gene"].to_list() == [kept]


def test_map_mouse_to_human_prefers_mgi_ids(universe):
    table = ortholog_table(universe, [("MYO7A", "OTOF")])  # a wrong table entry, to see which route wins
    frame = pl.DataFrame({"gene": ["Myo7a", "Myo7a"], "mgi": ["MGI:104510", None]})
    mapped, report = map_mouse_to_human(frame, "gene", universe, table, mgi_column="mgi")
    # The row with an MGI ID follows HGNC's mgd_ids; the row without one has only the table.
    assert dict(mapped.select("ortholog_match", "hgnc_id").iter_rows()) == {
        "mgi": symbol_id(universe, "MYO7A"), "ortholog": symbol_id(universe, "OTOF")}
    assert (report["by_mgi"], report["one_to_one"], report["merged_rows"]) == (1, 1, 0)


@pytest.mark.parametrize(("with_hgnc", "expected"), [(False, "HFE"), (True, None)])
def test_map_mouse_to_human_full_hgnc_keeps_pseudogene_symbols_off_coding_genes(universe, hgnc, with_hgnc, expected):
    # HLA-H is a human pseudogene's symbol and an alias of HFE; only the full table knows the first.
    frame = pl.DataFrame({"gene": ["Hla-h", "Myo7a"]})
    mapped, _ = map_mouse_to_human(frame, "gene", universe, ortholog_table(universe, []),
                                   hgnc=hgnc if with_hgnc else None)
    hits = dict(mapped.select("gene", "hgnc_id").iter_rows())
    assert hits["Myo7a"] == symbol_id(universe, "MYO7A")
    assert hits.get("Hla-h") == (symbol_id(universe, expected) if expected else None)


@pytest.mark.parametrize(("with_hgnc", "rows_out"), [(False, 2), (True, 1)])
def test_map_partners_to_universe_full_hgnc_drops_pseudogene_edges(universe, hgnc, with_hgnc, rows_out):
    edges = pl.DataFrame({"protein_a_symbol": ["HLA-H", "DFNB31"], "protein_b_symbol": ["MYO7A", "MYO7A"]})
    mapped, report = map_partners_to_universe(edges, universe, "protein_a", "protein_b",
                                              hgnc=hgnc if with_hgnc else None)
    assert report["rows_out"] == mapped.height == rows_out
    assert symbol_id(universe, "WHRN") in mapped["protein_a_hgnc_id"].to_list()
