"""PipelineConfig: where it is read from, a hash that ignores formatting, and errors that name file and field."""

import json
import os
from pathlib import Path

import pytest
import yaml

from usher_assets.config import (
    CONFIG_ENV_VAR, DEFAULT_CONFIG_PATH, PROJECT_ROOT, SOURCE_KEYS, ConfigError, PipelineConfig,
)
from usher_assets.resources import PipelineResource


def _default_raw() -> dict:
    return yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())


def _write(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _reversed(value):
    """Every mapping with its keys in reverse order (YAML keeps the order we give it)."""
    if isinstance(value, dict):
        return {k: _reversed(value[k]) for k in reversed(list(value))}
    return value


def test_load_reads_given_path(config_writer, tmp_path):
    config = PipelineConfig.load(config_writer())
    assert config.database_path == tmp_path / "usher.duckdb"
    assert config.storage.lock_timeout_seconds == 30
    assert config.sources["hgnc"].release == "2024-10-18"


def test_load_reads_usher_config_env(config_writer, tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_ENV_VAR, str(config_writer()))
    assert PipelineConfig.load().database_path == tmp_path / "usher.duckdb"
    # An explicit path still wins over the environment.
    assert PipelineConfig.load(DEFAULT_CONFIG_PATH).database_path == PROJECT_ROOT / ".usher" / "usher.duckdb"


def test_load_falls_back_to_bundled_default(monkeypatch):
    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)
    config = PipelineConfig.load()
    assert config == PipelineConfig.load(DEFAULT_CONFIG_PATH)
    assert config.database_path == PROJECT_ROOT / ".usher" / "usher.duckdb"
    assert set(config.sources) == set(SOURCE_KEYS)
    assert config.sources["gnomad_constraint"] is None
    assert config.sources["hgnc"].resolved_path(config.root) == PROJECT_ROOT / "data" / "hgnc_complete_set.txt.gz"
    assert sum(config.scoring.weights.values()) == pytest.approx(1.0)


def _omit_defaults(raw: dict) -> dict:
    # storage and tiers in the bundled file spell out the defaults; null sources equal absent ones.
    raw = {k: v for k, v in raw.items() if k != "storage"}
    raw["scoring"] = {"weights": raw["scoring"]["weights"]}
    raw["sources"] = {k: v for k, v in raw["sources"].items() if v is not None}
    return raw


SAME_CONFIG = {
    "key-order": lambda raw: yaml.safe_dump(_reversed(raw), sort_keys=False),
    "flow-style-and-indent": lambda raw: yaml.safe_dump(raw, default_flow_style=True, width=4000),
    "json-with-whitespace": lambda raw: json.dumps(raw, indent=7),
    "defaults-omitted": lambda raw: yaml.safe_dump(_omit_defaults(raw)),
    "floats-spelled-differently": lambda raw: yaml.safe_dump(raw).replace("0.1\n", "1.0e-1\n"),
    "comments": lambda raw: "# a comment\n" + yaml.safe_dump(raw).replace("\n", "  # note\n", 3),
}


@pytest.mark.parametrize("variant", list(SAME_CONFIG))
def test_config_hash_ignores_formatting(tmp_path, variant):
    text = SAME_CONFIG[variant](_default_raw())
    path = tmp_path / "variant.yaml"
    path.write_text(text)
    reference = PipelineConfig.load(DEFAULT_CONFIG_PATH)
    assert path.read_text() != DEFAULT_CONFIG_PATH.read_text()
    assert PipelineConfig.load(path).config_hash() == reference.config_hash()


def _swap_weights(raw):
    raw["scoring"]["weights"] |= {"constraint": 0.05, "expression": 0.15}


def _raise_high_tier(raw):
    raw["scoring"]["tiers"]["high"] = 0.75


def _new_release(raw):
    raw["sources"]["hgnc"]["release"] = "2025-01-01"


def _move_source(raw):
    raw["sources"]["loftool"]["path"] = "elsewhere/LoFtool_scores.txt"


@pytest.mark.parametrize("change", [_swap_weights, _raise_high_tier, _new_release, _move_source])
def test_config_hash_changes_with_content(tmp_path, change):
    raw = _default_raw()
    change(raw)
    changed = PipelineConfig.load(_write(tmp_path / "changed.yaml", raw))
    assert changed.config_hash() != PipelineConfig.load(DEFAULT_CONFIG_PATH).config_hash()


@pytest.mark.parametrize(("field", "value"), [
    ("model.seed", 1), ("model.kind", "logistic"), ("model.association_prior", 20.0), ("combination.cilia_model", 0.45),
    ("tiers.thin_evidence", 3), ("bootstrap_samples", 500)])
def test_model_and_combination_settings_are_in_the_scoring_fingerprint(tmp_path, field, value):
    raw = _default_raw()
    *parents, last = field.split(".")
    node = raw["scoring"]
    for key in parents:
        node = node[key]
    node[last] = value
    if field == "combination.cilia_model":
        node["usher_sensory"] = 0.30  # keep the sum at 1
    changed = PipelineConfig.load(_write(tmp_path / "changed.yaml", raw))
    reference = PipelineConfig.load(DEFAULT_CONFIG_PATH)
    assert changed.section_hash("scoring") != reference.section_hash("scoring")
    assert changed.section_hash("sources") == reference.section_hash("sources")


