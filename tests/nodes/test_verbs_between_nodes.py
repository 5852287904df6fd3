"""The operator verbs and the remaining start paths made on a node that does not own the
run's partition: applied once by the owner, answered as the same call made there."""

from __future__ import annotations

import asyncio
import threading

import pytest

from aion_actors import Engine, UpdateFailed
from aion_actors.aio import AsyncEngine
from aion_actors.core import events as ev
from tests.nodes import flows
from tests.nodes.test_calls_between_nodes import _of, _requests_left, _until


def _kinds(engine: Engine, wid: str, run_id: str | None = None) -> list[str]:
    return [e.kind for e in engine.history(wid, run_id)]


@pytest.mark.timeout(60)
def test_pause_and_unpause_on_the_non_owner_are_recorded_once_on_the_owner(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    [wid] = _of(b, 1, "p")
    b.start(flows.waiter, 1, workflow_id=wid)
    a.pause(wid, "hold on")
    assert _kinds(b, wid).count("RunPaused") == 1
    a.unpause(wid)
    assert _kinds(b, wid).count("RunUnpaused") == 1
    a.signal(wid, "item", "go")
    assert b.result(wid, timeout=20) == ["go"]
    _until(lambda: _requests_left(a) == 0)


@pytest.mark.timeout(60)
def test_reset_on_the_non_owner_returns_the_new_run_the_owner_started(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    [wid] = _of(b, 1, "r")
    old = b.start(flows.waiter, 2, workflow_id=wid)
    b.signal(wid, "item", "first")
    [received] = [e for e in b.history(wid) if isinstance(e, ev.SignalReceived)]
    new = a.reset(wid, received.seq, "again")
    closing = b.history(wid, old.run_id)[-1]
    assert isinstance(closing, ev.WorkflowReset) and closing.next_run_id == new.run_id
    assert b.describe(wid).run_id == new.run_id
    a.signal(wid, "item", "second")
    assert b.result(wid, timeout=20) == ["first", "second"]


@pytest.mark.timeout(60)
def test_an_update_on_the_non_owner_returns_the_handlers_answer_once_per_update_id(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    [wid] = _of(b, 1, "u")
    b.start(flows.counter, workflow_id=wid)
    assert a.update(wid, "add", 2, update_id="u1") == 2
    assert a.update(wid, "add", 2, update_id="u1") == 2  # the first answer, not run again
    assert a.update(wid, "add", 3, update_id="u2") == 5
    with pytest.raises(UpdateFailed):
        a.update(wid, "add", "x", update_id="u3")  # the handler raises on the owner
    a.signal(wid, "item", "ignored")
    b.signal(wid, "stop")
    assert b.result(wid, timeout=20) == 5
    assert _kinds(b, wid).count("UpdateAccepted") == 3


@pytest.mark.timeout(60)
def test_an_update_retried_on_the_non_owner_after_its_run_continued_as_new_answers_once(
    pair: tuple[Engine, Engine],
) -> None:
    """The owner's run that answered "u1" continued as new on it; the retry, forwarded to
    the owner, reaches the successor, which answers from its predecessor's history: the
    handler does not run again (the next update's total shows it)."""
    a, b = pair
    [wid] = _of(b, 1, "ucan")
    first = b.start(flows.tally, 0, 100, workflow_id=wid).run_id
    assert a.update(wid, "add", 2, update_id="u1") == 2
    _until(lambda: b.describe(wid).run_id != first)
    assert a.update(wid, "add", 2, update_id="u1") == 2  # the first answer, not run again
    assert a.update(wid, "add", 3) == 5
    runs = [r.run_id for r in b.list_runs() if r.workflow_id == wid]
    events = [e for run_id in runs for e in b.history(wid, run_id)]
    done = [e.update_id for e in events if isinstance(e, ev.UpdateCompleted)]
    assert done.count("u1") == 1 and len(done) == 2


@pytest.mark.timeout(60)
def test_signal_with_start_on_the_non_owner_starts_once_then_signals_the_open_run(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    [wid] = _of(b, 1, "s")
    first = a.start(flows.waiter, 2, workflow_id=wid, signal=("item", "one"))
    second = a.start(flows.waiter, 2, workflow_id=wid, signal=("item", "two"))
    assert first.run_id == second.run_id == b.describe(wid).run_id
    assert b.result(wid, timeout=20) == ["one", "two"]
    assert _kinds(b, wid).count("WorkflowStarted") == 1
    _until(lambda: _requests_left(a) == 0)


@pytest.mark.timeout(60)
def test_async_start_many_on_a_node_starts_runs_of_other_partitions_on_their_owners(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    ids = _of(a, 2, "m") + _of(b, 2, "m")

    async def start() -> list[str]:
        engine = AsyncEngine(a)
        handles = await engine.start_many(flows.waiter, [[0]] * 4, workflow_ids=ids)
        return [h.run_id for h in handles]

    run_ids = asyncio.run(start())
    assert [b.describe(w).run_id for w in ids] == run_ids
    assert all(b.result(w, timeout=20) == [] for w in ids)


@pytest.mark.timeout(60)
def test_when_closed_on_the_non_owner_calls_back_once_the_owner_closes_the_run(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    [wid] = _of(b, 1, "w")
    handle = a.start(flows.waiter, 1, workflow_id=wid)
    called = threading.Event()
    a.when_closed(wid, called.set, run_id=handle.run_id)
    assert not called.is_set()
    a.signal(wid, "item", "done")
    assert called.wait(20)


@pytest.mark.timeout(120)
def test_calls_on_the_non_owner_follow_a_continue_as_new_chain_on_the_owner(
    pair: tuple[Engine, Engine],
) -> None:
    """Updates, signals and queries made by workflow_id on a node that does not own the
    chain are applied once by the run open on the owner, whose runs continue as new on
    each: none refused as closed, none answered by a closed run."""
    a, b = pair
    updated, signalled = _of(b, 2, "chain")
    each = 15
    b.start(flows.tally, 0, 2 * each, workflow_id=updated)
    b.start(flows.tally, 0, each, workflow_id=signalled)
    answers: list[int] = []
    refused: list[BaseException] = []
    seen: list[tuple[str, str]] = []

    def call(verb: str) -> None:
        for _ in range(each):
            try:
                if verb == "update":
                    answers.append(a.update(updated, "add", 1))
                elif verb == "signal":
                    a.signal(signalled, "add", 1)
                else:
                    before = b.describe(updated).run_id
                    seen.append((before, a.query(updated, "run")))
            except Exception as exc:  # every refusal is the failure
                refused.append(exc)

    callers = [threading.Thread(target=call, args=(v,)) for v in ("update", "update", "signal")]
    asker = threading.Thread(target=call, args=("query",))
    for thread in [*callers, asker]:
        thread.start()
    for thread in [*callers, asker]:
        thread.join(timeout=100)
    assert refused == []
    assert sorted(answers) == list(range(1, 2 * each + 1))
    assert b.result(updated, timeout=30) == 2 * each
    assert b.result(signalled, timeout=30) == each
    runs = {r.run_id: r for r in b.list_runs() if r.workflow_id in (updated, signalled)}
    events = [e for r in runs.values() for e in b.history(r.workflow_id, r.run_id)]
    completed = {e.update_id for e in events if isinstance(e, ev.UpdateCompleted)}
    assert len(completed) == len([e for e in events if isinstance(e, ev.UpdateCompleted)])
    assert len(completed) == 2 * each
    assert len([e for e in events if isinstance(e, ev.SignalReceived)]) == each
    later = [(d, q) for d, q in seen if runs[q].started_at < runs[d].started_at]
    assert later == []  # (each query answered by the run describe showed, or a later one)
    _until(lambda: _requests_left(a) == 0)
