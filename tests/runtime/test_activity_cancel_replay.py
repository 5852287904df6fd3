"""A cancel that reaches an activity replays the same: from history, never from the code now."""

from __future__ import annotations

from aion_actors.core import events as ev
from aion_actors.core import new_run_id, stamp
from aion_actors.runtime.activity_cancel import ActivityCancels
from aion_actors.runtime.machine import Machine
from tests.runtime import heartbeat_flows as hb

RUN = new_run_id()


def _history(*events: ev.Event) -> list[ev.Event]:
    opening = ev.WorkflowStarted(
        workflow_type="awaits", input=["cancel_wait", "ledger"], run_id=RUN, version="v"
    )
    return [stamp(e, seq, seq * 1000) for seq, e in enumerate((opening, *events), start=1)]


def _machine(history: list[ev.Event], mode: str) -> Machine:
    return Machine(hb.awaits, "w", RUN, history, cancels=ActivityCancels(lambda _name: mode))


SCHEDULED = ev.ActivityScheduled(activity_id="1", name="cancel_wait", input=["ledger"])
CANCEL = ev.WorkflowCancelRequested(reason="stop")
REQUESTED = ev.ActivityCancelRequested(activity_id="1", mode="wait")
ERROR = {"type": "ActivityCancelled", "message": "cancelled"}


def test_cancel_wait_records_one_request_and_holds_cancelled_until_the_activity_ends() -> None:
    machine = _machine(_history(SCHEDULED, CANCEL), "wait")
    assert [e.kind for e in machine.advance()] == ["ActivityCancelRequested"]
    assert not machine.finished
    machine.feed(_history(SCHEDULED, CANCEL, REQUESTED)[-1:])
    assert machine.advance() == []  # the activity still runs: nothing more, no second request
    ended = _history(
        SCHEDULED,
        CANCEL,
        REQUESTED,
        ev.ActivityAttemptFailed(activity_id="1", attempt=1, error=ERROR),
        ev.ActivityFailed(activity_id="1", error=ERROR),
    )
    machine.feed(ended[-2:])
    assert [e.kind for e in machine.advance()] == ["WorkflowCancelled"]


def test_a_recorded_request_keeps_its_mode_whatever_the_activity_says_now() -> None:
    # recorded under cancel="wait"; the code now says "try": the replay still waits
    machine = _machine(_history(SCHEDULED, CANCEL, REQUESTED), "try")
    assert machine.advance() == [] and not machine.finished


def test_cancel_try_records_the_request_and_raises_at_once() -> None:
    machine = _machine(_history(SCHEDULED, CANCEL), "try")
    assert [e.kind for e in machine.advance()] == ["ActivityCancelRequested", "WorkflowCancelled"]


def test_cancel_abandon_records_nothing_for_the_activity() -> None:
    machine = _machine(_history(SCHEDULED, CANCEL), "abandon")
    assert [e.kind for e in machine.advance()] == ["WorkflowCancelled"]
