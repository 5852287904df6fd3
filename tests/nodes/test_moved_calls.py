"""A call made on the node that owns the run's partition, when the partition moves between
that check and the call's write: the fence refuses the write whole (nothing recorded),
and the call goes to the partition's new owner as a request — the caller sees what it
would have seen had the move happened before the call, and the call is applied once.

Deterministic: the node's lease thread renews every 10 s, and the test moves the lease
in the store (a new epoch, as another claim makes) without the node knowing; its next
write finds it out."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from aion_actors import Engine, OwnershipLost, StoreUnavailable
from aion_actors.core import RunKey
from aion_actors.core import events as ev
from aion_actors.nodes.node import Node
from aion_actors.store.postgres import partition_of
from aion_actors.testing.postgres import ThrowawayServer
from tests.nodes import flows
from tests.nodes.conftest import until
from tests.nodes.test_calls_between_nodes import _requests_left


@pytest.fixture
def solo(pg_url: str) -> Iterator[Engine]:
    with Engine.open(pg_url, workers=1, node_id="solo", lease=30.0, renew_every=10.0) as engine:
        engine.register(*flows.ALL)
        yield engine


def _move(url: str, workflow_id: str) -> None:
    """A new epoch for `workflow_id`'s partition, behind its owner's back (as a claim after
    its lease lapsed makes it; here the same node id claims it again on its next round)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE aion.partitions SET epoch = epoch + 1 WHERE partition = %s",
            (partition_of(workflow_id, 64),),
        )


@pytest.mark.timeout(60)
def test_a_signal_whose_partition_moved_before_its_write_reaches_the_run_once(
    solo: Engine, pg_url: str
) -> None:
    solo.start(flows.waiter, 2, workflow_id="moving")
    solo.signal("moving", "item", "first")
    _move(pg_url, "moving")
    solo.signal("moving", "item", "second", timeout=30)  # refused here, applied by the owner
    assert solo.result("moving", timeout=30) == ["first", "second"]
    payloads = [e.payload for e in solo.history("moving") if isinstance(e, ev.SignalReceived)]
    assert payloads == ["first", "second"]
    assert _requests_left(solo) == 0


@pytest.mark.timeout(60)
def test_a_start_whose_partition_moved_before_its_write_starts_the_run_once(
    solo: Engine, pg_url: str
) -> None:
    _move(pg_url, "late")
    handles = solo.start_many(flows.kid, [(3, 0.0), (4, 0.0)], workflow_ids=["late", "other"])
    assert [h.result(timeout=30) for h in handles] == [6, 8]
    history = solo.history("late")
    assert len([e for e in history if isinstance(e, ev.WorkflowStarted)]) == 1
    assert handles[0].run_id == solo.describe("late").run_id
    assert _requests_left(solo) == 0


@pytest.mark.timeout(60)
def test_a_terminate_whose_partition_moved_before_its_write_ends_the_run_once(
    solo: Engine, pg_url: str
) -> None:
    solo.start(flows.waiter, 1, workflow_id="ending")
    _move(pg_url, "ending")
    solo.terminate("ending", "enough")
    history = solo.history("ending")
    assert [e.kind for e in history].count("WorkflowTerminated") == 1
    assert isinstance(history[-1], ev.WorkflowTerminated)


def test_a_call_waiting_for_a_run_whose_partition_leaves_is_told_ownership_lost(
    solo: Engine,
) -> None:
    """(What `drop` answers the calls still in a leaving run's mailbox — which `Calls`
    then sends to the new owner, as above.)"""
    node = solo._parts.node  # noqa: SLF001 - the error its give-up hands out
    assert node is not None
    partition = partition_of("moving", 64)
    error = node._moved({partition: 3})(RunKey("moving", "r1"))  # noqa: SLF001
    assert isinstance(error, OwnershipLost)
    assert (error.partition, error.held_epoch, error.node_id) == (partition, 3, "solo")
    assert "nothing of this write was recorded" in str(error)


@pytest.mark.timeout(60)
def test_a_pause_and_unpause_whose_partition_moved_before_their_writes_apply_once(
    solo: Engine, pg_url: str
) -> None:
    solo.start(flows.waiter, 1, workflow_id="held")
    _move(pg_url, "held")
    solo.pause("held", "a look")
    _move(pg_url, "held")
    solo.unpause("held")
    kinds = [e.kind for e in solo.history("held")]
    assert (kinds.count("RunPaused"), kinds.count("RunUnpaused")) == (1, 1), kinds


