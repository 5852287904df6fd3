"""What a command records when the workflow issues it, and what replay must find.

Pure: a command and its number in, the event to record and the `Recorded`
replay compares against out. Commands that record nothing (a signal wait or a
condition without a timeout) are not issued at all.
"""

from __future__ import annotations

from collections.abc import Callable

from aion_actors.core import TimerId, new_run_id
from aion_actors.core import events as ev
from aion_actors.runtime.commands import (
    ActivityCommand,
    ChildCommand,
    ChildResultCommand,
    ConditionCommand,
    ExternalCommand,
    PartCommand,
    SignalCommand,
    TimerCommand,
)
from aion_actors.runtime.recorded import Recorded


def records(command: PartCommand) -> bool:
    """True when awaiting `command` records an event (so it takes a command number)."""
    if isinstance(command, (SignalCommand, ConditionCommand)):
        return command.timeout is not None
    return not isinstance(command, ChildResultCommand)


def command_event(
    command: PartCommand, n: int, workflow_id: str, fire_at: Callable[[float], int]
) -> tuple[Recorded, ev.Event]:
    """The event the `n`-th recorded command of the run records, and its replay key."""
    if isinstance(command, ActivityCommand):
        deadline = None if command.timeout is None else fire_at(command.timeout)
        event: ev.Event = ev.ActivityScheduled(
            activity_id=str(n),
            name=command.name,
            input=list(command.args),
            attempt=1,
            deadline=deadline,
        )
        return Recorded("activity", command.name, str(n), 0), event
    if isinstance(command, TimerCommand):
        timer_id = str(TimerId.sleep(n))
        event = ev.TimerStarted(timer_id=timer_id, fire_at=fire_at(command.seconds))
        return Recorded("timer", "sleep", timer_id, 0), event
    if isinstance(command, SignalCommand):
        assert command.timeout is not None
        timer_id = str(TimerId.signal(command.name, n))
        event = ev.TimerStarted(timer_id=timer_id, fire_at=fire_at(command.timeout))
        return Recorded("signal", command.name, timer_id, 0), event
    if isinstance(command, ConditionCommand):
        assert command.timeout is not None
        timer_id = str(TimerId.condition(n))
        event = ev.TimerStarted(timer_id=timer_id, fire_at=fire_at(command.timeout))
        return Recorded("condition", command.name, timer_id, 0), event
    if isinstance(command, ExternalCommand):
        event = ev.ExternalRequested(
            request_id=str(n),
            target_workflow_id=command.workflow_id,
            target_run_id=command.run_id,
            action=command.action,
            name=command.name,
            payload=command.payload,
            reason=command.reason,
        )
        return Recorded("external", command.target, str(n), 0), event
    assert isinstance(command, ChildCommand)
    child = ev.ChildStarted(
        child_workflow_id=command.workflow_id or f"{workflow_id}/child-{n}",
        child_run_id=new_run_id(),
        workflow_type=command.name,
        input=list(command.args),
        on_parent_close=command.on_parent_close,
        execution_deadline=command.deadline(fire_at),
        run_timeout=command.run_timeout,
        confirm=command.handle,
    )
    return Recorded("child", command.name, child.child_run_id, 0), child
