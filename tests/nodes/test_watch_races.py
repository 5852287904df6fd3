"""A watch (another node waiting for a run held here to close) is answered however it
meets the append that closes its run: registered while that append's transaction is
in flight, or before an attempt that fails and is retried. Deterministic: the closing
append is held in flight by a lock another connection keeps on the events table."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from aion_actors import Engine, WorkflowNotFound
from aion_actors.core import RunKey
from aion_actors.core import events as ev
from aion_actors.nodes.calls import NodeCall, new_request_id
from aion_actors.store.postgres import _requests, partition_of
from aion_actors.store.postgres._consuming import Consuming
from tests.nodes import flows
from tests.nodes.conftest import until
from tests.nodes.test_calls_between_nodes import _of, _requests_left


def _waiting_locks(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return int(conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0])


def _watch_taken(engine: Engine) -> bool:
    """Whether `engine`'s applier has the one watch request: applying it, or registered."""
    applier = engine._parts.node_calls.applier  # type: ignore[union-attr]  # noqa: SLF001 - probe
    consuming = engine.store._consuming  # type: ignore[attr-defined]  # noqa: SLF001 - probe
    return bool(applier._inflight or consuming._watched)  # noqa: SLF001 - probe


@pytest.mark.timeout(90)
def test_a_watch_registered_while_the_append_closing_its_run_is_in_flight_is_answered(
    pair: tuple[Engine, Engine], pg_url: str
) -> None:
    a, b = pair
    [wid] = _of(a, 1, "watched")
    a.start(flows.counter, workflow_id=wid)
    outcome: list[Any] = []
    with psycopg.connect(pg_url) as blocker:
        blocker.execute("LOCK TABLE aion.events IN SHARE MODE")  # every append waits
        terminating = threading.Thread(target=a.terminate, args=(wid, "enough"))
        terminating.start()
        until(lambda: _waiting_locks(pg_url) > 0)  # its transaction (watches taken) waits

        def wait_on_b() -> None:
            try:
                outcome.append(b.result(wid, timeout=30))
            except Exception as exc:
                outcome.append(exc)

        waiting = threading.Thread(target=wait_on_b)
        waiting.start()
        until(lambda: _watch_taken(a))  # b's watch reached a while the close is in flight
        blocker.rollback()  # the close commits
    terminating.join(30)
    waiting.join(40)
    assert len(outcome) == 1 and "terminated" in str(outcome[0]).lower(), outcome
    assert isinstance(a.history(wid)[-1], ev.WorkflowTerminated)
    until(lambda: _requests_left(a) == 0)


def test_the_watches_an_append_took_wait_again_when_its_transaction_failed() -> None:
    consuming = Consuming()
    run = ("w", "r1")
    consuming.watch("node:1", run)
    assert consuming.consume([], [run]) == ["node:1"]
    consuming.ended(committed=False)  # (a lost connection: retried)
    assert consuming.consume([], [run]) == ["node:1"]
    consuming.ended(committed=True)
    assert consuming.consume([], [run]) == []
    consuming.ended(committed=True)


def test_a_watch_waits_for_the_transaction_closing_its_run_to_end() -> None:
    consuming = Consuming()
    run = ("w", "r1")
    assert consuming.consume([], [run]) == []  # closing `run`, not committed yet
    registered = threading.Event()
    watcher = threading.Thread(target=lambda: (consuming.watch("node:2", run), registered.set()))
    watcher.start()
    assert not registered.wait(0.2)  # it waits while the close is in flight
    consuming.ended(committed=True)
    assert registered.wait(5)
    watcher.join(5)


@pytest.mark.timeout(60)
def test_an_answer_read_twice_is_handed_on_once_and_leaves_no_callback(
    pair: tuple[Engine, Engine],
) -> None:
    """(Two reads queued for one answer: its NOTIFY and a reconnection's look, say.)"""
    a, b = pair
    [wid] = _of(b, 1, "closed")
    b.start(flows.kid, 1, 0.0, workflow_id=wid)
    b.result(wid, timeout=30)
    spread = a._parts.queues._spread  # type: ignore[union-attr]  # noqa: SLF001 - its answers
    answers = spread._answers  # type: ignore[union-attr]  # noqa: SLF001
    request_id = new_request_id()
    call = NodeCall("watch", wid, run_id=b.describe(wid).run_id)
    a.store.put_requests([(request_id, partition_of(wid, 64), call.encode())])  # type: ignore[attr-defined]
    until(lambda: _answered(a, request_id))  # b answered: the run had closed
    told: list[object] = []
    spread.follow(request_id, told.append)  # type: ignore[union-attr]
    spread.follow(request_id, told.append)  # type: ignore[union-attr]
    until(lambda: told)
    spread._lane.close()  # type: ignore[union-attr]  # noqa: SLF001 - every read done
    assert told == [None]
    assert request_id not in answers._then  # noqa: SLF001