@pytest.mark.timeout(60)
def test_a_call_reaching_a_run_dropped_from_this_node_is_told_ownership_lost(
    solo: Engine,
) -> None:
    """(A call that found the run here, whose run left before the call reached it: the
    run is open, on another node — not `WorkflowClosed`; `Calls` sends it there.)"""
    handle = solo.start(flows.waiter, 1, workflow_id="dropped")
    node = solo._parts.node  # noqa: SLF001 - give the partition up now, as a move does
    assert node is not None
    node._give_up({partition_of("dropped", 64)}, "a test moves it", release=True)  # noqa: SLF001
    runs = solo._parts.runs  # noqa: SLF001 - the call past the ownership check
    with pytest.raises(OwnershipLost) as caught:
        runs.signal(RunKey("dropped", handle.run_id), "item", "x", 10)
    assert caught.value.partition == partition_of("dropped", 64)
    node._wake.set()  # noqa: SLF001 - its next lease round takes the free partition back now
    solo.signal("dropped", "item", "y", timeout=30)  # to its owner (this node, again)
    assert solo.result("dropped", timeout=30) == ["y"]


def _stray(solo: Engine, pg_url: str) -> tuple[Node, RunKey]:
    """A run here whose partition this node has let go (to another node, so that its
    lease rounds do not take it back)."""
    handle = solo.start(flows.waiter, 2, workflow_id="stray")
    node = solo._parts.node  # noqa: SLF001 - let the partition go, its run still here
    assert node is not None
    partition = partition_of("stray", 64)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE aion.partitions SET owner = 'elsewhere', epoch = epoch + 1,"
            " expires_at = %s WHERE partition = %s",
            (2**62, partition),
        )
    node._fence.let_go({partition})  # noqa: SLF001
    return node, RunKey("stray", handle.run_id)


@pytest.mark.timeout(60)
def test_a_run_left_here_after_its_partition_was_let_go_leaves_at_its_first_write(
    solo: Engine, pg_url: str
) -> None:
    """(The window of a give-up: a run that began here after its partition's runs were
    dropped and before its lease was let go has no owner here; its writes are refused as
    "never held". The first such refusal drops it, as a moved partition's runs are.)"""
    _node, key = _stray(solo, pg_url)
    runs = solo._parts.runs  # noqa: SLF001 - the write, past the ownership check
    with pytest.raises(OwnershipLost) as caught:
        runs.signal(key, "item", "x", 10)
    assert caught.value.held_epoch is None  # "never held it"
    until(lambda: runs.open_run("stray") is None, 30)  # (it runs on where it is held)


