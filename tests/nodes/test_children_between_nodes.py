"""Children and `ctx` requests whose run falls in another node's partition: started,
signalled and cancelled through that node's owner, exactly once, and a child's ending
reaches its parent on the other node."""

from __future__ import annotations

import pytest

from aion_actors import Engine, WorkflowStatus
from aion_actors.core import events as ev
from tests.nodes import flows
from tests.nodes.conftest import OPTS
from tests.nodes.test_calls_between_nodes import _of, _requests_left, _until


def _runs_of(engine: Engine, workflow_id: str) -> list[str]:
    return [r.run_id for r in engine.store.runs() if r.workflow_id == workflow_id]


@pytest.mark.timeout(60)
def test_children_on_another_node_start_once_there_and_their_endings_reach_the_parent(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    [pid] = _of(a, 1, "p")
    kids = _of(b, 4, "k")
    handle = a.start(flows.parent, kids, 0.2, workflow_id=pid)
    assert handle.result(timeout=40) == [2, 4, 6, 101]
    for kid in kids[:-1]:
        [started] = [e for e in b.history(kid) if isinstance(e, ev.WorkflowStarted)]
        assert started.parent and started.parent["workflow_id"] == pid
        assert len(_runs_of(b, kid)) == 1
    assert len(_runs_of(b, kids[-1])) == 2  # the relay continued as new once
    history = a.history(pid)
    closed = [e for e in history if isinstance(e, ev.ChildCompleted)]
    assert sorted(e.child_workflow_id for e in closed) == sorted(kids)
    assert len([e for e in history if isinstance(e, ev.ChildRunStarted)]) == 1
    _until(lambda: _requests_left(a) == 0)


@pytest.mark.timeout(60)
def test_a_ctx_signal_to_a_run_on_another_node_is_recorded_there_once(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    [target] = _of(b, 1, "t")
    [asker] = _of(a, 1, "s")
    b.start(flows.waiter, 3, workflow_id=target)
    assert a.start(flows.teller, target, ["x", "y", "z"], workflow_id=asker).result(20) == 3
    assert b.result(target, timeout=20) == ["x", "y", "z"]
    signals = [e for e in b.history(target) if isinstance(e, ev.SignalReceived)]
    assert [s.payload for s in signals] == ["x", "y", "z"]
    done = [e for e in a.history(asker) if isinstance(e, ev.ExternalRequestDone)]
    assert len(done) == 3 and all(e.error is None for e in done)


@pytest.mark.timeout(60)
def test_a_ctx_signal_to_a_closed_run_on_another_node_fails_the_asker_with_its_reason(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    [target] = _of(b, 1, "c")
    [asker] = _of(a, 1, "f")
    b.start(flows.waiter, 0, workflow_id=target).result(timeout=20)
    handle = a.start(flows.teller, target, ["late"], workflow_id=asker)
    with pytest.raises(Exception) as caught:
        handle.result(timeout=20)
    assert "WorkflowClosed" in str(caught.value) or "closed" in str(caught.value)
    [done] = [e for e in a.history(asker) if isinstance(e, ev.ExternalRequestDone)]
    assert done.error is not None and done.error["type"] == "WorkflowClosed"


@pytest.mark.timeout(60)
def test_cancelling_a_parent_cancels_its_child_on_another_node(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    [pid] = _of(a, 1, "q")
    [kid] = _of(b, 1, "r")
    a.start(flows.keeper, kid, workflow_id=pid)
    _until(lambda: bool(_runs_of(b, kid)))
    a.cancel(pid, reason="enough")
    _until(lambda: b.describe(kid).status is WorkflowStatus.CANCELLED)
    assert a.describe(pid).status is WorkflowStatus.CANCELLED
    _until(lambda: _requests_left(a) == 0)


def _answers(engine: Engine) -> list[str]:
    store = engine.store
    rows = store._read(lambda c, s: c.execute(f"SELECT id FROM {s}.answers").fetchall())  # type: ignore[attr-defined]  # noqa: SLF001
    return [r[0] for r in rows]


@pytest.mark.timeout(60)
def test_answers_whose_caller_is_gone_are_deleted_when_a_node_takes_partitions(
    pg_url: str,
) -> None:
    with Engine.open(pg_url, node_id="a", **OPTS) as a:  # type: ignore[arg-type]
        _until(lambda: a.stats()["partitions"] == 64)
        store = a.store

        def put(c, s):  # type: ignore[no-untyped-def]
            c.execute(
                f"INSERT INTO {s}.answers VALUES ('node:ghost', 'gone-node', 0, ''::bytea),"
                f" ('node:mine', 'a', (extract(epoch from now()) * 1e9)::bigint, ''::bytea)"
            )

        store._writing(lambda c: put(c, store.target.schema))  # type: ignore[attr-defined]  # noqa: SLF001
        with Engine.open(pg_url, node_id="b", **OPTS) as b:  # type: ignore[arg-type]
            _until(lambda: b.stats()["partitions"] == 32)
            _until(lambda: _answers(a) == ["node:mine"])
