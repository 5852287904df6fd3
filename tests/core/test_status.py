"""Status is projected from history: the last lifecycle event decides, terminal is final."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aion_actors.core import Event, WorkflowStatus, status_from_events
from aion_actors.core import events as ev
from tests.core.strategies import EVENTS

ERROR = {"type": "E", "message": "m"}
STARTED = ev.WorkflowStarted(workflow_type="t", input=None, run_id="r", version="1")
TERMINAL: dict[WorkflowStatus, Event] = {
    WorkflowStatus.COMPLETED: ev.WorkflowCompleted(result=1),
    WorkflowStatus.FAILED: ev.WorkflowFailed(error=ERROR),
    WorkflowStatus.CANCELLED: ev.WorkflowCancelled(),
    WorkflowStatus.TERMINATED: ev.WorkflowTerminated(),
    WorkflowStatus.TIMED_OUT: ev.WorkflowTimedOut(),
    WorkflowStatus.CONTINUED_AS_NEW: ev.WorkflowContinuedAsNew(next_run_id="r2", input=None),
}


def test_empty_history_is_running() -> None:
    assert status_from_events([]) is WorkflowStatus.RUNNING


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_each_terminal_event_gives_its_status(status: WorkflowStatus) -> None:
    assert status_from_events([STARTED, TERMINAL[status]]) is status
    assert status.is_terminal


def test_supervision_events_park_and_resume() -> None:
    parked = [STARTED, ev.RunParked(reason="exhausted")]
    assert status_from_events(parked) is WorkflowStatus.PARKED
    assert status_from_events([*parked, ev.RunResumed()]) is WorkflowStatus.RUNNING
    assert not WorkflowStatus.PARKED.is_terminal and not WorkflowStatus.RUNNING.is_terminal


def test_events_that_are_not_lifecycle_events_change_nothing() -> None:
    history = [
        STARTED,
        ev.RunParked(reason="x"),
        ev.WorkflowCancelRequested(reason="r"),
        ev.RunCrashed(pid=1, error=ERROR),
        ev.RunRestarted(pid=2, attempt=1),
        ev.ActivityFailed(activity_id="a", error=ERROR),
        ev.SignalReceived(name="s"),
    ]
    assert status_from_events(history) is WorkflowStatus.PARKED


def test_terminal_status_never_changes() -> None:
    history = [STARTED, ev.WorkflowFailed(error=ERROR), ev.RunResumed(), STARTED]
    history += [ev.RunParked(reason="x"), ev.WorkflowCompleted()]
    assert status_from_events(history) is WorkflowStatus.FAILED


@given(st.lists(EVENTS, max_size=8), st.sampled_from(sorted(TERMINAL)), st.lists(EVENTS))
def test_the_first_terminal_event_decides_for_good(
    before: list[Event], status: WorkflowStatus, after: list[Event]
) -> None:
    prior = status_from_events(before)
    expected = prior if prior.is_terminal else status
    assert status_from_events([*before, TERMINAL[status], *after]) is expected


@given(st.lists(EVENTS, max_size=8))
def test_the_last_lifecycle_event_decides_until_terminal(history: list[Event]) -> None:
    lifecycle = [e for e in history if type(e).lifecycle]
    status = status_from_events(history)
    if not lifecycle:
        assert status is WorkflowStatus.RUNNING
    elif not any(status_from_events([e]).is_terminal for e in lifecycle):
        assert status is status_from_events(lifecycle[-1:])
