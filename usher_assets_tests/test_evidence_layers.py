"""Evidence layers on small hand-made frames: ranks, NULL semantics, weighting, one row per gene."""

import math
from pathlib import Path

import polars as pl
import pytest

from usher_assets.evidence.annotation import annotation_layer
from usher_assets.evidence.constraint import constraint_layer
from usher_assets.evidence.expression import expression_layer, is_ciliated_tissue
from usher_assets.evidence.go_graph import cilia_scoring_terms, descendant_terms
from usher_assets.evidence.layer_tools import percentile_rank
from usher_assets.evidence.localization import localization_layer
from usher_assets.schemas import GENE_UNIVERSE_COLUMNS

LIST = pl.List(pl.String)


def make_universe(genes: list[dict]) -> pl.DataFrame:
    """A gene universe in the real schema from a few dicts (symbol required)."""
    rows = []
    for number, gene in enumerate(genes, start=1):
        rows.append({
            "hgnc_id": gene.get("hgnc_id", f"HGNC:{number}"),
            "gene_symbol": gene["symbol"],
            "ensembl_gene_id": gene.get("ensembl", f"ENSG{number:011d}"),
            "entrez_id": gene.get("entrez", 1000 + number),
            "chromosome": "1",
            "alias_symbols": gene.get("aliases", []),
            "prev_symbols": gene.get("prev", []),
            "gene_groups": gene.get("groups", []),
            "mgd_ids": [],
        })
    schema = {"hgnc_id": pl.String, "gene_symbol": pl.String, "ensembl_gene_id": pl.String,
              "entrez_id": pl.Int64, "chromosome": pl.String, "alias_symbols": LIST,
              "prev_symbols": LIST, "gene_groups": LIST, "mgd_ids": LIST}
    return pl.DataFrame(rows, schema=schema).select(GENE_UNIVERSE_COLUMNS)


def by_symbol(frame: pl.DataFrame, column: str) -> dict:
    return dict(frame.select("gene_symbol", column).iter_rows())


# --- shared helpers ---------------------------------------------------------------------

@pytest.mark.parametrize(("values", "higher_is_better", "expected"), [
    ([1.0, 2.0, 3.0], True, [0.0, 0.5, 1.0]),
    ([1.0, 2.0, 3.0], False, [1.0, 0.5, 0.0]),
    ([1.0, None, 1.0, 3.0], True, [0.25, None, 0.25, 1.0]),  # ties share the average rank
    ([5.0, None], True, [0.5, None]),  # one value: no ordering known
    ([None, None], True, [None, None]),
    ([1.0, 2.0, 1000.0], True, [0.0, 0.5, 1.0]),  # an outlier does not stretch the scale
])
def test_percentile_rank_hand_computed(values, higher_is_better, expected):
    frame = pl.DataFrame({"v": values}, schema={"v": pl.Float64})
    got = frame.select(percentile_rank("v", higher_is_better=higher_is_better)).to_series().to_list()
    assert got == expected


# --- constraint -------------------------------------------------------------------------

@pytest.fixture
def constraint_universe() -> pl.DataFrame:
    return make_universe([{"symbol": "GENEA", "prev": ["OLDA"]}, {"symbol": "GENEB"},
                          {"symbol": "GENEC"}, {"symbol": "GENED"}])


def test_constraint_layer_hand_computed_ranks(constraint_universe):
    exac = pl.DataFrame({"gene_symbol": ["GENEA", "GENEB", "GENEC"], "pli": [0.9, 0.1, 0.5]})
    loftool = pl.DataFrame({"gene_symbol": ["GENEA", "GENEB"], "loftool_percentile": [0.2, 0.8]})
    layer = constraint_layer(constraint_universe, exac, loftool)
    assert by_symbol(layer, "exac_pli_rank") == {"GENEA": 1.0, "GENEB": 0.0, "GENEC": 0.5, "GENED": None}
    # LoFtool: lower percentile = more intolerant = higher score.
    assert by_symbol(layer, "loftool_rank") == {"GENEA": 1.0, "GENEB": 0.0, "GENEC": None, "GENED": None}
    # Mean of the available ranks; a gene no source lists stays null, not 0.
    assert by_symbol(layer, "constraint_score") == {"GENEA": 1.0, "GENEB": 0.0, "GENEC": 0.5,
                                                    "GENED": None}
    assert layer["gnomad_loeuf"].null_count() == layer.height


