"""Conformance: the run index and the timers are projections of history."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aion_actors.core import Event, PayloadError, WorkflowClosed, WorkflowStatus, status_from_events
from aion_actors.core import events as ev
from aion_actors.store import DueTimer, EventStore, RunSummary
from tests.core.strategies import EVENTS
from tests.store.helpers import signals, started

ERROR = {"type": "E", "message": "m"}


def test_workflow_started_creates_the_summary(store: EventStore) -> None:
    parent = {"workflow_id": "p", "run_id": "pr"}
    store.append("w", "r1", [started("ship", parent=parent), *signals(2)], 0)
    summary = store.get_run("w", "r1")
    assert summary is not None
    first = store.read("w", "r1")[0]
    assert (summary.workflow_id, summary.run_id, summary.workflow_type) == ("w", "r1", "ship")
    assert summary.status is WorkflowStatus.RUNNING
    assert summary.started_at == first.recorded_at and summary.ended_at is None
    assert (summary.head, summary.version, summary.restarts) == (3, "v1", 0)
    assert summary.parent == parent


def test_terminal_events_end_the_run_and_restarts_are_counted(store: EventStore) -> None:
    store.append("w", "r1", [started()], 0)
    store.append(
        "w", "r1", [ev.RunCrashed(pid=1, error=ERROR), ev.RunRestarted(pid=2, attempt=1)], 1
    )
    store.append("w", "r1", [ev.RunRestarted(pid=3, attempt=2), ev.WorkflowFailed(error=ERROR)], 3)
    summary = store.get_run("w", "r1")
    assert summary is not None
    last = store.read("w", "r1")[-1]
    assert summary.status is WorkflowStatus.FAILED and summary.ended_at == last.recorded_at
    assert summary.restarts == 2 and summary.head == 5


def ids(summaries: list[RunSummary]) -> list[str]:
    return [s.workflow_id for s in summaries]


def test_run_index_filters(store: EventStore) -> None:
    store.append("a", "r1", [started("checkout")], 0)
    store.append("b", "r1", [started("checkout"), ev.WorkflowCompleted(result=1)], 0)
    store.append("c", "r1", [started("ship"), ev.RunParked(reason="x")], 0)
    store.append("d", "r1", [started("ship"), ev.WorkflowCancelled()], 0)
    assert ids(store.runs()) == ["a", "b", "c", "d"]
    assert ids(store.runs(status=WorkflowStatus.RUNNING)) == ["a"]
    assert ids(store.runs(workflow_type="ship")) == ["c", "d"]
    assert ids(store.runs(WorkflowStatus.COMPLETED, "checkout")) == ["b"]
    assert ids(store.runs(WorkflowStatus.COMPLETED, "ship")) == []


def test_open_runs_exclude_terminal_ones(store: EventStore) -> None:
    store.append("a", "r1", [started()], 0)
    store.append("b", "r1", [started(), ev.RunParked(reason="exhausted")], 0)
    store.append("c", "r1", [started(), ev.RunParked(reason="x"), ev.RunResumed()], 0)
    for index, end in enumerate(
        [
            ev.WorkflowCompleted(),
            ev.WorkflowFailed(error=ERROR),
            ev.WorkflowCancelled(),
            ev.WorkflowTerminated(),
            ev.WorkflowTimedOut(),
            ev.WorkflowContinuedAsNew(next_run_id="n", input=None),
        ]
    ):
        store.append(f"t{index}", "r1", [started(), end], 0)
    opened = store.open_runs()
    assert [(s.workflow_id, s.status) for s in opened] == [
        ("a", WorkflowStatus.RUNNING),
        ("b", WorkflowStatus.PARKED),
        ("c", WorkflowStatus.RUNNING),
    ]


def test_latest_run_is_the_most_recently_started(store: EventStore) -> None:
    assert store.latest_run("w") is None
    store.append(
        "w",
        "zzz",
        [started(run_id="zzz"), ev.WorkflowContinuedAsNew(next_run_id="aaa", input=1)],
        0,
    )
    store.append("w", "aaa", [started(run_id="aaa")], 0)
    store.append("w2", "bbb", [started(run_id="bbb")], 0)
    store.append("w-longer", "ccc", [started(run_id="ccc")], 0)
    latest = store.latest_run("w")
    assert latest is not None and latest.run_id == "aaa"
    assert store.latest_run("w-") is None


def test_a_run_without_workflow_started_is_still_indexed(store: EventStore) -> None:
    store.append("w", "r1", signals(2), 0)
    summary = store.get_run("w", "r1")
    assert summary is not None and summary.workflow_type == "" and summary.head == 2


_RUNS = itertools.count()


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(EVENTS, min_size=1, max_size=4), min_size=1, max_size=4))
def test_the_indexed_status_always_agrees_with_history(
    store: EventStore, appends: list[list[Event]]
) -> None:
    run = f"run-{next(_RUNS)}"
    head = 0
    for events in appends:
        try:
            head = store.append("w", run, events, head)
        except PayloadError:
            continue  # hypothesis ids may not fit a timer key; that append wrote nothing
        except WorkflowClosed:
            continue  # an event after the run's end: refused, nothing written
    history = store.read("w", run)
    summary = store.get_run("w", run)
    assert (summary.head if summary else 0) == len(history) == head
    if summary:
        assert summary.status is status_from_events(history)
        assert summary.restarts == sum(isinstance(e, ev.RunRestarted) for e in history)


# Timers


def test_due_timers_are_ordered_with_an_inclusive_boundary(store: EventStore) -> None:
    store.schedule_timer("w", "r1", "late", 300)
    store.schedule_timer("w", "r1", "early", 100)
    store.schedule_timer("w2", "r9", "middle", 200)
    assert store.due_timers(99) == []
    assert store.due_timers(100) == [DueTimer("w", "r1", "early", 100)]
    assert [t.timer_id for t in store.due_timers(300)] == ["early", "middle", "late"]
    assert [t.timer_id for t in store.due_timers(10**30, limit=2)] == ["early", "middle"]
    assert store.next_timer() == DueTimer("w", "r1", "early", 100)


def test_rescheduling_replaces_and_cancelling_removes(store: EventStore) -> None:
    store.schedule_timer("w", "r1", "t", 100)
    store.schedule_timer("w", "r1", "t", 500)
    assert store.due_timers(499) == []
    assert store.due_timers(500) == [DueTimer("w", "r1", "t", 500)]
    store.cancel_timer("w", "r1", "t")
    store.cancel_timer("w", "r1", "never-scheduled")
    assert store.due_timers(10**30) == [] and store.next_timer() is None


def test_timer_arguments_are_checked(store: EventStore) -> None:
    with pytest.raises(PayloadError, match="fire_at"):
        store.schedule_timer("w", "r1", "t", -1)
    with pytest.raises(PayloadError, match="timer_id"):
        store.schedule_timer("w", "r1", "x" * 200 + "\x00", 1)
    with pytest.raises(PayloadError, match="timer key limit"):
        store.schedule_timer("w" * 200, "r" * 200, "t" * 200, 1)
    with pytest.raises(PayloadError, match="fire_at"):
        store.append("w", "r1", [ev.TimerStarted(timer_id="t", fire_at=2**64)], 0)
    assert store.next_timer() is None and store.head("w", "r1") == 0


def test_timer_events_schedule_and_cancel(store: EventStore) -> None:
    store.append("w", "r1", [started(), ev.TimerStarted(timer_id="a", fire_at=10)], 0)
    store.append("w", "r1", [ev.TimerStarted(timer_id="b", fire_at=20)], 2)
    store.append("w", "r1", [ev.TimerStarted(timer_id="c", fire_at=30)], 3)
    assert [t.timer_id for t in store.due_timers(100)] == ["a", "b", "c"]
    store.append("w", "r1", [ev.TimerFired(timer_id="a"), ev.TimerCancelled(timer_id="c")], 4)
    assert store.due_timers(100) == [DueTimer("w", "r1", "b", 20)]


def test_activity_retries_are_timers(store: EventStore) -> None:
    failed = ev.ActivityAttemptFailed(activity_id="a1", attempt=1, error=ERROR, retry_at=50)
    no_retry = ev.ActivityAttemptFailed(activity_id="a2", attempt=3, error=ERROR)
    store.append("w", "r1", [started(), failed, no_retry], 0)
    assert store.due_timers(100) == [DueTimer("w", "r1", "retry:a1", 50)]
    again = ev.ActivityScheduled(activity_id="a1", name="charge", input=None, attempt=2)
    store.append("w", "r1", [again], 3)
    assert store.due_timers(100) == []


def _handed_off(activity_id: str, timeout_at: int | None) -> ev.ActivityHandedOff:
    return ev.ActivityHandedOff(
        activity_id=activity_id, attempt=1, timeout=1.0, timeout_at=timeout_at
    )


def test_a_handed_off_attempt_with_a_timeout_is_a_timer_until_the_attempt_closes(
    store: EventStore,
) -> None:
    scheduled = [
        ev.ActivityScheduled(activity_id=a, name="n", input=None) for a in ("1", "2", "3", "4")
    ]
    handed_off = [_handed_off(a, 10 * int(a)) for a in ("1", "2", "3", "4")]
    untimed = ev.ActivityHandedOff(activity_id="5", attempt=1)  # no timeout: no timer
    store.append("w", "r1", [started(), *scheduled, *handed_off, untimed], 0)
    assert [(t.timer_id, t.fire_at) for t in store.due_timers(100)] == [
        ("attempt:1", 10),
        ("attempt:2", 20),
        ("attempt:3", 30),
        ("attempt:4", 40),
    ]
    closings = [
        ev.ActivityCompleted(activity_id="1", result=1),
        ev.ActivityAttemptFailed(activity_id="2", attempt=1, error=ERROR, retry_at=90),
        ev.ActivityFailed(activity_id="3", error=ERROR),
    ]
    store.append("w", "r1", closings, 10)
    assert [t.timer_id for t in store.due_timers(100)] == ["attempt:4", "retry:2"]
    retried = ev.ActivityScheduled(activity_id="2", name="n", input=None, attempt=2)
    store.append("w", "r1", [retried, ev.WorkflowCompleted()], 13)
    assert store.due_timers(100) == []


def test_a_hand_off_timeout_that_is_no_time_is_refused_naming_it(store: EventStore) -> None:
    with pytest.raises(PayloadError, match=r"ActivityHandedOff\.timeout_at"):
        store.append("w", "r1", [started(), _handed_off("1", -5)], 0)
    assert store.head("w", "r1") == 0 and store.next_timer() is None


def test_the_end_of_a_run_cancels_all_its_timers(store: EventStore) -> None:
    store.append("w", "r1", [started(), ev.TimerStarted(timer_id="a", fire_at=10)], 0)
    store.append("w", "r10", [started(), ev.TimerStarted(timer_id="x", fire_at=15)], 0)
    store.schedule_timer("w", "r1", "manual", 20)
    failed = ev.ActivityAttemptFailed(activity_id="a1", attempt=1, error=ERROR, retry_at=30)
    store.append("w", "r1", [failed], 2)
    assert len(store.due_timers(100)) == 4
    with pytest.raises(WorkflowClosed):  # nothing may follow an end, not even in its append
        store.append(
            "w", "r1", [ev.WorkflowCompleted(), ev.TimerStarted(timer_id="late", fire_at=5)], 3
        )
    store.append("w", "r1", [ev.WorkflowCompleted()], 3)
    with pytest.raises(WorkflowClosed):
        store.append("w", "r1", [ev.TimerStarted(timer_id="late", fire_at=5)], 4)
    assert store.due_timers(100) == [DueTimer("w", "r10", "x", 15)]


def _opening(**deadlines: int) -> Event:
    return ev.WorkflowStarted(
        workflow_type="w", input=[], run_id="r1", version="v1", run_timeout=1.5, **deadlines
    )


def test_workflow_started_schedules_its_timeouts_and_its_end_cancels_them(
    store: EventStore,
) -> None:
    store.append("w", "r1", [_opening(execution_deadline=40, run_deadline=30)], 0)
    store.append("w", "r2", [started(run_id="r2")], 0)  # no timeouts: no timers
    assert store.due_timers(100) == [
        DueTimer("w", "r1", "timeout:run", 30),
        DueTimer("w", "r1", "timeout:execution", 40),
    ]
    store.append("w", "r1", [ev.WorkflowTimedOut(timeout="run", reason="late")], 1)
    assert store.due_timers(100) == []
    assert store.get_run("w", "r1").status is WorkflowStatus.TIMED_OUT  # type: ignore[union-attr]
    with pytest.raises(WorkflowClosed):  # exactly once: nothing follows the end
        store.append("w", "r1", [ev.WorkflowTimedOut(timeout="execution")], 2)


def test_a_timeout_deadline_that_is_no_time_is_refused_naming_it(store: EventStore) -> None:
    with pytest.raises(PayloadError, match="execution_deadline"):
        store.append("w", "r1", [_opening(execution_deadline=-1)], 0)
    with pytest.raises(PayloadError, match="run_deadline"):
        store.append("w", "r1", [_opening(run_deadline=2**64)], 0)
    assert store.head("w", "r1") == 0 and store.next_timer() is None