@pytest.mark.timeout(60)
def test_a_give_up_that_failed_is_tried_again_at_the_next_lease_round(
    solo: Engine, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    node, key = _stray(solo, pg_url)
    runs = solo._parts.runs  # noqa: SLF001
    drop, failed = runs.drop, threading.Event()

    def drop_failing_once(*args: Any) -> int:
        if not failed.is_set():
            failed.set()
            raise RuntimeError("a give-up fails once")
        return drop(*args)

    monkeypatch.setattr(runs, "drop", drop_failing_once)
    with pytest.raises(OwnershipLost):
        runs.signal(key, "item", "x", 10)
    assert failed.wait(30)
    node._wake.set()  # noqa: SLF001 - the next round now, not at the 10 s renewal
    until(lambda: runs.open_run("stray") is None, 30)


@pytest.mark.timeout(90)
def test_a_signal_whose_caller_gave_up_in_an_outage_longer_than_the_lease_is_recorded_once(
    pg_server: ThrowawayServer, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """(The node's leases expire unrenewed in the outage: it drops its runs; the signal's
    write is refused by the fence when the server is back — nothing of it recorded — and,
    its caller gone, it goes to the partition's owner as a request: this node, again.)"""
    # a lease longer than the server's stop takes (seconds on a slow machine), so the
    # signal meets the run here; the outage then outlasts the lease
    caplog.set_level(logging.INFO, logger="aion_actors.nodes")
    with Engine.open(pg_url, workers=1, node_id="solo", lease=4.0, renew_every=0.5) as engine:
        engine.register(*flows.ALL)
        engine.start(flows.waiter, 1, workflow_id="kept")
        with pg_server.outage():
            with pytest.raises(TimeoutError, match="it is not lost"):
                engine.signal("kept", "item", "x", timeout=1)
            until(lambda: "runs left this node" in caplog.text, 30)  # (its lease lapsed)
        assert engine.result("kept", timeout=30) == ["x"]
        payloads = [e.payload for e in engine.history("kept") if isinstance(e, ev.SignalReceived)]
        assert payloads == ["x"]
        until(lambda: _requests_left(engine) == 0, 30)


@pytest.mark.timeout(60)
def test_a_result_timeout_says_another_node_holds_the_run_only_when_one_does(
    solo: Engine, pg_url: str
) -> None:
    # (not in the partition of "stray", which would wait for the next lease round to start)
    handle = solo.start(flows.waiter, 1, workflow_id="lapsed-run")
    node = solo._parts.node  # noqa: SLF001 - drop its runs as a lapsed lease does
    assert node is not None
    node._give_up({partition_of("lapsed-run", 64)}, "a test lets its lease lapse", release=False)  # noqa: SLF001
    with pytest.raises(TimeoutError) as caught:
        solo.result("lapsed-run", timeout=0.5)
    assert "another node" not in str(caught.value)
    assert "this node ('solo') does not hold its partition now" in str(caught.value)
    _, stray = _stray(solo, pg_url)  # its partition now another node's: its run leaves
    node._give_up({partition_of("stray", 64)}, "another node owns it", release=False)  # noqa: SLF001
    with pytest.raises(TimeoutError, match="on node 'elsewhere'"):
        solo.result("stray", timeout=0.5)
    assert handle.run_id != stray.run_id


@pytest.mark.timeout(90)
def test_a_call_forwarded_while_the_store_is_down_gives_up_within_its_timeout(
    solo: Engine, pg_url: str, pg_server: ThrowawayServer
) -> None:
    """(A call for a run of another node's partition is a request row: with the store down
    it cannot be written, and its caller hears so within its own timeout, not after the
    store's whole retry window — nothing of it recorded.)"""
    node, _ = _stray(solo, pg_url)  # its partition another node's, from here on
    node._give_up({partition_of("stray", 64)}, "another node owns it", release=False)  # noqa: SLF001
    with pg_server.outage():  # (calls for "stray" are forwarded: written as request rows)
        began = time.monotonic()
        with pytest.raises(StoreUnavailable, match="this call recorded nothing"):
            solo.signal("stray", "item", "x", timeout=1)
        assert time.monotonic() - began < 10  # (before: the 30 s retry window, and more)


@pytest.mark.timeout(90)
def test_a_write_from_before_its_partition_left_and_came_back_is_refused_its_signal_recorded_once(
    solo: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(A signal's append waits — here held at the store, as a commit retrying through an
    outage waits. Meanwhile the partition leaves this node — its run is dropped — and
    comes back at a new epoch: the run is recovered from the store, without the signal.
    The old incarnation's append must not land behind the new incarnation's back: the
    fence refuses it as made under the earlier epoch, and the signal goes to the
    partition's owner as a request, which the new incarnation records — once.)"""
    handle = solo.start(flows.waiter, 1, workflow_id="w")
    node = solo._parts.node  # noqa: SLF001 - the partition leaves and comes back
    assert node is not None
    partition, store = partition_of("w", 64), node.store
    append_batch, reached, go = store.append_batch, threading.Event(), threading.Event()

    def held_once(requests: Any) -> Any:
        signals = [e for r in requests for e in r.events if isinstance(e, ev.SignalReceived)]
        if signals and not reached.is_set():
            reached.set()
            assert go.wait(30)
        return append_batch(requests)

    monkeypatch.setattr(store, "append_batch", held_once)
    outcome: list[BaseException | None] = []

    def send() -> None:
        try:
            solo.signal("w", "item", "x", timeout=30)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    assert reached.wait(30)  # the signal's batch is on its way to the store
    node._give_up({partition}, "a test lets its lease lapse", release=True)  # noqa: SLF001
    node._wake.set()  # noqa: SLF001 - its next lease round takes the partition back now
    until(lambda: node.serves(partition), 30)  # (recovered again: the run waits afresh)
    go.set()
    sender.join(40)
    assert outcome == [None], outcome  # the caller is told the signal is recorded
    assert solo.result("w", timeout=20) == ["x"]
    history = solo.history("w")
    assert [e.payload for e in history if isinstance(e, ev.SignalReceived)] == ["x"]
    assert [e.kind for e in history].count("WorkflowCompleted") == 1
    assert handle.run_id == solo.describe("w").run_id