def test_constraint_layer_counts_gene_listed_under_old_and_new_symbol_once(constraint_universe):
    exac = pl.DataFrame({"gene_symbol": ["GENEA", "OLDA", "GENEB"], "pli": [0.8, 0.4, 0.1]})
    loftool = pl.DataFrame({"gene_symbol": ["GENEB"], "loftool_percentile": [0.5]})
    log: dict[str, dict] = {}
    layer = constraint_layer(constraint_universe, exac, loftool, mapping_log=log)
    assert layer.height == constraint_universe.height
    assert layer["hgnc_id"].is_unique().all()
    assert by_symbol(layer, "exac_pli")["GENEA"] == pytest.approx(0.6)
    assert log["exac_pli"]["matched_by_previous"] == 1


def test_constraint_layer_gnomad_loeuf_lower_is_more_constrained(constraint_universe):
    exac = pl.DataFrame({"gene_symbol": ["GENEA"], "pli": [0.5]})
    loftool = pl.DataFrame({"gene_symbol": ["GENEA"], "loftool_percentile": [0.5]})
    gnomad = pl.DataFrame({"gene_symbol": ["x", "y"], "ensembl_gene_id": ["ENSG00000000003", "ENSG00000000004"],
                           "pli": [0.2, 0.9], "loeuf": [0.3, 1.5]})
    layer = constraint_layer(constraint_universe, exac, loftool, gnomad)
    assert by_symbol(layer, "gnomad_loeuf_rank") == {"GENEA": None, "GENEB": None, "GENEC": 1.0,
                                                     "GENED": 0.0}
    # GENEC: pLI rank 0 and LOEUF rank 1 -> 0.5; GENEA: its two single-gene ranks are 0.5.
    assert by_symbol(layer, "constraint_score") == {"GENEA": 0.5, "GENEB": None, "GENEC": 0.5,
                                                    "GENED": 0.5}


# --- localization -----------------------------------------------------------------------

def hpa_rows(rows: list[tuple]) -> pl.DataFrame:
    """(ensembl, symbol, reliability, main, additional) -> hpa_subcellular frame."""
    return pl.DataFrame(rows, schema={"ensembl_gene_id": pl.String, "gene_symbol": pl.String,
                                      "reliability": pl.String, "main_locations": LIST,
                                      "additional_locations": LIST}, orient="row")


@pytest.mark.parametrize(("reliability", "main", "additional", "expected"), [
    ("Enhanced", ["Centrosome"], [], 0.7),
    ("Supported", ["Centrosome"], [], 0.56),
    ("Approved", ["Centrosome"], [], 0.42),
    ("Uncertain", ["Centrosome"], [], 0.21),
    ("Enhanced", ["Nucleoplasm"], ["Centrosome"], 0.35),  # additional counts half
    ("Enhanced", ["Microtubules", "Centriolar satellite"], [], 0.7),  # best compartment wins
    ("Enhanced", ["Primary cilium"], [], 1.0),  # HPA v21+ compartments
    ("Supported", ["Basal body"], [], 0.8),
    ("Enhanced", ["Primary cilium transition zone"], [], 1.0),
    ("Enhanced", ["Nucleoplasm", "Cytosol"], [], 0.0),  # studied, seen elsewhere: low, not null
    ("Approved", [], [], 0.0),
])
def test_localization_layer_weights_compartment_position_and_reliability(reliability, main, additional,
                                                                         expected):
    universe = make_universe([{"symbol": "GENEA"}, {"symbol": "GENEB"}])
    hpa = hpa_rows([("ENSG00000000001", "GENEA", reliability, main, additional)])
    layer = localization_layer(universe, hpa)
    scores = by_symbol(layer, "localization_score")
    assert scores["GENEA"] == pytest.approx(expected)
    assert scores["GENEB"] is None  # HPA did not study it


def test_localization_layer_keeps_better_of_two_records_of_one_gene():
    universe = make_universe([{"symbol": "GENEA"}])
    hpa = hpa_rows([
        ("ENSG00000000001", "GENEA", "Uncertain", ["Centrosome"], []),
        ("ENSG99999999999", "GENEA", "Enhanced", ["Centrosome"], []),  # resolved by symbol
    ])
    layer = localization_layer(universe, hpa)
    assert layer.height == 1
    assert layer.row(0, named=True)["localization_score"] == pytest.approx(0.7)
    assert layer.row(0, named=True)["hpa_reliability"] == "Enhanced"


