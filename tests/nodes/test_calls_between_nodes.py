"""Calls made on a node that does not own the run's partition: recorded as durable requests,
applied once by the owner, answered as the same call made on the owner is."""

from __future__ import annotations

import threading

import pytest

from aion_actors import (
    Engine,
    OperationRefused,
    QueryError,
    WorkflowAlreadyStarted,
    WorkflowClosed,
)
from aion_actors.aio import AsyncEngine
from aion_actors.core import events as ev
from tests.aio.watchdog import assert_never_blocked, run_watched
from tests.nodes import flows
from tests.nodes.conftest import until as _until


def _of(engine: Engine, n: int, prefix: str = "w") -> list[str]:
    """`n` workflow ids whose partitions `engine` owns."""
    node = engine._parts.node  # noqa: SLF001 - which partitions it owns
    assert node is not None
    return [w for w in (f"{prefix}{i}" for i in range(10_000)) if node.owns(w)][:n]


def _requests_left(engine: Engine) -> int:
    store = engine.store
    return int(
        store._read(lambda c, s: c.execute(f"SELECT count(*) FROM {s}.requests").fetchone()[0])  # type: ignore[attr-defined]  # noqa: SLF001
    )


@pytest.mark.timeout(60)
def test_start_and_signal_on_the_non_owner_happen_once_on_the_owner(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    [wid] = _of(b, 1)
    handle = a.start(flows.waiter, 2, workflow_id=wid)  # b owns it
    assert handle.workflow_id == wid
    a.signal(wid, "item", "one")
    b.signal(wid, "item", "two")
    assert b.result(wid, timeout=30) == ["one", "two"]
    history = b.history(wid)
    assert len([e for e in history if isinstance(e, ev.WorkflowStarted)]) == 1
    assert history[0].seq == 1 and handle.run_id == b.describe(wid).run_id
    signals = [e for e in history if isinstance(e, ev.SignalReceived)]
    assert [s.payload for s in signals] == ["one", "two"]
    assert _requests_left(a) == 0


@pytest.mark.timeout(60)
def test_a_remote_start_of_an_open_workflow_id_raises_already_started_on_the_caller(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    [wid] = _of(b, 1)
    first = b.start(flows.waiter, 1, workflow_id=wid)
    with pytest.raises(WorkflowAlreadyStarted) as caught:
        a.start(flows.waiter, 1, workflow_id=wid)
    assert caught.value.run_id == first.run_id and wid in str(caught.value)
    a.terminate(wid, "enough")
    assert b.describe(wid).status.value == "terminated"
    with pytest.raises(WorkflowClosed, match="terminate"):
        a.terminate(wid, "again")
    assert _requests_left(a) == 0


@pytest.mark.timeout(60)
def test_start_many_on_one_node_starts_each_run_once_on_its_owner(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    ids = _of(a, 3, "m") + _of(b, 3, "m")
    handles = a.start_many(flows.waiter, [(1,)] * len(ids), workflow_ids=ids)
    assert [h.workflow_id for h in handles] == ids
    for wid in ids:
        a.signal(wid, "item", wid)
    for handle in handles:
        owner = a if a._parts.node.owns(handle.workflow_id) else b  # noqa: SLF001
        assert owner.result(handle.workflow_id, timeout=30) == [handle.workflow_id]
        assert owner.describe(handle.workflow_id).run_id == handle.run_id


@pytest.mark.timeout(60)
def test_cancel_from_the_non_owner_is_recorded_once(pair: tuple[Engine, Engine]) -> None:
    a, b = pair
    [wid] = _of(b, 1)
    a.start(flows.waiter, 1, workflow_id=wid)
    a.cancel(wid, "no more")
    _until(lambda: b.describe(wid).status.value == "cancelled")
    cancels = [e for e in b.history(wid) if isinstance(e, ev.WorkflowCancelRequested)]
    assert len(cancels) == 1 and cancels[0].reason == "no more"


@pytest.mark.timeout(60)
def test_result_on_a_node_that_does_not_hold_the_run_waits_for_its_close_on_the_owner(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    [wid] = _of(b, 1, "r")
    handle = a.start(flows.waiter, 1, workflow_id=wid)
    with pytest.raises(TimeoutError, match="on node 'b'"):
        handle.result(timeout=0.5)
    assert _requests_left(a) == 0  # the timed-out wait withdrew its watch
    closer = threading.Timer(0.5, lambda: b.signal(wid, "item", "late"))
    closer.start()
    assert handle.result(timeout=30) == ["late"]  # woken by the close, on `a`
    closer.join()
    assert a.result(wid, timeout=5) == ["late"]  # (closed already: read at once)
    assert a.describe(wid).status.value == "completed"
    assert [e.kind for e in a.history(wid)][-1] == "WorkflowCompleted"
    assert wid in [r.workflow_id for r in a.list_runs(status="completed")]
    assert _requests_left(a) == 0


@pytest.mark.timeout(60)
def test_a_query_on_the_non_owner_is_answered_by_the_owners_live_run(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    [wid] = _of(b, 1, "q")
    a.start(flows.waiter, 2, workflow_id=wid)
    a.signal(wid, "item", "x")
    assert a.query(wid, "items") == ["x"]
    with pytest.raises(QueryError, match="nope"):
        a.query(wid, "nope")
    assert _requests_left(a) == 0


@pytest.mark.timeout(60)
def test_a_resume_on_the_non_owner_gets_the_owners_answer_and_leaves_no_request(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    [wid] = _of(b, 1, "p")
    a.start(flows.waiter, 1, workflow_id=wid)
    with pytest.raises(OperationRefused, match="is running, not parked") as caught:
        a.resume(wid)  # applied on `b`, which finds the run open: its error crosses back
    assert type(caught.value) is OperationRefused
    assert _requests_left(a) == 0


@pytest.mark.timeout(60)
def test_async_signal_cancel_and_terminate_on_the_non_owner_are_recorded_once_on_the_owner(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    signalled, cancelled, terminated = _of(b, 3, "x")
    for wid in (signalled, cancelled, terminated):
        b.start(flows.waiter, 1, workflow_id=wid)

    async def calls() -> None:  # made on `a`, which holds none of the three runs
        engine = AsyncEngine(a)
        await engine.signal(signalled, "item", "one")
        await engine.cancel(cancelled, "no more")
        await engine.terminate(terminated, "enough")
        with pytest.raises(WorkflowClosed, match="terminate"):
            await engine.terminate(terminated, "again")  # the owner's answer, as `Engine`'s

    _, watch = run_watched(calls)
    assert_never_blocked(watch)  # the forwarded calls waited on a reader thread
    assert b.result(signalled, timeout=30) == ["one"]
    _until(lambda: b.describe(cancelled).status.value == "cancelled")
    assert b.describe(terminated).status.value == "terminated"
    for wid, kind in [
        (signalled, ev.SignalReceived),
        (cancelled, ev.WorkflowCancelRequested),
        (terminated, ev.WorkflowTerminated),
    ]:
        assert len([e for e in b.history(wid) if isinstance(e, kind)]) == 1
    assert _requests_left(a) == 0
