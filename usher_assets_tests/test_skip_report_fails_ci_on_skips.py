"""skip_report: the end of every run says how many tests were skipped and why; in CI a skip fails the run."""

import os
from pathlib import Path

import pytest

from skip_report import NO_SKIPS_ENV

ONE_PASS_ONE_SKIP = """
import shutil
import pytest

def test_runs():
    assert True

def test_needs_a_server():
    pytest.skip("redis-server not found on PATH")
"""


@pytest.fixture
def run_pytest(pytester, monkeypatch):
    """pytest in a subprocess on a scratch directory, with the project's skip_report plugin."""
    monkeypatch.delenv(NO_SKIPS_ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    tests = str(Path(__file__).resolve().parent)  # where skip_report lives
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")])))

    def run(source: str | None, **env: str):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        if source is not None:
            pytester.makepyfile(test_sample=source)
        return pytester.runpytest_subprocess("-p", "skip_report", "-q", "-p", "no:cacheprovider")

    return run


def test_summary_counts_skips_and_gives_their_reasons(run_pytest):
    result = run_pytest(ONE_PASS_ONE_SKIP)
    assert result.ret == pytest.ExitCode.OK  # outside CI a skip is reported, not fatal
    result.stdout.fnmatch_lines(["*skipped tests*", "1 test(s) skipped", "  1 x redis-server not found on PATH"])
    # At the end: after the progress line, just before the final counts.
    lines = result.stdout.lines
    progress = next(i for i, line in enumerate(lines) if line.startswith(".s"))
    final = next(i for i, line in enumerate(lines) if "1 passed, 1 skipped" in line)
    assert progress < lines.index("1 test(s) skipped") < final


@pytest.mark.parametrize("env", [{NO_SKIPS_ENV: "1"}, {"CI": "true"}], ids=["USHER_NO_SKIPS", "CI"])
def test_a_skip_fails_the_run_in_ci(run_pytest, env):
    result = run_pytest(ONE_PASS_ONE_SKIP, **env)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*1 skip(s) remain, so this run fails*"])
    result.assert_outcomes(passed=1, skipped=1)


def test_no_skips_passes_in_ci(run_pytest):
    result = run_pytest("def test_runs():\n    assert True\n", **{NO_SKIPS_ENV: "1"})
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["0 test(s) skipped"])


def test_no_tests_collected_fails_in_ci(run_pytest):
    result = run_pytest("", **{NO_SKIPS_ENV: "1"})
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*no tests collected, so this run fails*"])


def test_ci_script_forbids_skips():
    from conftest import PROJECT_ROOT

    script = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert f"{NO_SKIPS_ENV}=1 make test" in script
    assert "set -euo pipefail" in script  # a non-zero make test (failures, skips, exit code 5) stops CI
