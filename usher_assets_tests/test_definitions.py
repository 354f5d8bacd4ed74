"""The asset graph as users see it: keys, groups, partitions, code versions, policies."""

import dagster as dg
import pytest

from usher_assets.definitions import defs
from usher_assets.schemas import CHROMOSOMES

GROUPS = {
    "sources": {"hgnc", "gene_universe", "exac_pli", "loftool", "gnomad_constraint", "hpa_subcellular",
                "hpa_normal_tissue", "go_annotations", "go_gene_info", "go_terms", "go_parents",
                "tissue_expression", "gtex_median_tpm", "ciliaminer", "ciliated_cell_markers",
                "centrosome_cilium_screen", "mouse_human_orthologs", "hair_cell_expression", "cilia_proteome",
                "centrosome_cilium_interactome", "ciliary_interactome", "pfam_domains"},
    "evidence": {"constraint_evidence", "expression_evidence", "localization_evidence", "annotation_evidence",
                 "sensory_expression_evidence", "cilia_proximity_evidence", "cilia_association_evidence"},
    "scoring": {"cilia_model", "gene_scores", "ranking_validation"},
    "report": {"candidates"},
}


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def test_definitions_assets_and_groups(graph):
    found: dict[str, set[str]] = {}
    for key in graph.get_all_asset_keys():
        found.setdefault(graph.get(key).group_name, set()).add(key.to_user_string())
    assert found == GROUPS


def test_definitions_evidence_is_partitioned_by_chromosome(graph):
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.group_name == "evidence":
            assert node.partitions_def.get_partition_keys() == CHROMOSOMES
        else:
            assert node.partitions_def is None


def test_definitions_every_asset_runs_in_one_backfill_run(graph):
    # `dagster asset materialize --partition-range` needs this on every selected asset.
    for key in graph.get_all_asset_keys():
        assert graph.get(key).backfill_policy == dg.BackfillPolicy.single_run()


def test_definitions_assets_carry_code_version_description_and_table(graph):
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.code_version, key
        assert node.description and node.description.startswith("One row per"), key
        assert node.metadata["schema"] == node.group_name
        assert {"polars", "duckdb"} <= set(node.kinds)


def rules_of(graph, asset: str) -> str:
    """The description of an asset's one table check: the rules it evaluates."""
    [key] = [k for k in graph.asset_check_keys if k.asset_key.to_user_string() == asset]
    assert key.name == "table_integrity"
    return graph.get(key).description


def test_definitions_source_checks_exist(graph):
    assert "No two rows share hgnc_id." in rules_of(graph, "gene_universe")
    assert "No row has a NULL hgnc_id." in rules_of(graph, "hgnc")
    assert "Row count (summed over partitions)" in rules_of(graph, "exac_pli")


@pytest.mark.parametrize("asset", ["constraint_evidence", "expression_evidence", "localization_evidence",
                                   "annotation_evidence", "sensory_expression_evidence", "cilia_proximity_evidence",
                                   "cilia_association_evidence", "gene_scores", "candidates"])
def test_definitions_every_stage_checks_one_row_per_gene(graph, asset):
    rules = rules_of(graph, asset)
    assert "No two rows share hgnc_id." in rules and "No row has a NULL hgnc_id." in rules, rules
    assert "Row count (summed over partitions)" in rules, rules
    assert "_score" in rules.split("Every non-NULL ", 1)[1], rules


def test_definitions_checks_are_executable_on_their_own(graph):
    # A check inside an asset's step can only run with the asset (the UI greys out Execute); these can.
    for key in graph.asset_check_keys:
        node = graph.get(key)
        assert graph.get_execution_set_asset_and_check_keys(key) == {key}, key.to_user_string()
        assert node.key == key


def test_definitions_the_cilia_model_reads_ciliaminer_to_keep_it_out_of_training(graph):
    # The cilia model must know the validation genes to leave them out; gene_scores reads the model, not them.
    upstream = {key.to_user_string() for key in graph.get(dg.AssetKey("cilia_model")).parent_keys}
    assert {"ciliaminer", "gene_universe", "cilia_association_evidence", "annotation_evidence"} <= upstream
    scores = {key.to_user_string() for key in graph.get(dg.AssetKey("gene_scores")).parent_keys}
    assert "cilia_model" in scores and "ciliaminer" not in scores
    association = {key.to_user_string() for key in graph.get(dg.AssetKey("cilia_association_evidence")).parent_keys}
    assert {"ciliaminer", "go_annotations", "centrosome_cilium_interactome", "ciliary_interactome",
            "tissue_expression"} <= association