def test_localization_layer_rejects_unknown_reliability():
    universe = make_universe([{"symbol": "GENEA"}])
    hpa = hpa_rows([("ENSG00000000001", "GENEA", "Validated", ["Centrosome"], [])])
    with pytest.raises(ValueError, match="Validated"):
        localization_layer(universe, hpa)


# --- annotation -------------------------------------------------------------------------

GO_TERMS = pl.DataFrame({
    "go_id": ["GO:0005929", "GO:0060271", "GO:0044782", "GO:0032420", "GO:0032421", "GO:0032391",
              "GO:0097546", "GO:0034464", "GO:1990696", "GO:0005634", "GO:1902017"],
    "term": ["cilium", "cilium assembly", "cilium organization", "stereocilium", "stereocilium bundle",
             "photoreceptor connecting cilium", "ciliary base", "BBSome", "USH2 complex", "nucleus",
             "regulation of cilium assembly"],
    "ontology": ["CC", "BP", "BP", "CC", "CC", "CC", "CC", "CC", "CC", "CC", "BP"],
    "definition": [None] * 11,
})
GO_PARENTS = pl.DataFrame({
    "child_go_id": ["GO:0097546", "GO:0034464", "GO:1990696", "GO:0032391", "GO:0060271", "GO:1902017",
                    "GO:0032420"],
    "parent_go_id": ["GO:0005929", "GO:0005929", "GO:0032420", "GO:0005929", "GO:0044782", "GO:0060271",
                     "GO:0032421"],
    "relationship_type": ["part of", "isa", "part of", "isa", "isa", "regulates", "part of"],
    "ontology": ["CC", "CC", "CC", "CC", "BP", "BP", "CC"],
})


def test_descendant_terms_follow_is_a_and_part_of_but_not_regulates():
    below = descendant_terms(GO_PARENTS, ["GO:0005929", "GO:0044782"])
    assert {"GO:0097546", "GO:0034464", "GO:0032391", "GO:0060271"} <= below
    assert "GO:1902017" not in below  # "regulation of cilium assembly" only regulates


def test_cilia_scoring_terms_drop_disease_named_terms():
    terms = cilia_scoring_terms(GO_TERMS, GO_PARENTS)
    assert "GO:0097546" in terms
    assert "GO:0034464" not in terms  # BBSome (Bardet-Biedl)
    assert "GO:1990696" not in terms  # USH2 complex


@pytest.fixture
def annotated():
    universe = make_universe([
        {"symbol": "EXPT"}, {"symbol": "ELEC"}, {"symbol": "BBSONLY"}, {"symbol": "NUCLEAR"},
        {"symbol": "IFTGROUP", "groups": ["IFT-B1 complex"]}, {"symbol": "NOTHING"},
        {"symbol": "BBSGROUP", "groups": ["BBSome"]}, {"symbol": "RENAMED", "entrez": 5555},
    ])
    go = pl.DataFrame({
        "entrez_id": [1001, 1001, 1002, 1003, 1004, 5555],
        "symbol": ["EXPT", "EXPT", "ELEC", "BBSONLY", "NUCLEAR", "OLDNAME"],  # GO of 2022: old symbol
        "ensembl_gene_ids": [[], [], [], [], [], []],
        "go_id": ["GO:0097546", "GO:0005634", "GO:0005929", "GO:0034464", "GO:0005634", "GO:0032391"],
        "evidence": ["IDA", "IEA", "IEA", "IDA", "IDA", "TAS"],
        "ontology": ["CC"] * 6,
    }, schema_overrides={"ensembl_gene_ids": LIST})
    return annotation_layer(universe, go, GO_TERMS, GO_PARENTS)


def test_annotation_layer_cilium_flag_includes_disease_terms(annotated):
    assert by_symbol(annotated, "go_cilium_annotated") == {
        "EXPT": True, "ELEC": True, "BBSONLY": True, "NUCLEAR": False, "IFTGROUP": False,
        "NOTHING": False, "BBSGROUP": False, "RENAMED": True}


