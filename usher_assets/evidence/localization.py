"""Localization layer: HPA subcellular locations at the cilium or its base, weighted by reliability."""

import polars as pl

from usher_assets.evidence.layer_tools import attach_to_universe, map_source_to_universe
from usher_assets.schemas import ENSEMBL_GENE_ID, GENE_SYMBOL, HGNC_ID

LOCALIZATION_SCORE = "localization_score"

# How directly an HPA compartment points at the cilium. HPA v21+ has ciliary
# compartments; v19 (bundled) has none, so the centrosome and centriolar satellites
# (the mother centriole becomes the basal body) and microtubules (the axoneme is built
# of them) are the nearest proxies. Names are compared lower-cased.
CILIA_COMPARTMENT_WEIGHTS = {
    "primary cilium": 1.0,
    "primary cilium tip": 1.0,
    "primary cilium transition zone": 1.0,
    "cilia": 1.0,
    "cilium": 1.0,
    "basal body": 1.0,
    "transition zone": 1.0,
    "flagellar centriole": 1.0,
    "mid piece": 1.0,  # sperm flagellum segments (HPA v21+)
    "principal piece": 1.0,
    "end piece": 1.0,
    "centrosome": 0.7,
    "centriolar satellite": 0.7,
    "microtubule organizing center": 0.7,
    "microtubules": 0.4,
    "microtubule ends": 0.4,
}
# Any future compartment whose name mentions a cilium or flagellum counts fully.
CILIA_NAME_PATTERN = r"cili|flagell|axonem"

# A main location is where most of the protein sits; an additional one is weaker evidence.
MAIN_LOCATION_WEIGHT = 1.0
ADDITIONAL_LOCATION_WEIGHT = 0.5

# HPA's confidence in the staining (Enhanced = independent antibodies or genetic validation).
RELIABILITY_WEIGHTS = {"enhanced": 1.0, "supported": 0.8, "approved": 0.6, "uncertain": 0.3}


def _compartment_weight(location: pl.Expr) -> pl.Expr:
    name = location.str.strip_chars().str.to_lowercase()
    known = name.replace_strict(CILIA_COMPARTMENT_WEIGHTS, default=None, return_dtype=pl.Float64)
    by_name = pl.when(name.str.contains(CILIA_NAME_PATTERN)).then(1.0).otherwise(0.0)
    return pl.coalesce(known, by_name)


def _location_rows(hpa: pl.DataFrame, column: str, position_weight: float) -> pl.DataFrame:
    return (
        hpa.select("record", pl.col(column).alias("location"))
        .explode("location")
        .filter(pl.col("location").is_not_null() & (pl.col("location").str.strip_chars() != ""))
        .with_columns(
            (_compartment_weight(pl.col("location")) * position_weight).alias("location_weight")
        )
    )


def localization_layer(
    universe: pl.DataFrame,
    hpa_subcellular: pl.DataFrame,
    *,
    mapping_log: dict[str, dict] | None = None,
) -> pl.DataFrame:
    """One row per universe gene: HPA reliability, cilia-related locations and the layer score.

    ``localization_score`` = best (compartment weight x main/additional weight) x
    reliability weight: 0 for a gene HPA studied and saw elsewhere, null for a gene
    HPA did not study.
    """
    hpa = map_source_to_universe(
        hpa_subcellular, universe, source="hpa_subcellular", mapping_log=mapping_log,
        ensembl_column=ENSEMBL_GENE_ID, symbol_column=GENE_SYMBOL,
    ).with_row_index("record")
    unknown = {r for r in hpa["reliability"].drop_nulls().unique() if r.lower() not in RELIABILITY_WEIGHTS}
    if unknown:
        raise ValueError(f"hpa_subcellular: expected reliability in {sorted(RELIABILITY_WEIGHTS)}, "
                         f"found {sorted(unknown)}; extend RELIABILITY_WEIGHTS for this HPA release")
    locations = pl.concat([
        _location_rows(hpa, "main_locations", MAIN_LOCATION_WEIGHT),
        _location_rows(hpa, "additional_locations", ADDITIONAL_LOCATION_WEIGHT),
    ])
    cilia_locations = (
        locations.filter(pl.col("location_weight") > 0)
        .group_by("record")
        .agg(
            pl.col("location").unique().sort().alias("hpa_cilia_locations"),
            pl.col("location_weight").max().alias("best_location_weight"),
        )
    )
    reliability_weight = (
        pl.col("reliability").str.to_lowercase()
        .replace_strict(RELIABILITY_WEIGHTS, default=None, return_dtype=pl.Float64)
    )
    # A gene studied twice (two Ensembl ids of one HGNC gene) keeps its highest-scoring record.
    per_record = (
        hpa.select("record", HGNC_ID, "reliability")
        .with_columns(reliability_weight.alias("reliability_weight"))
        .join(cilia_locations, on="record", how="left")
        .with_columns(
            pl.col("hpa_cilia_locations").fill_null(pl.lit([], pl.List(pl.String))),
            (pl.col("best_location_weight").fill_null(0.0)
             * pl.col("reliability_weight").fill_null(RELIABILITY_WEIGHTS["uncertain"]))
            .alias(LOCALIZATION_SCORE),
        )
    )
    per_gene = (
        per_record.sort([HGNC_ID, LOCALIZATION_SCORE, "reliability_weight"],
                        descending=[False, True, True], nulls_last=True)
        .group_by(HGNC_ID, maintain_order=True)
        .first()
        .select(
            HGNC_ID,
            pl.col("reliability").alias("hpa_reliability"),
            "hpa_cilia_locations",
            LOCALIZATION_SCORE,
        )
    )
    return attach_to_universe(universe, per_gene)
