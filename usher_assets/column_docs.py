"""What each stored column of the evidence, scoring and report tables means, shown in the UI's column schema.

One description per column name, shared by every table that stores the column; `describe(table)` gives
the pipeline_asset `columns=` mapping of one table. test_column_docs checks these lists against a real run.
"""

from usher_assets.schemas import CHROMOSOME, ENSEMBL_GENE_ID, GENE_SYMBOL, HGNC_ID

IDS = {
    HGNC_ID: "HGNC gene ID (HGNC:1234); the key every gene-level table joins on.",
    GENE_SYMBOL: "HGNC approved symbol.",
    ENSEMBL_GENE_ID: "Ensembl gene ID without version suffix; NULL when HGNC lists none.",
    CHROMOSOME: "Chromosome (1-22, X, Y, MT) from the HGNC location; the partition key of evidence tables.",
}
RANK_01 = "within the universe, in [0, 1], 1 = strongest cilia/Usher signal"
EXPRESSION_TABLES = [("te_hpa", "TissueEnrich (HPA)"), ("te_gtex", "TissueEnrich (GTEx)"),
                     ("gtex_v8", "GTEx v8 median TPM")]
COLUMNS = IDS | {
    # constraint_evidence
    "exac_pli": "ExAC r0.3 pLI: probability of LoF intolerance, in [0, 1].",
    "loftool_percentile": "LoFtool gene intolerance percentile (lower = more intolerant).",
    "gnomad_pli": "gnomAD pLI, in [0, 1]; NULL when the gnomAD source is not configured.",
    "gnomad_loeuf": "gnomAD LOEUF (upper bound of observed/expected LoF; lower = more constrained).",
    "exac_pli_rank": f"Rank of exac_pli {RANK_01}.",
    "loftool_rank": f"Rank of loftool_percentile (inverted) {RANK_01}.",
    "gnomad_pli_rank": f"Rank of gnomad_pli {RANK_01}.",
    "gnomad_loeuf_rank": f"Rank of gnomad_loeuf (inverted) {RANK_01}.",
    "constraint_score": "Constraint layer score: mean of the available constraint ranks, in [0, 1]; NULL = no data.",
    # expression_evidence
    **{f"{p}_ciliated_tpm_max": f"{s}: highest TPM in a ciliated tissue." for p, s in EXPRESSION_TABLES},
    **{f"{p}_ciliated_log2fc": f"{s}: log2 fold of that TPM over the median TPM of the other tissues."
       for p, s in EXPRESSION_TABLES},
    **{f"{p}_expressed": f"{s}: best ciliated-tissue TPM on a log scale, saturating at 10 TPM, in [0, 1]."
       for p, s in EXPRESSION_TABLES},
    **{f"{p}_enrichment_rank": f"{s}: rank of the log2 fold {RANK_01}." for p, s in EXPRESSION_TABLES},
    "te_hpa_specificity": "TissueEnrich (HPA): best specificity class in a ciliated tissue (enriched 1, group 0.75, "
                          "enhanced 0.5, else 0).",
    "te_gtex_specificity": "TissueEnrich (GTEx): best specificity class in a ciliated tissue (enriched 1, "
                           "group 0.75, enhanced 0.5, else 0).",
    **{f"{p}_min_log2_tpm": f"{s}: log2(TPM + 1) in the gene's lowest tissue (how ubiquitous it is; feeds ubiquity, "
       "not the layer score)." for p, s in EXPRESSION_TABLES},
    "hpa_ihc_ciliated_level": "HPA immunohistochemistry staining in ciliated cells (not detected 0 ... high 1).",
    "expression_score": "Expression layer score: mean of the available signals, in [0, 1]; NULL = no table measured.",
    # localization_evidence
    "hpa_reliability": "HPA subcellular annotation reliability (Enhanced, Supported, Approved, Uncertain).",
    "hpa_cilia_locations": "HPA subcellular locations at cilia or their base (cilium, basal body, centrosome, ...).",
    "localization_score": "Localization layer score: cilia locations weighted by reliability, in [0, 1].",
    # annotation_evidence
    "cilia_gene_groups": "HGNC gene groups of cilia machinery the gene belongs to (IFT, BBSome, dynein arms, ...).",
    "go_term_count": "Number of GO terms annotated to the gene (annotation depth).",
    "context_gene_groups": "HGNC gene groups of the gene that are neither cilia machinery nor disease-named "
                           "(the cilia model's gene-family input).",
    "go_context_terms": "GO terms of the gene outside every cilia root subtree, disease-named terms and ND left out "
                        "(the cilia model's GO-context input).",
    "go_context_term_count": "Number of go_context_terms: study depth without the cilia terms the model's label uses.",
    "go_cilia_term_count": "Number of those GO terms at or below a cilia term (graph-propagated).",
    "go_cilia_evidence": "GO cilia evidence strength from the annotations' evidence codes, in [0, 1].",
    "go_cilium_annotated": "True when any GO annotation is at or below cilium (GO:0005929) or its assembly.",
    "go_sensory_evidence": "GO evidence for sensory perception/stereocilia terms, in [0, 1].",
    "go_depth_rank": f"Rank of go_term_count {RANK_01} (well-studied genes rank high).",
    "cilia_signal": "Cilia annotation signal combining GO cilia evidence and gene groups, in [0, 1].",
    "annotation_score": "Annotation layer score, in [0, 1].",
    "cilia_annotated": "True when GO or a cilia gene group marks the gene as a cilia gene (a model label).",
    # sensory_expression_evidence
    "hair_cell_log2fc": "Inner-ear hair cells over surrounding cells: best log2 fold change over the cell groups.",
    "hair_cell_groups_enriched": "Hair-cell datasets/groups in which the gene is enriched.",
    "hair_cell_groups_measured": "Hair-cell datasets/groups in which the gene was measured.",
    "ciliated_logfc": "Lung ciliated cells: log fold change of the marker over other cells.",
    "sensory_expression_score": "Sensory expression layer score, in [0, 1].",
    # cilia_proximity_evidence
    "proteome_tier": "Cilia proteome (cilia-APEX) confidence tier of the mouse ortholog's protein; NULL = absent.",
    "proteome_spectral_counts": "Cilia proteome spectral counts of the ortholog's protein.",
    "bioid_max_saint": "Highest SAINT probability as prey of a centrosome-cilium BioID bait, in [0, 1].",
    "bioid_bait_count": "Number of cilium-interface BioID baits with the gene as prey.",
    "screen_hit": "True when a siRNA screen (Gupta 2015) scored the gene as a ciliogenesis hit.",
    "tap_ms_partners": "TAP-MS interaction partners among ciliary proteins (Boldt 2016).",
    "cilia_proximity_score": "Cilia proximity layer score, in [0, 1]; edges to validation genes dropped first.",
    # cilia_association_evidence
    "network_partners": "Interactome partners of the gene (validation genes excluded).",
    "network_cilia_partners": "Of those, partners that are GO cilia genes (the seeds).",
    "network_cilia_fraction": "network_cilia_partners / network_partners, in [0, 1].",
    "coexpression_cilia": "Tissue co-expression (correlation, in [-1, 1]) with the GO cilia seed genes.",
    "cilia_association_score": "Cilia association layer score, in [0, 1].",
    # gene_scores, candidates
    "rank": "Position by ranking_score, 1 = best candidate.",
    "ranking_score": "Ranking score, in [0, 1]: out-of-fold cilia model + annotation + Usher sensory evidence.",
    "composite_score": "Weighted composite of the layer scores (scoring.weights), in [0, 1]: the second view.",
    "weighted_rank": "Position by composite_score, 1 = best.",
    "top_evidence": "The parts that contribute most to the ranking score, strongest first.",
    "mouse_orthologs": "Number of MGI mouse orthologs (0 = none): the model's conservation feature.",
    "evidence_count": "Number of evidence layers with a non-NULL score for the gene.",
    "hair_cell_evidence": "Usher sensory evidence part of the ranking score, in [0, 1].",
    "cilia_model_percentile": "Out-of-fold cilia model prediction as a percentile of the universe, in [0, 1].",
    "ubiquity": "How highly the gene is expressed in its lowest tissue (TissueEnrich HPA and GTEx), in [0, 1]; "
                "NULL = not measured (scoring.housekeeping).",
    "housekeeping_factor": "Factor on the cilia-model part of the ranking score: 1 - scoring.housekeeping.penalty x "
                           "ubiquity (1 when ubiquity is NULL).",
    **{f"cilia_model_without_{layer}": f"Cilia model percentile with the {layer.replace('_', ' ')} features left out "
       "(layer sensitivity), in [0, 1]." for layer in ("constraint", "expression", "localization",
                                                       "sensory_expression", "cilia_proximity",
                                                       "cilia_association", "conservation", "go_context",
                                                       "gene_family", "protein_domain")},
    "tier": "Candidate tier from ranking-score cuts (scoring.tiers).",
    "thin_evidence": "True when the gene has at most scoring.tiers.thin_evidence layers: flagged, not demoted.",
    # ranking_validation
    "query_symbol": "The symbol the validation list names (known Usher gene or negative control).",
    "group": "Validation group: known Usher genes (core, ...) or negative controls.",
    "percentile": "Percentile of the gene's rank, 0-100, 100 = top of the ranking.",
}