def test_annotation_layer_scores_hand_computed(annotated):
    # Depth = distinct GO terms: EXPT 2, the other four annotated genes 1 -> ranks 1.0 and 0.375.
    depth = by_symbol(annotated, "go_depth_rank")
    assert depth["EXPT"] == 1.0 and depth["ELEC"] == 0.375
    score = by_symbol(annotated, "annotation_score")
    assert score["EXPT"] == pytest.approx(0.85 * 1.0 + 0.15 * 1.0)  # IDA to ciliary base
    assert score["ELEC"] == pytest.approx(0.85 * 0.4 + 0.15 * 0.375)  # IEA to cilium
    assert score["BBSONLY"] == pytest.approx(0.15 * 0.375)  # BBSome does not count
    assert score["NUCLEAR"] == pytest.approx(0.15 * 0.375)
    assert score["RENAMED"] == pytest.approx(0.85 * 0.6 + 0.15 * 0.375)  # joined by Entrez ID
    assert score["IFTGROUP"] == pytest.approx(0.85 * 0.8)  # cilia gene group, no GO
    assert score["NOTHING"] is None  # no source says anything
    assert score["BBSGROUP"] is None  # disease-named group is not evidence


# --- expression -------------------------------------------------------------------------

@pytest.mark.parametrize(("tissue", "ciliated"), [
    ("Testis", True), ("Fallopian.Tube", True), ("Fallopian Tube", True), ("Lung", True),
    ("Brain - Cortex", True), ("Cerebral Cortex", True), ("Pituitary", True), ("retina", True),
    ("Liver", False), ("Skin - Sun Exposed (Lower leg)", False), ("Adrenal Gland", False),
    ("eyelid", False),  # whole words only
])
def test_is_ciliated_tissue(tissue, ciliated):
    frame = pl.DataFrame({"tissue": [tissue]})
    assert frame.select(is_ciliated_tissue(pl.col("tissue"))).item() is ciliated


def tissue_rows(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"dataset": pl.String, "ensembl_gene_id": pl.String,
                                      "tissue": pl.String, "tpm": pl.Float64,
                                      "specificity_group": pl.String}, orient="row")


def test_expression_layer_hand_computed():
    universe = make_universe([{"symbol": "TESTIS1"}, {"symbol": "LIVER1"}, {"symbol": "ABSENT"}])
    te = tissue_rows([
        ("HPA", "ENSG00000000001", "Testis", 15.0, "Tissue-Enriched"),
        ("HPA", "ENSG00000000001", "Liver", 1.0, None),
        ("HPA", "ENSG00000000002", "Testis", 3.0, None),
        ("HPA", "ENSG00000000002", "Liver", 63.0, "Tissue-Enhanced"),  # not a ciliated tissue
    ])
    layer = expression_layer(universe, te)
    row = layer.row(0, named=True)
    assert row["te_hpa_ciliated_tpm_max"] == 15.0
    # Best ciliated tissue over the median of the others, in log2(TPM + 1).
    assert row["te_hpa_ciliated_log2fc"] == pytest.approx(math.log2(16) - math.log2(2))
    assert (row["te_hpa_expressed"], row["te_hpa_enrichment_rank"], row["te_hpa_specificity"]) == (1.0, 1.0, 1.0)
    other = layer.row(1, named=True)
    assert other["te_hpa_ciliated_log2fc"] == pytest.approx(2 - 6)
    # 3 TPM is below the 10 TPM saturation: log2(4) / log2(11).
    assert other["te_hpa_expressed"] == pytest.approx(2 / math.log2(11))
    assert (other["te_hpa_enrichment_rank"], other["te_hpa_specificity"]) == (0.0, 0.0)
    # The lowest tissue, in log2(TPM + 1): how ubiquitous the gene is (not part of the layer score).
    assert (row["te_hpa_min_log2_tpm"], other["te_hpa_min_log2_tpm"]) == (pytest.approx(1.0), pytest.approx(2.0))
    # GTEx and the optional tables are absent: their columns are null, not 0.
    assert row["te_gtex_expressed"] is None and row["gtex_v8_expressed"] is None
    assert row["te_gtex_min_log2_tpm"] is None
    scores = by_symbol(layer, "expression_score")
    assert scores["TESTIS1"] == 1.0
    assert scores["LIVER1"] == pytest.approx(2 / math.log2(11) / 3)
    assert scores["ABSENT"] is None


@pytest.mark.parametrize(("tpm", "expressed"), [(0.0, 0.0), (1.0, 1 / math.log2(11)), (10.0, 1.0),
                                                (5000.0, 1.0)])