def _answered(engine: Engine, request_id: str) -> bool:
    store: Any = engine.store
    sql = "SELECT count(*) FROM {}.answers WHERE id = %s"
    found = store._read(lambda c, s: c.execute(sql.format(s), (request_id,)).fetchone()[0])  # noqa: SLF001
    return bool(found)


@pytest.mark.timeout(60)
def test_a_child_started_here_while_its_partition_left_is_followed_from_afar(
    pair: tuple[Engine, Engine],
) -> None:
    """A child's ending reaches a parent held here through this node, or — its partition
    moved away before `together` registered it, after the move's look — through a watch
    of its new owner; never through nobody."""
    a, b = pair
    [parent] = _of(a, 1, "parent")
    [child] = _of(b, 1, "child")
    handle = b.start(flows.waiter, 1, workflow_id=child)  # (its partition is b's now)
    elsewhere = a._parts.runs._endings.elsewhere  # type: ignore[union-attr]  # noqa: SLF001 - probe
    link = {"workflow_id": parent, "run_id": "p1", "child_run_id": handle.run_id}
    started = ev.ChildStarted(
        child_workflow_id=child, child_run_id=handle.run_id, workflow_type="waiter"
    )
    elsewhere.together(RunKey(parent, "p1"), started, link)
    assert elsewhere._together == {}  # noqa: SLF001 - not left for a move that has passed
    until(lambda: _requests_left(a) == 1)  # its watch waits on b for the child to close
    b.terminate(child, "enough")
    until(lambda: _requests_left(a) == 0)  # answered by the append that closed it


@pytest.mark.timeout(60)
def test_a_child_whose_start_was_not_recorded_when_its_partition_left_is_started_there(
    pair: tuple[Engine, Engine],
) -> None:
    """Its local start was still in flight (or refused by the fence) when the partition
    moved: the parent's node asks the new owner to start it — once, whichever start
    got recorded — and follows it; the parent is never left with a child nobody has."""
    a, b = pair
    [keeper, parent] = _of(a, 2, "keeper")
    [child, other] = _of(b, 2, "child")
    a.start(flows.keeper, other, workflow_id=keeper)  # (a real ChildStarted, to copy)
    until(lambda: any(isinstance(e, ev.ChildStarted) for e in a.history(keeper)))
    recorded = next(e for e in a.history(keeper) if isinstance(e, ev.ChildStarted))
    started = ev.ChildStarted(
        child_workflow_id=child,
        child_run_id="c1",
        workflow_type=recorded.workflow_type,
        input=recorded.input,
    )
    elsewhere = a._parts.runs._endings.elsewhere  # type: ignore[union-attr]  # noqa: SLF001 - probe
    link = {"workflow_id": parent, "run_id": "p1", "child_run_id": "c1"}
    elsewhere.together(RunKey(parent, "p1"), started, link)  # never started: b starts it
    until(lambda: _run_id(b, child) == "c1")
    for i in range(5):
        b.signal(child, "item", str(i))
    assert b.result(child, timeout=30) == ["0", "1", "2", "3", "4"]
    a.terminate(keeper, "enough")
    until(lambda: _requests_left(a) == 0)  # the start and the watch answered


def _run_id(engine: Engine, workflow_id: str) -> str | None:
    try:
        return engine.describe(workflow_id).run_id
    except WorkflowNotFound:
        return None


class _CommitsAfterFirst:
    """A connection that commits `other` right after its first statement: an owner's
    answer committed while the caller reads."""

    def __init__(self, conn: Any, other: Any) -> None:
        self._conn, self._other, self._calls = conn, other, 0

    def execute(self, *args: Any) -> Any:
        result = self._conn.execute(*args)
        self._calls += 1
        if self._calls == 1:
            self._other.commit()
        return result


@pytest.mark.timeout(60)
def test_an_answer_committed_while_its_caller_reads_is_never_read_as_taken_before(
    pg_url: str,
) -> None:
    """(Read in two statements, such an answer was lost: the caller was told success, no
    value — a query answered None, a second terminate "done" instead of `WorkflowClosed`.)"""
    with Engine.open(pg_url, workers=1, node_id="solo"):
        pass  # (the schema; no node applies what follows)
    request_id = new_request_id()
    with (
        psycopg.connect(pg_url, autocommit=True) as caller,
        psycopg.connect(pg_url) as owner,
    ):
        _requests.put(caller, "aion", "solo", [(request_id, 7, b"call")])
        assert _requests.answer(owner, "aion", request_id, b"the answer")  # not committed
        seen = _requests.take_answer(_CommitsAfterFirst(caller, owner), "aion", request_id)
        assert seen != (True, None), "an answer committed meanwhile was read as taken before"
        if seen == (False, None):  # read before the answer: it comes with the next look
            seen = _requests.take_answer(caller, "aion", request_id)
        assert seen == (True, b"the answer")
