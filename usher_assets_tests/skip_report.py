"""pytest plugin: at the end of a run, how many tests were skipped and why; in CI any skip fails the run.

Loaded by conftest.py. With USHER_NO_SKIPS=1 (or CI=true, as .ci/run sets), a skip left at the end
(a missing redis-server, say) and a run that collected no tests (pytest's exit code 5) both make the
run fail: a CI run must have run everything.
"""

import os
from collections import Counter

import pytest

NO_SKIPS_ENV = "USHER_NO_SKIPS"


def skips_forbidden() -> bool:
    return os.environ.get(NO_SKIPS_ENV, "") == "1" or os.environ.get("CI", "").lower() == "true"


def _skip_reasons(terminalreporter) -> Counter:
    reasons: Counter = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        # A skip's longrepr is (file, line, "Skipped: reason").
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    return reasons


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    reasons = _skip_reasons(terminalreporter)
    total = sum(reasons.values())
    terminalreporter.section("skipped tests", sep="-")
    terminalreporter.write_line(f"{total} test(s) skipped")
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"  {count} x {reason}")
    if skips_forbidden():
        if total:
            terminalreporter.write_line(f"{NO_SKIPS_ENV}/CI: {total} skip(s) remain, so this run fails", red=True)
        if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            terminalreporter.write_line(f"{NO_SKIPS_ENV}/CI: no tests collected, so this run fails", red=True)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if not skips_forbidden():
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if skipped and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
