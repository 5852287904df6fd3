"""Nodes opening a new store at the same moment all join (the registry is created once)."""

from __future__ import annotations

import threading

import pytest

from aion_actors.store.postgres.nodestore import NodeSettings, NodeStore
from aion_actors.testing.postgres import ThrowawayServer


def _open_at_once(url: str, count: int) -> list[BaseException]:
    """`count` nodes open `url` together (released by one barrier); the errors they got."""
    opened: list[NodeStore] = []
    failed: list[BaseException] = []
    ready = threading.Barrier(count)

    def join(i: int) -> None:
        ready.wait()
        try:
            opened.append(NodeStore(url, NodeSettings.of(f"n{i}"), pool_size=1))
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=join, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in opened:
        store.close()
    return failed


@pytest.mark.timeout(120)
def test_nodes_opening_a_new_store_at_the_same_moment_all_join_without_a_creation_race(
    pg_server: ThrowawayServer, pg_url: str
) -> None:
    for attempt in range(6):
        url = pg_server.create_database(f"{pg_url.rsplit('/', 1)[1]}_join{attempt}")
        failed = _open_at_once(url, 4)
        assert failed == [], [f"{type(e).__name__}: {e}" for e in failed]