def test_expression_layer_level_saturates(tpm, expressed):
    universe = make_universe([{"symbol": "GENEA"}])
    te = tissue_rows([("HPA", "ENSG00000000001", "Lung", tpm, None),
                      ("HPA", "ENSG00000000001", "Liver", 1.0, None)])
    layer = expression_layer(universe, te)
    assert layer["te_hpa_expressed"].item() == pytest.approx(expressed)


def test_expression_layer_optional_sources():
    universe = make_universe([{"symbol": "GENEA"}, {"symbol": "GENEB"}])
    te = tissue_rows([("GTEx", "ENSG00000000001", "Lung", 5.0, None),
                      ("GTEx", "ENSG00000000001", "Liver", 5.0, None)])
    gtex = pl.DataFrame({"ensembl_gene_id": ["ENSG00000000002.7"] * 2, "gene_symbol": ["GENEB"] * 2,
                         "tissue": ["Brain - Cortex", "Liver"], "tpm": [8.0, 0.0]})
    ihc = pl.DataFrame({"ensembl_gene_id": ["ENSG00000000002", "ENSG00000000002"],
                        "gene_symbol": ["GENEB", "GENEB"], "tissue": ["fallopian tube", "liver"],
                        "cell_type": ["glandular cells", "hepatocytes"], "level": ["Medium", "High"],
                        "reliability": ["Enhanced", "Enhanced"]})
    layer = expression_layer(universe, te, gtex, ihc)
    b = layer.row(1, named=True)
    assert b["gtex_v8_ciliated_tpm_max"] == 8.0  # version suffix stripped by the resolver
    assert b["hpa_ihc_ciliated_level"] == pytest.approx(2 / 3)
    assert b["te_gtex_expressed"] is None
    a = layer.row(0, named=True)
    assert a["te_gtex_ciliated_log2fc"] == 0.0 and a["hpa_ihc_ciliated_level"] is None


# --- the bundled data, through the real parsers ------------------------------------------

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def real_universe() -> pl.DataFrame:
    from usher_assets.sources.hgnc import parse_hgnc
    from usher_assets.sources.universe import build_gene_universe

    return build_gene_universe(parse_hgnc(DATA_DIR / "hgnc_complete_set.txt.gz"))


@pytest.fixture(scope="module")
def real_layers(real_universe) -> dict[str, pl.DataFrame]:
    from usher_assets.sources.constraint import parse_exac_pli, parse_loftool
    from usher_assets.sources.expression import parse_tissue_expression
    from usher_assets.sources.gene_ontology import parse_go_annotations, parse_go_parents, parse_go_terms
    from usher_assets.sources.hpa import parse_hpa_subcellular

    return {
        "constraint": constraint_layer(real_universe, parse_exac_pli(DATA_DIR / "ExACpLI_values.txt"),
                                       parse_loftool(DATA_DIR / "LoFtool_scores.txt")),
        "localization": localization_layer(real_universe,
                                           parse_hpa_subcellular(DATA_DIR / "subcellular_location.tsv")),
        "annotation": annotation_layer(real_universe, parse_go_annotations(DATA_DIR / "orghs_gene_go.tsv.gz"),
                                       parse_go_terms(DATA_DIR / "go_terms.tsv.gz"),
                                       parse_go_parents(DATA_DIR / "go_parents.tsv.gz")),
        "expression": expression_layer(
            real_universe, parse_tissue_expression(DATA_DIR / "tissueenrich_combine-expression.rda")),
    }


@pytest.mark.parametrize("layer", ["constraint", "localization", "annotation", "expression"])
def test_layer_on_bundled_data_has_each_universe_gene_once(real_layers, real_universe, layer):
    frame = real_layers[layer]
    assert frame.height == real_universe.height == 19_290
    assert frame["hgnc_id"].to_list() == real_universe["hgnc_id"].to_list()
    score = frame[f"{layer}_score"].drop_nulls()
    assert 0.0 <= score.min() and score.max() <= 1.0
    assert frame[f"{layer}_score"].null_count() > 0  # some genes lack every source: null, not 0


def test_constraint_layer_bundled_maps_previous_symbols(real_layers):
    genes = real_layers["constraint"].filter(pl.col("gene_symbol").is_in(["HARS1", "WHRN", "ADGRV1"]))
    # ExAC lists them as HARS, DFNB31 and GPR98 (previous HGNC symbols).
    assert by_symbol(genes, "exac_pli") == pytest.approx(
        {"HARS1": 0.000736050889038717, "WHRN": 0.0110884966572566, "ADGRV1": 8.11098418587805e-24})
    assert real_layers["constraint"]["constraint_score"].is_not_null().sum() > 17_500


