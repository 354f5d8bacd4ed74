"""The GO terms that describe cilia: named roots plus their is_a / part_of descendants."""

import polars as pl

CILIUM_ROOT = "GO:0005929"  # cilium (CC); its subtree defines go_cilium_annotated

# Roots of the terms the annotation layer scores. Stereocilia are actin-based, not
# true cilia, but they are where the Usher proteins act in hair cells.
CILIA_ROOT_TERMS = {
    CILIUM_ROOT: "cilium",
    "GO:0060271": "cilium assembly",
    "GO:0044782": "cilium organization",
    "GO:0032420": "stereocilium",
    "GO:0032421": "stereocilium bundle",
    "GO:0032391": "photoreceptor connecting cilium",
}

# Hearing and vision, the two senses Usher syndrome takes: BP and CC roots whose subtrees say a
# gene works in the ear or the eye. Smell and taste are left out (hundreds of receptors, no
# Usher phenotype), and so are the cilium-subtree terms (the outer segment), which the cilia
# signal already covers.
SENSORY_ROOT_TERMS = {
    "GO:0007605": "sensory perception of sound",
    "GO:0050954": "sensory perception of mechanical stimulus",
    "GO:0050953": "sensory perception of light stimulus",
    "GO:0001895": "retina homeostasis",
    "GO:0045494": "photoreceptor cell maintenance",
    "GO:0001917": "photoreceptor inner segment",
    "GO:0042462": "eye photoreceptor cell development",
    "GO:0060113": "inner ear receptor cell differentiation",
}

# GO.db spells the two structural relations "isa" and "part of"; OBO exports say
# "is_a" and "part_of". Regulation edges are left out: regulating cilia is not being one.
STRUCTURAL_RELATIONS = {"isa", "is_a", "part of", "part_of"}

# Terms named after a disease or a disease complex (USH2 complex, BBSome for
# Bardet-Biedl, MKS for Meckel, NPHP for nephronophthisis) restate known disease
# genes, which would leak the validation labels into the score.
DISEASE_TERM_PATTERN = (
    r"(?i)\bUSH\d|usher|BBSome|Bardet|\bMKS\b|Meckel|\bNPHP\b|nephronophthisis|Joubert"
    r"|syndrome|disease|ciliopathy"
)


def descendant_terms(go_parents: pl.DataFrame, roots: list[str]) -> set[str]:
    """The roots and every term below them through structural edges."""
    edges = go_parents.filter(pl.col("relationship_type").is_in(STRUCTURAL_RELATIONS))
    children: dict[str, list[str]] = {}
    for child, parent in edges.select("child_go_id", "parent_go_id").iter_rows():
        children.setdefault(parent, []).append(child)
    found = set(roots)
    frontier = list(roots)
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def disease_named_terms(go_terms: pl.DataFrame) -> set[str]:
    """GO ids whose name points at a disease; excluded from scoring."""
    return set(go_terms.filter(pl.col("term").str.contains(DISEASE_TERM_PATTERN))["go_id"])


def cilia_scoring_terms(go_terms: pl.DataFrame, go_parents: pl.DataFrame) -> set[str]:
    """Cilia terms the annotation layer scores: all root subtrees minus disease-named terms."""
    missing = [t for t in CILIA_ROOT_TERMS if t not in set(go_terms["go_id"])]
    if missing:
        raise ValueError(f"go_terms: expected the cilia root terms {missing}, but they are "
                         "absent; pass the full GO term table (go_terms.tsv.gz)")
    return descendant_terms(go_parents, list(CILIA_ROOT_TERMS)) - disease_named_terms(go_terms)


def sensory_function_terms(go_terms: pl.DataFrame, go_parents: pl.DataFrame) -> set[str]:
    """Hearing and vision terms: the sensory root subtrees minus disease-named and cilia terms."""
    cilia = descendant_terms(go_parents, list(CILIA_ROOT_TERMS))
    return descendant_terms(go_parents, list(SENSORY_ROOT_TERMS)) - cilia - disease_named_terms(go_terms)
