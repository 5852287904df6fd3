"""What a committed event asks of the engine (`acting.act`), kind by kind: the action
table must send each kind where the old `isinstance` ladder did, and nowhere else."""

from __future__ import annotations

from typing import Any

import pytest

from aion_actors.core import RunKey
from aion_actors.core import events as ev
from aion_actors.runtime import acting
from aion_actors.runtime.ledger import Ledger

KEY = RunKey("w", "r")
STARTED = ev.WorkflowStarted(workflow_type="t", input=[], run_id="r", version="v")


class Host:
    """Records what `act` asks of the engine, by method name."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *args: self.calls.append((name, args[-1] if args else None))


def _act(event: ev.Event, ledger: Ledger | None = None) -> tuple[list[str], list[ev.Event]]:
    host = Host()
    ledger = ledger or Ledger([STARTED])
    ledger.apply(event)
    follow = acting.act(host, KEY, ledger, event)  # type: ignore[arg-type]
    return [name for name, _ in host.calls], follow


@pytest.mark.parametrize(
    ("event", "asked"),
    [
        (ev.ActivityCompleted(activity_id="a"), []),
        (ev.TimerFired(timer_id="t"), []),
        (ev.TimerStarted(timer_id="t", fire_at=5), ["arm_timer"]),
        (ev.ActivityAttemptFailed(activity_id="a", attempt=1, error={}), []),
        (ev.ActivityAttemptFailed(activity_id="a", attempt=1, error={}, retry_at=9), ["arm_timer"]),
        (ev.ActivityHandedOff(activity_id="a", attempt=1), []),
        (ev.ActivityHandedOff(activity_id="a", attempt=1, timeout_at=9), ["arm_timer"]),
        (
            ev.ChildStarted(child_workflow_id="c", child_run_id="cr", workflow_type="t"),
            ["start_child"],
        ),
        (
            ev.ExternalRequested(request_id="q", target_workflow_id="o", action="signal"),
            ["request_external"],
        ),
        (ev.ActivityCancelRequested(activity_id="a"), ["cancel_attempt"]),
        (STARTED, []),
        (
            ev.WorkflowStarted(
                workflow_type="t", input=[], run_id="r", version="v", run_deadline=7
            ),
            ["arm_timer"],
        ),
        (ev.WorkflowCompleted(), ["run_closed"]),
        (ev.RunParked(reason="bug"), ["run_closed"]),
        (ev.RunResumed(), []),
        (ev.WorkflowCancelRequested(), []),
    ],
)
def test_each_committed_kind_asks_the_engine_for_its_own_action_only(
    event: ev.Event, asked: list[str]
) -> None:
    assert _act(event)[0] == asked


def test_an_ending_cancels_the_open_children_then_closes_the_run() -> None:
    ledger = Ledger([STARTED])
    ledger.apply(ev.ChildStarted(child_workflow_id="c", child_run_id="cr", workflow_type="t"))
    assert _act(ev.WorkflowTerminated(reason="ops"), ledger)[0] == ["cancel_children", "run_closed"]
    assert _act(ev.WorkflowCompleted(), ledger)[0] == ["run_closed"]  # completion: they go on


def test_a_scheduled_activity_is_dispatched_and_its_first_attempt_arms_its_deadline() -> None:
    scheduled = ev.ActivityScheduled(activity_id="a", name="n", input=[], deadline=9)
    assert _act(scheduled)[0] == ["arm_timer", "dispatch"]
    again = ev.ActivityScheduled(activity_id="a", name="n", input=[], attempt=2, deadline=9)
    assert _act(again)[0] == ["dispatch"]
