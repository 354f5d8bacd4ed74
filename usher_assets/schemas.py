"""Column names shared across stages, so a rename happens once.

Gene-level tables join on ``hgnc_id`` (``HGNC:1234``) and carry ``ensembl_gene_id``
without a version suffix. Lists are polars ``List(String)`` columns.
"""

HGNC_ID = "hgnc_id"
GENE_SYMBOL = "gene_symbol"
ENSEMBL_GENE_ID = "ensembl_gene_id"
ENTREZ_ID = "entrez_id"
CHROMOSOME = "chromosome"
ALIAS_SYMBOLS = "alias_symbols"
PREV_SYMBOLS = "prev_symbols"
GENE_GROUPS = "gene_groups"
MGD_IDS = "mgd_ids"

# The partition column of chromosome-partitioned tables.
PARTITION_COLUMN = "partition_key"

CHROMOSOMES = [str(c) for c in range(1, 23)] + ["X", "Y", "MT"]

# gene_universe: one row per HGNC approved protein-coding gene.
GENE_UNIVERSE_COLUMNS = [
    HGNC_ID,  # str, unique, "HGNC:8881"
    GENE_SYMBOL,  # str, unique, approved symbol
    ENSEMBL_GENE_ID,  # str | null, no version suffix
    ENTREZ_ID,  # Int64 | null
    CHROMOSOME,  # str | null, one of CHROMOSOMES
    ALIAS_SYMBOLS,  # list[str]
    PREV_SYMBOLS,  # list[str]
    GENE_GROUPS,  # list[str], HGNC gene group names
    MGD_IDS,  # list[str], "MGI:104510"
]

# Evidence layers: one row per gene of the universe, a score in [0, 1] or null.
LAYER_SCORE_SUFFIX = "_score"
COMPOSITE_SCORE = "composite_score"
EVIDENCE_COUNT = "evidence_count"
TIER = "tier"
RANK = "rank"