def describe(*names: str) -> dict[str, str]:
    """The `columns=` mapping for these stored columns; a name without a description is an error here."""
    missing = [n for n in names if n not in COLUMNS]
    if missing:
        raise KeyError(f"column_docs: no description for {missing}; add one to usher_assets/column_docs.py COLUMNS")
    return {n: COLUMNS[n] for n in names}


# The stored columns of each described table, in stored order (test_column_docs compares them with a run).
# With scoring.model.protein_domains on, gene_scores and cilia_model also have cilia_model_without_protein_domain
# (after gene_family).
TABLE_COLUMNS = {
    "annotation_evidence": ("hgnc_id", "gene_symbol", "ensembl_gene_id", "cilia_gene_groups", "go_term_count",
        "go_cilia_term_count", "go_cilia_evidence", "go_cilium_annotated", "go_sensory_evidence", "go_depth_rank",
        "cilia_signal", "annotation_score", "cilia_annotated", "chromosome", "context_gene_groups", "go_context_terms",
        "go_context_term_count"),
    "cilia_association_evidence": ("hgnc_id", "network_partners", "network_cilia_partners",
        "network_cilia_fraction", "coexpression_cilia", "cilia_association_score", "chromosome"),
    "cilia_proximity_evidence": ("hgnc_id", "proteome_tier", "proteome_spectral_counts", "bioid_max_saint",
        "bioid_bait_count", "screen_hit", "tap_ms_partners", "cilia_proximity_score", "chromosome"),
    "constraint_evidence": ("hgnc_id", "gene_symbol", "ensembl_gene_id", "exac_pli", "loftool_percentile",
        "gnomad_pli", "gnomad_loeuf", "exac_pli_rank", "loftool_rank", "gnomad_pli_rank", "gnomad_loeuf_rank",
        "constraint_score", "chromosome"),
    "expression_evidence": ("hgnc_id", "gene_symbol", "ensembl_gene_id", "te_hpa_ciliated_tpm_max",
        "te_hpa_ciliated_log2fc", "te_hpa_expressed", "te_hpa_enrichment_rank", "te_hpa_specificity",
        "te_hpa_min_log2_tpm", "te_gtex_ciliated_tpm_max", "te_gtex_ciliated_log2fc", "te_gtex_expressed",
        "te_gtex_enrichment_rank", "te_gtex_specificity", "te_gtex_min_log2_tpm", "gtex_v8_ciliated_tpm_max",
        "gtex_v8_ciliated_log2fc", "gtex_v8_expressed", "gtex_v8_enrichment_rank", "gtex_v8_min_log2_tpm",
        "hpa_ihc_ciliated_level", "expression_score", "chromosome"),
    "localization_evidence": ("hgnc_id", "gene_symbol", "ensembl_gene_id", "hpa_reliability", "hpa_cilia_locations",
        "localization_score", "chromosome"),
    "sensory_expression_evidence": ("hgnc_id", "hair_cell_log2fc", "hair_cell_groups_enriched",
        "hair_cell_groups_measured", "ciliated_logfc", "sensory_expression_score", "chromosome"),
    "candidates": ("rank", "gene_symbol", "hgnc_id", "ensembl_gene_id", "ranking_score", "tier", "evidence_count",
        "thin_evidence", "top_evidence", "composite_score", "weighted_rank", "cilia_model_percentile",
        "constraint_score", "expression_score", "localization_score", "annotation_score",
        "sensory_expression_score", "cilia_proximity_score", "cilia_association_score"),
    "gene_scores": ("rank", "ranking_score", "composite_score", "weighted_rank", "top_evidence", "hgnc_id",
        "gene_symbol", "ensembl_gene_id", "chromosome", "mouse_orthologs", "exac_pli", "loftool_percentile",
        "gnomad_pli", "gnomad_loeuf", "constraint_score", "te_hpa_ciliated_tpm_max", "te_hpa_ciliated_log2fc",
        "te_hpa_enrichment_rank", "te_hpa_min_log2_tpm", "te_gtex_ciliated_tpm_max", "te_gtex_ciliated_log2fc",
        "te_gtex_enrichment_rank", "te_gtex_min_log2_tpm", "gtex_v8_ciliated_tpm_max", "gtex_v8_ciliated_log2fc",
        "gtex_v8_enrichment_rank", "hpa_ihc_ciliated_level",
        "expression_score", "localization_score", "go_term_count", "go_cilia_evidence", "go_cilium_annotated",
        "go_sensory_evidence", "cilia_signal", "annotation_score", "cilia_annotated", "go_context_term_count",
        "hair_cell_log2fc",
        "hair_cell_groups_enriched",
        "hair_cell_groups_measured", "ciliated_logfc", "sensory_expression_score", "proteome_tier",
        "proteome_spectral_counts", "bioid_max_saint", "bioid_bait_count", "screen_hit", "tap_ms_partners",
        "cilia_proximity_score", "network_partners", "network_cilia_partners", "network_cilia_fraction",
        "coexpression_cilia", "cilia_association_score", "evidence_count", "hair_cell_evidence",
        "cilia_model_percentile", "cilia_model_without_constraint", "cilia_model_without_expression",
        "cilia_model_without_localization", "cilia_model_without_sensory_expression",
        "cilia_model_without_cilia_proximity", "cilia_model_without_cilia_association",
        "cilia_model_without_conservation", "cilia_model_without_go_context", "cilia_model_without_gene_family",
        "ubiquity", "housekeeping_factor", "tier", "thin_evidence"),
    "ranking_validation": ("query_symbol", "hgnc_id", "group", "gene_symbol", "rank", "percentile"),
}
# The model's columns, as gene_scores carries them (cilia_model_without_protein_domain too, when it is on).
TABLE_COLUMNS["cilia_model"] = ("hgnc_id", *(c for c in TABLE_COLUMNS["gene_scores"] if c.startswith("cilia_model_")))


def describe_table(table: str) -> dict[str, str]:
    """The `columns=` mapping of one table of TABLE_COLUMNS."""
    return describe(*TABLE_COLUMNS[table])
