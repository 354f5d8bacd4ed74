"""Cell-level sources: mouse hair cells and the cilia proteome (mapped through orthologs), and interactomes."""


from usher_assets.assets.declare import pipeline_asset
from usher_assets.assets.sources import SOURCE_CODE_VERSION, _load

SOURCES = {"group": "sources", "code_version": SOURCE_CODE_VERSION}


def _prefixed(prefix: str, report: dict) -> dict:
    return {f"{prefix}/{k}": v for k, v in report.items()}


@pipeline_asset(sources=("tissue_expression",), **SOURCES)
def mouse_human_orthologs(source_paths):
    """One row per one-to-one mouse-human ortholog pair (TissueEnrich's Ensembl v91 table)."""
    frame = _load("orthologs:parse_mouse_human_orthologs")(source_paths["tissue_expression"])
    return frame, {"pairs": frame.height}


@pipeline_asset(sources=("hair_cell_expression", "hair_cell_design"), **SOURCES)
def hair_cell_expression(hgnc, gene_universe, mouse_human_orthologs, source_paths):
    """One row per human gene with a mouse ortholog measured in inner-ear hair cells (Scheffer 2015):
    mean CPM in hair and surrounding cells, log2 fold change and enriched organ/age groups."""
    samples = _load("hair_cells:parse_hair_cell_expression")(source_paths["hair_cell_expression"],
                                                             source_paths["hair_cell_design"])
    enrichment = _load("hair_cells:hair_cell_enrichment")(samples)
    human, report = _load("orthologs:map_mouse_to_human")(
        enrichment, "mouse_gene_symbol", gene_universe, mouse_human_orthologs,
        best_by=("hair_cell_mean_cpm",), hgnc=hgnc)
    return human, {"samples": samples["sample"].n_unique(), "mouse_genes": enrichment.height,
                   **_prefixed("mapping", report)}


@pipeline_asset(sources=("cilia_proteome",), **SOURCES)
def cilia_proteome(hgnc, gene_universe, mouse_human_orthologs, source_paths):
    """One row per human gene whose mouse protein the cilia-APEX proteome found (Mick 2015): tier, spectra."""
    proteins, skipped = _load("cilia_proteome:parse_cilia_proteome")(source_paths["cilia_proteome"])
    human, report = _load("orthologs:map_mouse_to_human")(
        proteins, "mouse_gene_symbol", gene_universe, mouse_human_orthologs,
        best_by=("tier", "spectral_counts"), descending=(False, True), hgnc=hgnc)
    return human, {"proteins": proteins.height, **_prefixed("parse", skipped), **_prefixed("mapping", report)}


@pipeline_asset(sources=("centrosome_cilium_interactome",), **SOURCES)
def centrosome_cilium_interactome(hgnc, gene_universe, source_paths):
    """One row per BioID bait-prey-condition record at the centrosome-cilium interface (Gupta 2015), SAINT-scored."""
    edges = _load("interactomes:parse_bioid_interactions")(source_paths["centrosome_cilium_interactome"])
    mapped, report = _load("interactomes:map_partners_to_universe")(edges, gene_universe, "bait", "prey", hgnc=hgnc)
    return mapped, _prefixed("mapping", report)


@pipeline_asset(sources=("ciliary_interactome",), **SOURCES)
def ciliary_interactome(hgnc, gene_universe, source_paths):
    """One row per significant TAP-MS interaction of ciliary proteins (Boldt 2016), socioaffinity-scored."""
    edges = _load("interactomes:parse_tap_ms_interactions")(source_paths["ciliary_interactome"])
    mapped, report = _load("interactomes:map_partners_to_universe")(
        edges, gene_universe, "protein_a", "protein_b", hgnc=hgnc)
    return mapped, _prefixed("mapping", report)


cell_source_assets = [mouse_human_orthologs, hair_cell_expression, cilia_proteome,
                      centrosome_cilium_interactome, ciliary_interactome]
