"""Suite-wide options: `--slow` runs the long tests and the long hypothesis profile.

Without `--slow`, tests marked `@pytest.mark.slow` are skipped and hypothesis
runs the `ci` profile: no example database (nothing written into the repo),
no deadline (a loaded CI machine is slow, not wrong) and derandomized, so a
CI run tries the same examples every time. `--slow` loads the `slow`
profile: fresh random examples, ten times as many.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

from tests.pg import pg_server, pg_url, summary_line

__all__ = ["pg_server", "pg_url"]  # the session's PostgreSQL server, a database per test

settings.register_profile("ci", database=None, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("slow", database=None, deadline=None, max_examples=1000, print_blob=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow",
        action="store_true",
        help="run tests marked slow and the long hypothesis profile",
    )


def pytest_configure(config: pytest.Config) -> None:
    settings.load_profile("slow" if config.getoption("--slow") else "ci")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="long-running; run with --slow")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.write_line(summary_line(terminalreporter.stats))