def test_localization_layer_bundled(real_layers):
    scores = by_symbol(real_layers["localization"], "localization_score")
    assert scores["CEP250"] == pytest.approx(0.7 * 0.8)  # Supported, main location Centrosome
    assert scores["MYO7A"] == 0.0  # studied: Cytosol
    assert scores["USH2A"] is None  # not in HPA v19
    studied = real_layers["localization"]["localization_score"].is_not_null().sum()
    assert 12_000 < studied <= 12_390  # SOURCES.md: 12,390 genes in the file


def test_annotation_layer_bundled_cilium_subtree_count(real_layers):
    # SOURCES.md: 728 Entrez genes in the GO:0005929 subtree; a few are not protein-coding in HGNC.
    assert 700 <= real_layers["annotation"]["go_cilium_annotated"].sum() <= 728


@pytest.mark.parametrize(("symbol", "in_subtree"), [
    ("MYO7A", True), ("USH1C", True), ("CDH23", True), ("PCDH15", True), ("USH1G", True), ("CIB2", True),
    ("USH2A", True), ("WHRN", True), ("PDZD7", True),
    ("ADGRV1", False), ("CLRN1", False), ("ARSG", False), ("HARS1", False),
])
def test_annotation_layer_bundled_usher_genes_match_sources_md(real_layers, symbol, in_subtree):
    assert by_symbol(real_layers["annotation"], "go_cilium_annotated")[symbol] is in_subtree


def test_expression_layer_bundled(real_layers):
    layer = real_layers["expression"]
    # SOURCES.md: in HPA, USH2A is Group-Enriched (liver, testis); MYO7A Tissue-Enhanced (adrenal).
    assert by_symbol(layer, "te_hpa_specificity")["USH2A"] == 0.75
    assert by_symbol(layer, "te_hpa_specificity")["MYO7A"] == 0.0
    scores = by_symbol(layer, "expression_score")
    # Multiciliated-cell genes outscore housekeeping genes.
    assert min(scores["FOXJ1"], scores["RSPH1"]) > max(scores["ACTB"], scores["GAPDH"])
    assert layer["expression_score"].is_not_null().sum() > 18_500


# --- strict annotation flag, sensory function terms ---------------------------------------

def test_annotation_layer_cilia_annotated_is_every_cilia_signal(annotated):
    # Strict: the cilium subtree (BBSome included), any scored cilia term, or a cilia gene group.
    assert by_symbol(annotated, "cilia_annotated") == {
        "EXPT": True, "ELEC": True, "BBSONLY": True, "NUCLEAR": False, "IFTGROUP": True,
        "NOTHING": False, "BBSGROUP": False, "RENAMED": True}
    assert by_symbol(annotated, "cilia_signal")["IFTGROUP"] == pytest.approx(0.8)


def test_annotation_layer_context_leaves_out_the_label_and_the_validation_genes(annotated):
    # EXPT's nuclear term is context, its ciliary-base term is the label; BBSONLY's BBSome term is disease-named.
    terms = by_symbol(annotated, "go_context_terms")
    assert terms["EXPT"] == ["GO:0005634"] and terms["NUCLEAR"] == ["GO:0005634"]
    assert terms["ELEC"] == [] and terms["BBSONLY"] == [] and terms["NOTHING"] == []
    assert by_symbol(annotated, "go_context_term_count")["EXPT"] == 1
    groups = by_symbol(annotated, "context_gene_groups")
    assert groups["IFTGROUP"] == [] and groups["BBSGROUP"] == []  # cilia machinery; disease-named


def test_annotation_layer_go_sensory_evidence_from_hearing_and_vision_terms():
    universe = make_universe([{"symbol": "HEARS"}, {"symbol": "SEES"}, {"symbol": "SMELLS"}])
    terms = pl.concat([GO_TERMS, pl.DataFrame({
        "go_id": ["GO:0007605", "GO:0050953", "GO:0007608"],
        "term": ["sensory perception of sound", "sensory perception of light stimulus",
                 "sensory perception of smell"],
        "ontology": ["BP"] * 3, "definition": [None] * 3})], how="vertical_relaxed")
    go = pl.DataFrame({"entrez_id": [1001, 1002, 1003], "symbol": ["HEARS", "SEES", "SMELLS"],
                       "ensembl_gene_ids": [[], [], []], "go_id": ["GO:0007605", "GO:0050953", "GO:0007608"],
                       "evidence": ["IMP", "IEA", "IDA"], "ontology": ["BP"] * 3},
                      schema_overrides={"ensembl_gene_ids": LIST})
    layer = annotation_layer(universe, go, terms, GO_PARENTS)
    assert by_symbol(layer, "go_sensory_evidence") == {"HEARS": 1.0, "SEES": 0.4, "SMELLS": 0.0}
    assert not any(by_symbol(layer, "cilia_annotated").values())


