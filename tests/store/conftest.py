"""Every store test runs against each `EventStore`, and leaves no thread behind."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aion_actors.store import EventStore, LmdbStore, MemoryStore

WAIT = 30.0


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


@pytest.fixture(autouse=True)
def no_thread_leaks() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    wait_until(lambda: set(threading.enumerate()) <= before, "test threads to end")


@pytest.fixture(params=["memory", "lmdb", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    """A fresh store of each kind (LMDB without fsync: the semantics do not differ;
    Postgres in a new database of the session's throwaway server)."""
    opened: EventStore
    if request.param == "memory":
        opened = MemoryStore()
    elif request.param == "lmdb":
        opened = LmdbStore(tmp_path / "data", durability="nosync")
    else:
        from aion_actors.store.postgres import PostgresStore

        opened = PostgresStore(request.getfixturevalue("pg_url"))
    with opened:
        yield opened
