"""A signal whose caller gave up waiting, refused on its node because its run's partition
left the node while PostgreSQL was down: it is handed to the partition's owner as a
durable request row — and, the database still down, that write is tried again until the
database takes it, then applied once (by this node, once it takes the partition back).
Only an engine closed with it still unwritten gives it up, and logs so, naming it.

A real outage (the test server stopped). The node's run is evicted first, so the signal
waits in its mailbox while the run's history is read again — a read the outage holds up —
until the node's lease lapses and the node drops the run, and the signal with it."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator

import pytest

from aion_actors import Engine, StoreUnavailable
from aion_actors.core import RunKey
from aion_actors.core import events as ev
from aion_actors.nodes.handed import Handed, HandedOn
from aion_actors.store.postgres.nodestore import NodeSettings, NodeStore
from aion_actors.testing.postgres import ThrowawayServer
from tests.nodes import flows
from tests.nodes.conftest import said_lost, until
from tests.nodes.test_calls_between_nodes import _requests_left

NOT_YET = "not handed on to its partition's owner yet"


@pytest.fixture
def solo(pg_url: str) -> Iterator[Engine]:
    """A node with a 4 s lease renewed every 0.5 s (longer than the server's stop takes,
    so the signal meets the run here) whose store gives a call up after 8 s of outage
    (30 s by default) and waits 2 s at most for a connection: the node drops the run well
    before the run's read gives up, and a write with no bound of its own gives up inside
    the outage."""
    store = NodeStore(pg_url, NodeSettings.of("solo", 4.0, 0.5), retry_for=8.0)
    store._pool.timeout = 2.0  # noqa: SLF001 - psycopg_pool's: 30 s by default
    with Engine(store, workers=1, idle_evict_after=0.1) as engine:
        engine.register(*flows.ALL)
        yield engine


def _signal_dropped_in_an_outage(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    """In an outage: a signal whose caller gave up, handed on when the node dropped its
    run — and whose write failed."""
    with pytest.raises(TimeoutError, match="it is not lost"):
        engine.signal("kept", "item", "x", timeout=1)
    # the lease lapses: the run leaves this node, the signal is handed on; its write fails
    until(lambda: NOT_YET in caplog.text or said_lost(caplog), 60)
    assert not said_lost(caplog)  # (before: given up at the first failed write)


def _failed_tries(engine: Engine) -> int:
    """The most failed tries of a request not handed on yet."""
    calls = engine._parts.node_calls  # noqa: SLF001
    assert calls is not None
    with calls.handed._cond:  # noqa: SLF001
        return max((n for n, _ in calls.handed._waiting.values()), default=0)  # noqa: SLF001


def _once_it_answers(call: Callable[[], object]) -> object:
    """`call()`, again while the store does not answer yet (the server's start may take
    longer than the store's 8 s window on a loaded machine)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return call()
        except StoreUnavailable:  # (each try waits out the store's window: no busy loop)
            if time.monotonic() > deadline:
                raise


@pytest.mark.timeout(120)
def test_a_signal_handed_on_while_the_store_is_down_is_recorded_once_it_is_back(
    solo: Engine, pg_server: ThrowawayServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aion_actors.nodes")
    solo.start(flows.waiter, 1, workflow_id="kept")
    until(lambda: solo.stats()["resident"] == 0, 30)
    with pg_server.outage():
        _signal_dropped_in_an_outage(solo, caplog)
        until(lambda: _failed_tries(solo) >= 2, 30)  # its write fails again
    assert _once_it_answers(lambda: solo.result("kept", timeout=60)) == ["x"]
    payloads = [e.payload for e in solo.history("kept") if isinstance(e, ev.SignalReceived)]
    assert payloads == ["x"]
    until(lambda: _requests_left(solo) == 0, 30)
    [written] = [
        r.getMessage() for r in caplog.records if "goes to its partition's" in r.getMessage()
    ]
    assert "signal 'item' of workflow 'kept'" in written, written
    tries = re.search(r" after (\d+) tries ", written)
    assert tries is not None and int(tries[1]) >= 3, written  # (2 failed in the outage)
    assert not said_lost(caplog)


@pytest.mark.timeout(120)
def test_a_signal_still_not_handed_on_when_the_engine_closes_is_logged_as_lost(
    solo: Engine, pg_server: ThrowawayServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aion_actors.nodes")
    handle = solo.start(flows.waiter, 1, workflow_id="kept")
    until(lambda: solo.stats()["resident"] == 0, 30)
    with pg_server.outage():
        _signal_dropped_in_an_outage(solo, caplog)
        solo.close()
    [lost] = [r for r in caplog.records if "was lost" in r.getMessage()]
    assert lost.levelno == logging.ERROR
    said = lost.getMessage()
    assert f"signal 'item' of workflow 'kept' (run {handle.run_id}" in said, said
    assert "this engine closed before the database took it" in said, said
    assert "send it again" in said, said


@pytest.mark.timeout(60)
def test_a_close_in_an_outage_waits_for_the_try_under_way_and_no_other(
    pg_url: str, pg_server: ThrowawayServer, caplog: pytest.LogCaptureFixture
) -> None:
    """(Each try waits 2 s at most for a connection. Before, the close waited for the try
    under way, then made one more.)"""
    store = NodeStore(pg_url, NodeSettings.of("solo"), retry_for=30.0)
    handed = HandedOn(store)
    handed.start()
    try:
        with pg_server.outage():
            handed.add(Handed(RunKey("w", "r"), "signal 'item'", ("request-1", 0, b"call")))
            time.sleep(0.5)  # its first try is under way
            began = time.monotonic()
            handed.close()
            took = time.monotonic() - began
    finally:
        store.close()
    assert took < 3.5, took
    [lost] = [r.getMessage() for r in caplog.records if "was lost" in r.getMessage()]
    assert "signal 'item' of workflow 'w' (run r, partition 0)" in lost, lost
    assert "this engine closed before the database took it" in lost, lost
