"""The run table's invariants, on the table alone: no actors, no store, no threads."""

from __future__ import annotations

import pytest

from aion_actors.core import RunKey, TimerId, WorkflowAlreadyStarted
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.host import Handoff
from aion_actors.runtime.runs.entry import Presence
from aion_actors.runtime.runs.table import RunTable
from aion_actors.runtime.runs.wakes import wake

KEY = RunKey("order-1", "run-a")
STARTED = ev.WorkflowStarted(workflow_type="t", input=[], run_id="run-a", version="v")


def _live(table: RunTable, key: RunKey = KEY) -> int:
    """A reserved, started, LIVE run; returns its generation."""
    assert table.reserve(key, "t", "v", None, refuse_open=True) is not None
    generation = table.admit(key, Handoff([STARTED]))
    assert generation is not None
    assert table.incarnated(key, generation, ref="actor") is not None
    return generation


def test_a_second_start_of_an_open_workflow_id_is_refused() -> None:
    table = RunTable()
    table.reserve(KEY, "t", "v", None, refuse_open=True)
    with pytest.raises(WorkflowAlreadyStarted):
        table.reserve(RunKey("order-1", "run-b"), "t", "v", None, refuse_open=True)


def test_closing_frees_the_workflow_id_before_its_waiters_are_woken() -> None:
    table = RunTable()
    _live(table)
    watched = table.watch(KEY)
    assert watched is not None
    entry, latch = watched
    closing = ev.WorkflowCompleted(result=1)
    closed = table.close(KEY, closing)
    assert closed is not None and closed.entry is entry
    # in one step: closed, the id free; the waiters are handed back, to be woken after
    assert entry.closing is closing and closed.watchers == [latch] and not latch.is_set()
    assert table.open_run("order-1") is None and table.get(KEY) is None
    wake(KEY, closing, closed.watchers, closed.callbacks)  # (`Wakes`: here, or its lane)
    assert latch.is_set()  # a woken waiter finds the id free already
    assert table.reserve(RunKey("order-1", "run-b"), "t", "v", None, refuse_open=True)


def test_a_withdrawn_start_gives_the_workflow_id_back_to_the_run_it_displaced() -> None:
    table = RunTable()
    table.reserve(KEY, "t", "v", None, refuse_open=False)
    other = RunKey("order-1", "run-b")
    table.reserve(other, "t", "v", None, refuse_open=False)
    assert table.open_run("order-1") == "run-b"
    table.withdraw(other)
    assert table.open_run("order-1") == "run-a"


def test_continue_as_new_hands_the_workflow_id_to_the_successor_without_a_gap() -> None:
    table = RunTable()
    _live(table)
    successor = table.reserve(
        RunKey("order-1", "run-b"), "t", "v", None, refuse_open=False, successor=True
    )
    assert successor is not None
    assert table.open_run("order-1") == "run-a"  # reserved, not yet the open run
    table.close(KEY, ev.WorkflowContinuedAsNew(next_run_id="run-b", input=[]), successor=successor)
    assert table.open_run("order-1") == "run-b"
    with pytest.raises(WorkflowAlreadyStarted):
        table.reserve(RunKey("order-1", "run-c"), "t", "v", None, refuse_open=True)


def test_messages_wait_between_incarnations_and_reach_the_next_in_order() -> None:
    table = RunTable()
    generation = _live(table)
    assert table.lost(KEY, generation)  # its actor died
    entry = table.get(KEY)
    assert entry is not None and entry.presence is Presence.STARTING
    first, second = msg.TimerDue(TimerId.sleep(1)), msg.TimerDue(TimerId.sleep(2))
    for message in (first, second, first):  # a repeat is dropped
        table.hold(entry, message)
    got = table.incarnated(KEY, generation, ref="replacement")
    assert got is not None
    _incarnation, held = got
    assert held == [first, second] and entry.mailbox == []
    assert entry.presence is Presence.LIVE and entry.ref == "replacement"


def test_a_stale_incarnation_can_neither_go_live_nor_evict_nor_end_the_run() -> None:
    table = RunTable()
    old = _live(table)
    assert table.evicted(KEY, old)
    entry = table.get(KEY)
    assert entry is not None
    new = table.wake(entry)
    assert new == old + 1
    assert table.incarnated(KEY, old, ref="late") is None
    assert not table.evicted(KEY, old)
    assert not table.exited(KEY, old)
    assert not table.lost(KEY, old)
    assert entry.presence is Presence.STARTING


def test_parking_hands_back_requests_and_keeps_wakeups_for_the_resume() -> None:
    table = RunTable()
    generation = _live(table)
    table.lost(KEY, generation)
    entry = table.get(KEY)
    assert entry is not None
    signal = msg.Signal("approve", None, msg.Ack())
    timer = msg.TimerDue(TimerId.sleep(1))
    table.hold(entry, signal)
    table.hold(entry, timer)
    assert table.park(KEY, generation, "budget spent") == [signal]
    assert entry.presence is Presence.PARKED and entry.mailbox == [timer]
    assert table.resume(KEY) == generation + 1
    assert entry.pending is not None and entry.pending.resuming


def test_an_exit_with_messages_waiting_asks_for_the_run_to_come_back() -> None:
    table = RunTable()
    generation = _live(table)
    assert not table.exited(KEY, generation)  # nothing waits: it stays ABSENT
    entry = table.get(KEY)
    assert entry is not None and entry.presence is Presence.ABSENT
    assert table.wake(entry) == generation + 1
    table.hold(entry, msg.TimerDue(TimerId.sleep(1)))
    assert table.exited(KEY, generation + 1)


def test_after_shutdown_nothing_goes_live_and_held_messages_are_handed_back() -> None:
    table = RunTable()
    generation = _live(table)
    table.lost(KEY, generation)
    entry = table.get(KEY)
    assert entry is not None
    table.hold(entry, msg.TimerDue(TimerId.sleep(1)))
    assert table.shut() == [msg.TimerDue(TimerId.sleep(1))]
    assert table.incarnated(KEY, generation, ref="too late") is None
