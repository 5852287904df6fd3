"""A request whose caller gave up waiting ("it is not lost … do not send it again") while
PostgreSQL was down is recorded once the run can write again — however long the outage,
whether or not its run's partition moved meanwhile; a caller still waiting is told why
its request failed, and that request is never recorded.

Real outages (the test server stopped). The stores give a write up after 2 s (or 6 s) of
outage, 30 s by default: the run's append fails inside the outage, and the run waits for
the store (stalled), or its node drops it when its lease lapses.
"""

from __future__ import annotations

import logging
import threading
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


def _engine(url: str, lease: float, retry_for: float) -> Engine:
    """A node alone on its database (leases of `lease` s) whose writes give up after
    `retry_for` s of outage, each waiting 1 s at most for a connection."""
    store = NodeStore(url, NodeSettings.of("solo", lease, 1.0), retry_for=retry_for)
    store._pool.timeout = 1.0  # noqa: SLF001 - psycopg_pool's: 30 s by default
    engine = Engine(store, workers=1, idle_evict_after=None)
    engine.register(*flows.ALL)
    return engine


@pytest.fixture
def solo(pg_url: str) -> Iterator[Engine]:
    """Its lease (60 s) outlives the outages: its runs never leave it."""
    with _engine(pg_url, 60.0, 2.0) as engine:
        yield engine


def _signals(engine: Engine, workflow_id: str) -> list[object]:
    return [e.payload for e in engine.history(workflow_id) if isinstance(e, ev.SignalReceived)]


def _append_gave_up(caplog: pytest.LogCaptureFixture) -> bool:
    """Whether the engine said a run's append gave up (the store cannot write)."""
    return any(
        r.name == "aion_actors.store.recorder" and "cannot write" in r.getMessage()
        for r in caplog.records
    )


def _in_thread(call: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    """`call()` in a thread of its own; what it raised, once joined."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, raised


@pytest.mark.timeout(120)
def test_a_signal_whose_caller_gave_up_is_recorded_once_after_an_outage_past_the_retry_window(
    solo: Engine, pg_server: ThrowawayServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aion_actors")
    solo.start(flows.waiter, 1, workflow_id="w")
    with pg_server.outage():
        with pytest.raises(TimeoutError, match="it is not lost"):
            solo.signal("w", "item", "kept", timeout=1)
        until(lambda: _append_gave_up(caplog), 30)  # (2 s), the run waits for the store
    assert solo.result("w", timeout=60) == ["kept"]
    assert _signals(solo, "w") == ["kept"]


@pytest.mark.timeout(120)
def test_a_caller_still_waiting_hears_the_store_is_unavailable_and_its_signal_is_never_recorded(
    solo: Engine, pg_server: ThrowawayServer
) -> None:
    """The waiting caller's signal is in the append that fails; the signal of a caller who
    gave up waits behind it: the first caller is told, the second signal is kept."""
    solo.start(flows.waiter, 1, workflow_id="w")
    with pg_server.outage():
        told, raised = _in_thread(lambda: solo.signal("w", "item", "told", timeout=30))
        time.sleep(0.3)  # its append is under way
        with pytest.raises(TimeoutError, match="it is not lost"):
            solo.signal("w", "item", "kept", timeout=1)
        told.join(30)
        assert [type(e) for e in raised] == [StoreUnavailable], raised
        time.sleep(3)
    assert solo.result("w", timeout=60) == ["kept"]
    time.sleep(1)  # (anything more would be recorded by now)
    assert _signals(solo, "w") == ["kept"]


@pytest.mark.timeout(120)
def test_signals_queued_behind_an_append_when_the_node_drops_the_run_are_all_recorded_once(
    pg_url: str, pg_server: ThrowawayServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The node's lease (3 s) lapses inside the outage while the run's append still tries
    (6 s): the node drops the run with a second signal queued behind the first. The first
    one's caller, still waiting, goes on to the partition's owner (this node, once the
    database is back); the second one's, who gave up, is handed on: both recorded once."""
    caplog.set_level(logging.INFO, logger="aion_actors")
    with _engine(pg_url, 3.0, 6.0) as engine:
        engine.start(flows.waiter, 2, workflow_id="w")
        with pg_server.outage():
            began = time.monotonic()
            first, raised = _in_thread(lambda: engine.signal("w", "item", "first", timeout=60))
            time.sleep(0.3)  # its append is under way
            with pytest.raises(TimeoutError, match="it is not lost"):
                engine.signal("w", "item", "second", timeout=1)
            until(lambda: "runs left this node" in caplog.text, 30)
            # the first append gives up (6 s, and 1 s for its last try): nothing recorded;
            # its caller, still waiting, is told to go on to the partition's owner
            until(lambda: "the call goes to the partition's new owner" in caplog.text, 30)
            assert time.monotonic() - began > 5  # (told once its append gave up, not before)
        first.join(60)
        assert not raised, raised
        assert sorted(engine.result("w", timeout=60)) == ["first", "second"]
        assert sorted(_signals(engine, "w")) == ["first", "second"]  # (once each)
        until(lambda: _requests_left(engine) == 0, 30)
        assert "the call goes to the partition's new owner" in caplog.text  # the first
        assert "goes to its partition's owner" in caplog.text  # the second, handed on
        assert not said_lost(caplog)