def test_annotation_layer_bundled_strict_flag_covers_more_than_the_cilium_subtree(real_layers):
    annotation = real_layers["annotation"]
    strict, subtree = annotation["cilia_annotated"].sum(), annotation["go_cilium_annotated"].sum()
    assert subtree + 100 < strict < 1_000  # stereocilium, cilium assembly terms and gene groups add ~160
    assert (annotation.filter(pl.col("go_cilium_annotated"))["cilia_annotated"]).all()
    flags = by_symbol(annotation, "cilia_annotated")
    # ADGRV1 and CLRN1 are outside GO:0005929 but carry stereocilium-bundle terms; ARSG carries none.
    assert flags["ADGRV1"] is True and flags["CLRN1"] is True and flags["ARSG"] is False


# --- cilia association --------------------------------------------------------------------

def _profiles(shapes: dict[str, list[float]]) -> pl.DataFrame:
    rows = [{"dataset": "HPA", "tissue": f"T{t:02d}", "tpm": value, "hgnc_id": gene}
            for gene, values in shapes.items() for t, value in enumerate(values)]
    return pl.DataFrame(rows)


def test_cilia_association_layer_counts_seed_partners_and_co_expression_without_the_labels():
    from usher_assets.evidence.cilia_association import cilia_association_layer

    universe = make_universe([{"symbol": s, "hgnc_id": f"HGNC:{s}"} for s in ("A", "B", "C", "D", "E", "F", "J")])
    annotated = pl.DataFrame({"hgnc_id": [f"HGNC:{s}" for s in "ABCDEFJ"],
                              "cilia_annotated": [True, True, False, False, False, False, True]})
    bioid = pl.DataFrame({"bait_hgnc_id": ["HGNC:A", "HGNC:B", "HGNC:J"],
                          "prey_hgnc_id": ["HGNC:C", "HGNC:C", "HGNC:E"], "avg_saint": [1.0, 1.0, 1.0]})
    tap = pl.DataFrame({"protein_a_hgnc_id": ["HGNC:D", "HGNC:D"], "protein_b_hgnc_id": ["HGNC:A", "HGNC:F"]})
    ciliary = [1, 1, 1, 50, 50, 1, 1, 1, 50, 1, 1, 1]
    other = [50, 50, 50, 1, 1, 50, 50, 50, 1, 50, 50, 50]
    tissues = _profiles({"HGNC:A": ciliary, "HGNC:B": ciliary, "HGNC:C": ciliary, "HGNC:F": other,
                         "HGNC:J": ciliary, "HGNC:D": [5] * 12})
    layer = cilia_association_layer(universe, annotated, bioid, tap, tissues, exclude_hgnc_ids={"HGNC:J"})
    rows = {r["hgnc_id"].removeprefix("HGNC:"): r for r in layer.iter_rows(named=True)}
    assert (rows["C"]["network_partners"], rows["C"]["network_cilia_partners"]) == (2, 2)
    assert rows["D"]["network_cilia_fraction"] == 0.5  # A is a seed, F is not
    assert rows["E"]["network_partners"] is None  # its only edge was to an excluded gene
    assert rows["J"]["network_partners"] is None
    assert rows["C"]["coexpression_cilia"] == pytest.approx(1.0)
    assert rows["F"]["coexpression_cilia"] == pytest.approx(-1.0)
    assert rows["A"]["coexpression_cilia"] == pytest.approx(1.0)  # against B alone, not itself
    assert rows["D"]["coexpression_cilia"] == 0.0  # a flat profile says nothing either way
    assert rows["E"]["cilia_association_score"] is None  # no partner, no profile: no statement
    assert rows["C"]["cilia_association_score"] == max(r["cilia_association_score"] for r in rows.values()
                                                        if r["cilia_association_score"] is not None)
    assert layer.columns[-1] == "cilia_association_score" and layer.height == universe.height
