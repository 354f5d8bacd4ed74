"""Errors an operator reads: a bad config names file, YAML line, field and expectation, on one screen; a bad
source file fails its step with a Failure whose first line names file, line and column."""

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from usher_assets.assets.sources import gene_universe, hgnc, source_assets
from usher_assets.config import DEFAULT_CONFIG_PATH, PROJECT_ROOT, ConfigError, PipelineConfig
from usher_assets.config_errors import yaml_key_lines
from usher_assets.resources import PipelineResource
from usher_assets.storage.io_manager import DuckDBIOManager

DAGSTER = Path(sys.executable).parent / "dagster"
DEFAULT_TEXT = DEFAULT_CONFIG_PATH.read_text()


def line_number(text: str, fragment: str) -> int:
    return text[:text.index(fragment)].count("\n") + 1


# name -> (text replaced, its replacement, field named, fragments the problem line holds)
BROKEN = {
    "not-a-number": ("lock_timeout_seconds: 120", "lock_timeout_seconds: soon", "storage.lock_timeout_seconds",
                     ["valid number", "found 'soon'", "expected: how long to retry"]),
    "negative": ("lock_timeout_seconds: 120", "lock_timeout_seconds: -1", "storage.lock_timeout_seconds",
                 ["greater than or equal to 0", "found -1"]),
    "weights-sum": ("constraint: 0.", "constraint: 0.9", "scoring.weights", ["must sum to 1"]),
    "unknown-key": ("storage:\n", "storage:\n  databse: x.duckdb\n", "storage.databse",
                    ["Extra inputs are not permitted"]),
    "bad-sha256": ("sha256: aea1", "sha256: zz", "sources.hgnc.sha256", ["64 hexadecimal", "found 'zz"]),
}


def broken_text(name: str) -> tuple[str, int]:
    """The default config with one break, and the line the break sits on."""
    old, new, _, _ = BROKEN[name]
    assert old in DEFAULT_TEXT, f"the default config no longer has {old!r}"
    text = DEFAULT_TEXT.replace(old, new, 1)
    return text, line_number(text, new.strip().splitlines()[-1])


@pytest.mark.parametrize("name", list(BROKEN))
def test_invalid_config_problem_names_yaml_line_field_and_expectation(tmp_path, name):
    text, line = broken_text(name)
    _, _, field, fragments = BROKEN[name]
    path = tmp_path / "usher.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        PipelineConfig.load(path)
    header, *problems = str(raised.value).splitlines()
    assert header == f"{path}: invalid configuration, 1 problem:"
    problem = problems[0].strip()
    # A problem about a whole mapping (weights) points at the mapping's key, not the value that broke it.
    expected_line = line if name != "weights-sum" else line_number(text, "  weights:")
    assert problem.startswith(f"line {expected_line}, {field}: "), problem
    for fragment in fragments:
        assert fragment in problem, problem


def test_yaml_key_lines_maps_nested_keys_and_list_items():
    lines = yaml_key_lines("a:\n  b: 1\n  c:\n    - x\n    - y\n")
    assert lines[("a",)] == 1 and lines[("a", "b")] == 2 and lines[("a", "c", 1)] == 5


def test_yaml_syntax_error_names_its_line(tmp_path):
    path = tmp_path / "usher.yaml"
    path.write_text("storage:\n  database: x\nscoring: [unclosed\n")
    with pytest.raises(ConfigError) as raised:
        PipelineConfig.load(path)
    assert str(raised.value).startswith(f"{path}, line 4: not valid YAML: ")


def test_bad_config_through_the_dagster_cli_prints_one_short_message(tmp_path):
    text, line = broken_text("not-a-number")
    path = tmp_path / "usher.yaml"
    path.write_text(text)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "dagster.yaml").read_text())
    # Warnings off: Dagster's CLI warns about itself (the Makefile filters those two by message).
    result = subprocess.run([str(DAGSTER), "asset", "materialize", "-m", "usher_assets.definitions", "--select", "hgnc"],
                            env={"PATH": "/usr/bin:/bin", "USHER_CONFIG": str(path), "DAGSTER_HOME": str(home),
                                 "PYTHONWARNINGS": "ignore"},
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"usher_assets: {path}: invalid configuration, 1 problem:",
        f"  line {line}, storage.lock_timeout_seconds: Input should be a valid number, unable to parse string as a "
        "number, found 'soon' (expected: how long to retry a database locked by another process, seconds)",
    ]


def test_bad_source_file_fails_its_step_with_a_one_line_failure(tmp_path, config_writer):
    broken = tmp_path / "ExACpLI_values.txt"
    lines = (PROJECT_ROOT / "data" / "ExACpLI_values.txt").read_text().splitlines()
    lines[4] = lines[4].split("\t")[0] + "\t0,93"  # line 5: a decimal comma
    broken.write_text("\n".join(lines) + "\n")
    raw = yaml.safe_load(DEFAULT_TEXT)
    raw["sources"]["exac_pli"] = {"path": str(broken), "release": "ExAC r0.3 (2016-03)"}
    config_path = config_writer("broken.yaml", sources=raw["sources"])
    resources = {"io_manager": DuckDBIOManager(database=str(tmp_path / "usher.duckdb")),
                 "pipeline": PipelineResource(config_path=str(config_path))}
    exac_pli = next(a for a in source_assets if a.key.to_user_string() == "exac_pli")
    result = dg.materialize([hgnc, gene_universe, exac_pli], resources=resources, raise_on_error=False)
    failure = next(e for e in result.get_step_failure_events() if e.step_key == "exac_pli").step_failure_data
    # What the run view shows first: the Failure itself, not Dagster's "error occurred while executing" wrapper.
    assert failure.error.cls_name == "Failure"
    assert failure.user_failure_data.description == (
        f"{broken}, line 5, column 'pLI': expected a number, found '0,93'")
    metadata = failure.user_failure_data.metadata
    assert metadata["line"].value == 5 and metadata["column"].value == "pLI"
    assert metadata["file"].value == str(broken)
