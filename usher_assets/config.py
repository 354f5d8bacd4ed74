"""PipelineConfig: storage, sources and scoring settings, read from YAML and validated up front."""

import os
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from usher_assets.config_errors import describe_validation_error, describe_yaml_error
from usher_assets.storage.fingerprint import canonical_hash

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent / "default_config.yaml"
CONFIG_ENV_VAR = "USHER_CONFIG"

SOURCE_KEYS = (
    "hgnc", "exac_pli", "loftool", "hpa_subcellular", "go_annotations", "go_gene_info",
    "go_terms", "go_parents", "tissue_expression", "ciliaminer", "gnomad_constraint",
    "gtex_median_tpm", "hpa_normal_tissue", "hair_cell_expression", "hair_cell_design",
    "ciliated_cell_markers", "cilia_proteome", "centrosome_cilium_interactome",
    "centrosome_cilium_screen", "ciliary_interactome", "pfam_domains",
)


class ConfigError(ValueError):
    """The configuration file is invalid; the message names the file and the field."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceConfig(_Frozen):
    """Where one source file comes from: a local path or a URL, and which release it is."""

    path: Path | None = Field(None, description="File path, relative to the project root or absolute.")
    url: str | None = Field(None, description="Download address, used when no path is given.")
    release: str = Field(description="Publisher's release label, recorded in provenance.")
    sha256: str | None = Field(None, description="Expected SHA-256 of the file, hex.")

    @model_validator(mode="after")
    def _path_or_url(self):
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of 'path' or 'url'")
        return self

    @field_validator("sha256")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 64 or any(c not in "0123456789abcdef" for c in value.lower())):
            raise ValueError("sha256 must be 64 hexadecimal characters")
        return value.lower() if value else value

    def resolved_path(self, root: Path) -> Path | None:
        if self.path is None:
            return None
        return self.path if self.path.is_absolute() else root / self.path


class StorageConfig(_Frozen):
    database: Path = Field(Path(".usher/usher.duckdb"), description="DuckDB file, relative to the project root or absolute.")
    output_dir: Path = Field(Path("outputs"), description="Where exports (Parquet, TSV, HTML) are written.")
    download_dir: Path = Field(Path(".usher/downloads"), description="Cache for downloaded source files.")
    lock_timeout_seconds: float = Field(120.0, ge=0, description="How long to retry a database locked by another process, seconds.")
    backend: Literal["duckdb", "delta"] = Field(
        "duckdb", description="duckdb: every table in `database`, one writer at a time. delta: one Delta Lake table "
                              "per asset under `delta_root`, many writers at once (docs/scaling.md).")
    delta_root: str = Field(".usher/delta", description="Backend delta: directory of the Delta tables, relative to the "
                                                        "project root or absolute; or an s3:// / gs:// URI.")
    delta_retention_hours: float = Field(
        168.0, ge=0, description="Backend delta: `usher-assets storage vacuum` keeps the files of versions this young.")
    delta_storage_options: dict[str, str] = Field(
        default_factory=dict, description="Backend delta: delta-rs storage options (credentials, conditional writes).")
    delta_index: str | None = Field(
        None, description="Backend delta: a postgresql:// URL (password from PGPASSWORD) where each table's folded log "
                          "is kept, so hosts sharing an object-store root start from it; by default files under "
                          "delta_root/_index for a local root, none for an object store.")


class TierConfig(_Frozen):
    """Tiers cut the ranking score, so they follow the rank; thin evidence is a flag, not a demotion."""

    high: float = Field(0.70, ge=0, le=1, description="Minimum ranking score for HIGH.")
    medium: float = Field(0.50, ge=0, le=1, description="Minimum ranking score for MEDIUM.")
    thin_evidence: int = Field(2, ge=0, description="Genes with at most this many evidence layers are flagged thin.")

    @model_validator(mode="after")
    def _ordered(self):
        if self.medium > self.high:
            raise ValueError(f"tiers.medium ({self.medium}) must not exceed tiers.high ({self.high})")
        return self


class ModelConfig(_Frozen):
    """The out-of-fold cilia model: trained on GO cilia genes, never on the validation labels."""

    kind: Literal["gradient_boosting", "logistic"] = Field(
        "gradient_boosting", description="HistGradientBoostingClassifier (takes NaN) or logistic regression "
                                         "with missingness indicators.")
    folds: int = Field(5, ge=2, description="Cross-validation folds; a gene is scored by the model that left it out.")
    seed: int = Field(0, description="Seed for the fold split and the model.")
    max_iter: int = Field(100, ge=1, description="Boosting rounds (gradient_boosting).")
    learning_rate: float = Field(0.05, gt=0, description="Boosting learning rate (gradient_boosting).")
    max_leaf_nodes: int = Field(15, ge=2, description="Leaves per tree (gradient_boosting).")
    association_prior: float = Field(5.0, gt=0, description="Pseudo-count (genes) that shrinks a GO term's or gene "
                                     "group's cilia rate toward the base rate, for the set features.")
    protein_domains: bool = Field(False, description="Add the Pfam domain cilia rate (max, mean over the gene's "
                                  "domains, counted in the folds) to the model; needs sources.pfam_domains. Off: "
                                  "within noise on the GO criterion (docs/cilia_model.md).")


class CombinationConfig(_Frozen):
    """Weights of the ranking score; each part is evidence a gene earns (missing counts as none)."""

    cilia_model: float = Field(0.65, ge=0, description="Out-of-fold cilia-model percentile.")
    cilia_annotation: float = Field(0.25, ge=0, description="Annotation layer's cilia signal (GO terms, gene groups).")
    usher_sensory: float = Field(0.10, ge=0, description="Hair-cell enrichment and GO hearing/vision function.")

    @model_validator(mode="after")
    def _sums_to_one(self):
        total = self.cilia_model + self.cilia_annotation + self.usher_sensory
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"combination weights must sum to 1, they sum to {total:.6g}")
        return self


class HousekeepingConfig(_Frozen):
    """A discount on the cilia-model part for genes expressed highly in every tissue (ACTB, GAPDH, ribosomal proteins).

    Ubiquity = (mean over the TissueEnrich atlases of log2(TPM + 1) in the gene's lowest tissue - floor) /
    (full - floor), clipped to [0, 1]; NULL (no discount) for a gene no atlas measured. The model part is
    multiplied by 1 - penalty x ubiquity. See docs/cilia_model.md for what it costs on the GO criterion.
    """

    penalty: float = Field(1.0, ge=0, le=1, description="Share of the model part a fully ubiquitous gene loses "
                           "(0 turns the discount off).")
    floor_log2_tpm: float = Field(5.0, description="log2(TPM + 1) in the lowest tissue at which ubiquity starts "
                                  "(5 = 31 TPM).")
    full_log2_tpm: float = Field(8.0, description="log2(TPM + 1) in the lowest tissue at which ubiquity is 1 "
                                 "(8 = 255 TPM).")

    @model_validator(mode="after")
    def _ordered(self):
        if self.full_log2_tpm <= self.floor_log2_tpm:
            raise ValueError(f"housekeeping.full_log2_tpm ({self.full_log2_tpm}) must exceed "
                             f"housekeeping.floor_log2_tpm ({self.floor_log2_tpm})")
        return self


class ScoringConfig(_Frozen):
    weights: dict[str, float] = Field(description="Layer name -> weight; non-negative, summing to 1.")
    tiers: TierConfig = TierConfig()
    model: ModelConfig = ModelConfig()
    combination: CombinationConfig = CombinationConfig()
    housekeeping: HousekeepingConfig = HousekeepingConfig()
    bootstrap_samples: int = Field(1000, ge=10, description="Bootstrap resamples for the discovery intervals.")

    @field_validator("weights")
    @classmethod
    def _weights(cls, weights: dict[str, float]) -> dict[str, float]:
        # A misspelt layer would otherwise be dropped when scoring and the rest silently re-normalised.
        unknown = sorted(set(weights) - set(get_args(ScoringLayer)))
        if unknown:
            raise ValueError(f"unknown layers {unknown}; expected some of {list(get_args(ScoringLayer))}")
        negative = {k: v for k, v in weights.items() if v < 0}
        if negative:
            raise ValueError(f"weights must be non-negative, got {negative}")
        total = sum(weights.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"weights must sum to 1, they sum to {total:.6g}: {weights}")
        return weights


class PipelineConfig(_Frozen):
    storage: StorageConfig = StorageConfig()
    sources: dict[str, SourceConfig | None] = Field(description="Source key -> file; null means not configured.")
    scoring: ScoringConfig
    root: Path = Field(PROJECT_ROOT, description="Project root that relative paths are resolved against.")

    @field_validator("sources")
    @classmethod
    def _known_sources(cls, sources: dict) -> dict:
        unknown = sorted(set(sources) - set(SOURCE_KEYS))
        if unknown:
            raise ValueError(f"unknown source keys {unknown}; expected some of {list(SOURCE_KEYS)}")
        return {key: sources.get(key) for key in SOURCE_KEYS}

    @classmethod
    def load(cls, path: Path | str | None = None) -> "PipelineConfig":
        """Read `path`, else the file named by USHER_CONFIG, else the bundled default."""
        chosen = Path(path) if path else Path(os.environ[CONFIG_ENV_VAR]) if os.environ.get(CONFIG_ENV_VAR) else DEFAULT_CONFIG_PATH
        try:
            text = chosen.read_text()
        except OSError as exc:
            raise ConfigError(f"{chosen}: cannot read the configuration file: {exc.strerror}") from None
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{chosen}, {describe_yaml_error(exc)}") from None
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            # One line per problem, each with its YAML line; `from None`: pydantic's own report repeats it.
            problems = describe_validation_error(exc, text, cls)
            count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
            raise ConfigError(f"{chosen}: invalid configuration, {count}:\n  " + "\n  ".join(problems)) from None

    def path(self, relative: Path) -> Path:
        return relative if relative.is_absolute() else self.root / relative

    @property
    def database_path(self) -> Path:
        return self.path(self.storage.database)

    @property
    def output_dir(self) -> Path:
        return self.path(self.storage.output_dir)

    def section_hash(self, section: str) -> str:
        """SHA-256 of one section's canonical JSON, for fingerprints; `scoring.model` names a subsection."""
        value, names = self.model_dump(mode="json"), section.split(".")
        for i, name in enumerate(names):
            if not isinstance(value, dict) or name not in value:
                raise ValueError(f"config section {section!r}: {'.'.join(names[:i + 1])!r} "
                                 "is not a section of the pipeline config")
            value = value[name]
        return canonical_hash(value)

    @property
    def store_location(self) -> str:
        """Where the tables are: the DuckDB file, or the Delta tables' root directory or URI."""
        if self.storage.backend == "duckdb":
            return str(self.database_path)
        root = self.storage.delta_root
        return root if "://" in root else str(self.path(Path(root)))

    def store_exists(self) -> bool:
        """Whether anything was stored yet (looking must not create an empty store)."""
        if self.storage.backend == "duckdb":
            return self.database_path.is_file()
        return "://" in self.storage.delta_root or any(Path(self.store_location).glob("*/*/_delta_log"))

    def open_store(self):
        """The PipelineStore of this config: its DuckDB file, or its directory of Delta tables."""
        from usher_assets.storage.store import open_store

        return open_store(self.store_location, self.storage.backend, lock_timeout=self.storage.lock_timeout_seconds,
                          storage_options=self.storage.delta_storage_options, delta_index=self.storage.delta_index)

    def io_manager_config(self) -> dict:
        """DuckDBIOManager arguments for this config's store."""
        return {"database": self.store_location, "backend": self.storage.backend,
                "lock_timeout": self.storage.lock_timeout_seconds, "storage_options": self.storage.delta_storage_options,
                "delta_index": self.storage.delta_index}

    def config_hash(self) -> str:
        """SHA-256 of the canonical JSON of the whole config, root excluded (it is where, not what)."""
        return canonical_hash(self.model_dump(mode="json", exclude={"root"}))

    def source_releases(self) -> dict[str, str | None]:
        return {key: (src.release if src else None) for key, src in self.sources.items()}


ScoringLayer = Literal["constraint", "expression", "localization", "annotation", "sensory_expression", "cilia_proximity",
                       "cilia_association"]
