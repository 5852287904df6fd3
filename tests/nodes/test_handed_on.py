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
import time
from collections.abc import Callable, Iterator

import pytest

from aion_actors import Engine, StoreUnavailable
from aion_actors.core import events as ev
from aion_actors.store.postgres.nodestore import NodeSettings, NodeStore
from aion_actors.testing.postgres import ThrowawayServer
from tests.nodes import flows
from tests.nodes.conftest import said_lost, until
from tests.nodes.test_calls_between_nodes import _requests_left

NOT_YET = "not handed on to its partition's owner yet"


@pytest.fixture
def solo(pg_url: str) -> Iterator[Engine]:
    """A node with a 6 s lease (longer than the server's stop takes, so the signal meets
    the run here) whose store gives a call up after 12 s of outage (30 s by default) and
    waits 2 s at most for a connection: the node drops the run well before the run's
    read gives up, and a write with no bound of its own gives up inside the outage."""
    store = NodeStore(pg_url, NodeSettings.of("solo", 6.0, 1.0), retry_for=12.0)
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


def _once_it_answers(call: Callable[[], object]) -> object:
    """`call()`, again while the store does not answer yet: after the outage the pool's
    reconnection may take longer than the store's 12 s window on a loaded machine."""
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
        time.sleep(6)  # its write fails again (a try gives up after 5 s)
    assert _once_it_answers(lambda: solo.result("kept", timeout=60)) == ["x"]
    payloads = [e.payload for e in solo.history("kept") if isinstance(e, ev.SignalReceived)]
    assert payloads == ["x"]
    until(lambda: _requests_left(solo) == 0, 30)
    [written] = [
        r.getMessage() for r in caplog.records if "goes to its partition's" in r.getMessage()
    ]
    assert "signal 'item' of workflow 'kept'" in written and " tries " in written, written
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
