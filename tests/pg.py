"""The session's throwaway PostgreSQL server, one database per test, and the count of
tests that ran on it (printed at the end of the run, so CI never skips them silently).

Where this machine has no PostgreSQL binaries the Postgres tests skip, saying so.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors.store import EventStore, LmdbStore
from aion_actors.testing.postgres import ThrowawayServer, find_binaries

#: node ids of the tests that got a database
USED: set[str] = set()
_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[ThrowawayServer]:
    """One PostgreSQL server for the whole session (skips when there are no binaries)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install -e '.[test,postgres]'")
    if find_binaries() is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin")
    server = ThrowawayServer.start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: ThrowawayServer, request: pytest.FixtureRequest) -> str:
    """The URL of a new, empty database on the session's server."""
    USED.add(request.node.nodeid)
    return pg_server.create_database(f"t{next(_names)}")


def summary_line(stats: dict[str, list[pytest.TestReport]]) -> str:
    """How many tests ran against PostgreSQL, by outcome."""
    counts = {
        outcome: sum(1 for r in stats.get(outcome, []) if r.nodeid in USED and r.when == "call")
        for outcome in ("passed", "failed")
    }
    where = find_binaries()
    if where is None:
        return "PostgreSQL: no binaries on this machine; every Postgres test was skipped"
    return (
        f"PostgreSQL ({where}): {counts['passed']} tests passed and {counts['failed']} failed "
        f"against a throwaway server ({len(USED)} used a database)"
    )


def open_readonly(target: object) -> EventStore:
    """A read-only view of the store an engine test used: a data directory or a URL."""
    if isinstance(target, str) and target.startswith("postgresql://"):
        from aion_actors.store.postgres import PostgresStore

        return PostgresStore(target, readonly=True)
    return LmdbStore(Path(str(target)), readonly=True)
