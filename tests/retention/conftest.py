"""An engine per test whose pruner reports each deleted run, and waiting for those reports.

The store is an LMDB directory; a test module that sets `ON_POSTGRES = True` runs each
test that takes `data` (or `engine`) on Postgres too, `data` then being a fresh URL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aion_actors import Engine
from aion_actors.store import EventStore, LmdbStore, RunSummary
from tests.retention import flows

WAIT = 30.0


class Pruned:
    """The runs an engine's pruner deleted, in order, and a wait for one of them."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.ids: list[str] = []

    def __call__(self, run: RunSummary) -> None:
        with self._cond:
            self.ids.append(run.workflow_id)
            self._cond.notify_all()

    def wait_for(self, *workflow_ids: str) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: set(workflow_ids) <= set(self.ids), WAIT):
                raise AssertionError(f"{workflow_ids} not pruned within {WAIT} s: {self.ids}")


def watch(engine: Engine) -> Pruned:
    pruned = Pruned()
    engine._pruner.when_pruned(pruned)  # noqa: SLF001 - the test's hook on the pruner thread
    return pruned


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "data" in metafunc.fixturenames and getattr(metafunc.module, "ON_POSTGRES", False):
        metafunc.parametrize("store_kind", ["lmdb", "postgres"])


@pytest.fixture
def store_kind() -> str:
    return "lmdb"


@pytest.fixture
def data(tmp_path: Path, store_kind: str, request: pytest.FixtureRequest) -> Any:
    """A data directory (a Path), or a Postgres URL (a str): `Engine.open` takes either."""
    if store_kind == "postgres":
        return request.getfixturevalue("pg_url")
    return tmp_path / "data"


def assert_no_leftovers(store: EventStore, data: Any, *, finished: bool = True) -> None:
    """Every index agrees with the run index: `examine` on LMDB; on Postgres no event or
    timer of a run the run index does not hold, but for the events of a run being deleted
    (none when `finished`: a writable open finishes those deletions)."""
    if isinstance(store, LmdbStore):
        assert store.examine().findings == []
        return
    import psycopg

    def gone(table: str) -> str:
        return f"""SELECT count(*) FROM aion.{table} t WHERE NOT EXISTS (SELECT 1 FROM
            aion.runs r WHERE r.workflow_id = t.workflow_id AND r.run_id = t.run_id)"""

    with psycopg.connect(str(data)) as conn:
        doomed = "SELECT 1 FROM aion.doomed d WHERE d.workflow_id = t.workflow_id"
        events = f"{gone('events')} AND NOT EXISTS ({doomed} AND d.run_id = t.run_id)"
        assert conn.execute(events).fetchone() == (0,), "events of runs that are gone"
        assert conn.execute(gone("timers")).fetchone() == (0,), "timers of runs that are gone"
        if finished:
            left = conn.execute("SELECT count(*) FROM aion.doomed").fetchone()
            assert left == (0,), "deletions left unfinished"


@pytest.fixture
def engine(data: Any) -> Iterator[Engine]:
    with Engine.open(data, workers=1) as engine:
        engine.register(*flows.ALL)
        yield engine