def test_section_hash_changes_only_with_its_section(tmp_path):
    reference = PipelineConfig.load(DEFAULT_CONFIG_PATH)
    raw = _default_raw()
    raw["storage"]["database"] = str(tmp_path / "elsewhere.duckdb")
    moved = PipelineConfig.load(_write(tmp_path / "moved.yaml", raw))
    assert moved.section_hash("scoring") == reference.section_hash("scoring")
    _swap_weights(raw)
    reweighted = PipelineConfig.load(_write(tmp_path / "reweighted.yaml", raw))
    assert reweighted.section_hash("scoring") != reference.section_hash("scoring")
    assert reweighted.section_hash("sources") == reference.section_hash("sources")
    # The cilia model reads scoring.model only: reweighting the layers leaves it, a model setting does not.
    assert reweighted.section_hash("scoring.model") == reference.section_hash("scoring.model")
    raw["scoring"]["model"]["max_iter"] += 1
    retrained = PipelineConfig.load(_write(tmp_path / "retrained.yaml", raw))
    assert retrained.section_hash("scoring.model") != reference.section_hash("scoring.model")


def test_section_hash_of_an_unknown_section_names_it():
    with pytest.raises(ValueError, match="config section 'scoring.modle': 'scoring.modle' is not a section"):
        PipelineConfig.load(DEFAULT_CONFIG_PATH).section_hash("scoring.modle")


@pytest.mark.parametrize("source", [DEFAULT_CONFIG_PATH, None], ids=["bundled", "tmp"])
def test_model_dump_as_yaml_loads_equal(source, pipeline_config, tmp_path):
    config = PipelineConfig.load(source) if source else pipeline_config
    path = tmp_path / "dumped.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    reloaded = PipelineConfig.load(path)
    assert reloaded == config
    assert reloaded.config_hash() == config.config_hash()


def _set(path: str, value):
    def change(raw):
        *parents, last = path.split(".")
        node = raw
        for key in parents:
            node = node[key]
        node[last] = value
    return change


INVALID = {
    "weights-not-summing-to-1": (_set("scoring.weights.constraint", 0.5), "scoring.weights", "sum to 1"),
    "negative-weight": (lambda raw: raw["scoring"]["weights"].update(constraint=-0.1, annotation=0.4),
                        "scoring.weights", "non-negative"),
    "unknown-layer-weight": (lambda raw: raw["scoring"]["weights"].update(sensory_expresion=0.25,
                                                                          sensory_expression=0.0),
                             "scoring.weights", "sensory_expresion"),
    "unknown-source-key": (_set("sources.hgnc_v2", {"path": "x.txt", "release": "1"}), "sources", "hgnc_v2"),
    "path-and-url": (_set("sources.hgnc.url", "https://example.org/hgnc.txt"), "sources.hgnc", "exactly one"),
    "neither-path-nor-url": (_set("sources.hgnc", {"release": "1"}), "sources.hgnc", "exactly one"),
    "bad-sha256": (_set("sources.hgnc.sha256", "not-a-digest"), "sources.hgnc.sha256", "64 hexadecimal"),
    "missing-release": (lambda raw: raw["sources"]["hgnc"].pop("release"), "sources.hgnc.release", "required"),
    "tiers-out-of-order": (_set("scoring.tiers.medium", 0.9), "scoring.tiers", "must not exceed"),
    "negative-lock-timeout": (_set("storage.lock_timeout_seconds", -1), "storage.lock_timeout_seconds", "0"),
    "unknown-top-level-key": (_set("scoring_v2", {}), "scoring_v2", "not permitted"),
    "weights-not-numbers": (_set("scoring.weights.constraint", "high"), "scoring.weights.constraint", "number"),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_config_names_file_and_field(tmp_path, case):
    change, field, reason = INVALID[case]
    raw = _default_raw()
    change(raw)
    path = _write(tmp_path / "broken.yaml", raw)
    with pytest.raises(ConfigError) as caught:
        PipelineConfig.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: invalid configuration")
    assert f"{field}:" in message or f"{field}." in message
    assert reason in message


@pytest.mark.parametrize("text,reason", [(None, "cannot read"), ("scoring: [unclosed", "not valid YAML")],
                         ids=["missing-file", "bad-yaml"])
def test_unreadable_config_names_file(tmp_path, text, reason):
    path = tmp_path / "usher.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=reason) as caught:
        PipelineConfig.load(path)
    assert str(caught.value).startswith(str(path))


def test_pipeline_resource_reads_its_file_again_after_an_edit(config_writer):
    path = config_writer()
    resource = PipelineResource(config_path=str(path))
    assert resource.config.scoring.tiers.thin_evidence == 2
    raw = yaml.safe_load(path.read_text())
    raw["scoring"]["tiers"]["thin_evidence"] = 3
    _write(path, raw)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # filesystems with coarse mtimes
    assert resource.config.scoring.tiers.thin_evidence == 3
