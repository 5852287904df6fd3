"""Events and runs as people read them: one-line summaries, styles and JSON-ready dicts."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

from aion_actors.core import Event
from aion_actors.core import events as ev
from aion_actors.store import RunSummary

#: how each kind is highlighted: supervision in red/yellow, outcomes in green/red.
STYLES: dict[str, str] = {
    "RunCrashed": "bold red",
    "RunRestarted": "bold yellow",
    "RunParked": "bold magenta",
    "RunResumed": "bold cyan",
    "RunPaused": "bold magenta",
    "RunUnpaused": "bold cyan",
    "WorkflowReset": "bold yellow",
    "WorkflowQueued": "bold blue",
    "RunDequeued": "bold cyan",
    "ActivityAttemptFailed": "yellow",
    "ActivityHandedOff": "cyan",
    "PatchApplied": "cyan",
    "AttributesSet": "cyan",
    "ActivityFailed": "red",
    "ActivityCancelRequested": "yellow",
    "ChildFailed": "red",
    "WorkflowFailed": "bold red",
    "WorkflowTimedOut": "bold red",
    "WorkflowTerminated": "bold red",
    "WorkflowCancelled": "yellow",
    "WorkflowCompleted": "bold green",
}
STATUS_STYLES: dict[str, str] = {
    "running": "cyan",
    "completed": "green",
    "failed": "red",
    "cancelled": "yellow",
    "terminated": "red",
    "timed_out": "red",
    "continued_as_new": "blue",
    "parked": "magenta",
    "paused": "magenta",
    "reset": "yellow",
    "queued": "blue",
}
_WIDTH = 80


def iso(ns: int | None) -> str | None:
    """Unix nanoseconds as an ISO 8601 UTC timestamp."""
    if ns is None:
        return None
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).isoformat(timespec="milliseconds")


def clock(ns: int) -> str:
    """Unix nanoseconds as local wall-clock time, to the millisecond."""
    return dt.datetime.fromtimestamp(ns / 1e9).strftime("%H:%M:%S.%f")[:-3]


def short(value: Any, width: int = _WIDTH) -> str:
    """A compact JSON rendering of a payload, cut to `width` characters."""
    text = json.dumps(value, default=json_default, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def _error(error: dict[str, Any]) -> str:
    return f"{error.get('type', 'Error')}: {error.get('message', '')}"


def _deadlines(event: ev.WorkflowStarted) -> str:
    parts = [
        f"{which} timeout at {clock(at)}"
        for which, at in (("execution", event.execution_deadline), ("run", event.run_deadline))
        if at is not None
    ]
    return f"; {', '.join(parts)}" if parts else ""


def summary(event: Event) -> str:
    """What happened, in one line."""
    match event:
        case ev.WorkflowStarted():
            parent = f", child of {event.parent.get('workflow_id')}" if event.parent else ""
            origin = event.reset_from or {}
            reset = f"; reset from run {origin['run_id']} at seq {origin['seq']}" if origin else ""
            return (
                f"{event.workflow_type}{short(event.input)} (version {event.version}{parent})"
                f"{_deadlines(event)}{reset}"
            )
        case ev.WorkflowCompleted():
            return f"result {short(event.result)}"
        case ev.WorkflowFailed():
            return _error(event.error)
        case ev.WorkflowContinuedAsNew():
            return f"next run {event.next_run_id} with {short(event.input)}"
        case ev.RunCrashed():
            return f"pid {event.pid} crashed: {_error(event.error)}"
        case ev.RunRestarted():
            return f"restart #{event.attempt} as pid {event.pid} after {event.backoff:.2f} s"
        case ev.RunParked():
            return event.reason
        case ev.RunResumed():
            return "resumed by an operator; replaying with the code registered now"
        case ev.RunPaused():
            return "paused by an operator" + (f": {event.reason}" if event.reason else "")
        case ev.RunUnpaused():
            return "unpaused by an operator; its code runs on what was recorded meanwhile"
        case ev.WorkflowQueued():
            key = f", key {event.key!r}" if event.key is not None else ""
            return f"queued in {event.queue!r}{key}, priority {event.priority}"
        case ev.RunDequeued():
            return "its queue gave it a slot; its code runs"
        case ev.WorkflowReset():
            why = f": {event.reason}" if event.reason else ""
            return f"reset to seq {event.to_seq}; goes on in run {event.next_run_id}{why}"
        case ev.ActivityScheduled():
            deadline = f", deadline {clock(event.deadline)}" if event.deadline else ""
            return (
                f"#{event.activity_id} {event.name} attempt {event.attempt} "
                f"{short(event.input)}{deadline}"
            )
        case ev.ActivityCompleted():
            return f"#{event.activity_id} → {short(event.result)}"
        case ev.ActivityAttemptFailed():
            retry = f"; retry at {clock(event.retry_at)}" if event.retry_at else "; no retry"
            return f"#{event.activity_id} attempt {event.attempt}: {_error(event.error)}{retry}"
        case ev.ActivityHandedOff():
            until = f" until {clock(event.timeout_at)}" if event.timeout_at else ""
            return (
                f"#{event.activity_id} attempt {event.attempt} handed off: awaits completion{until}"
            )
        case ev.ActivityFailed():
            return f"#{event.activity_id}: {_error(event.error)}"
        case ev.ActivityHeartbeat():
            return f"#{event.activity_id} attempt {event.attempt}: {short(event.details)}"
        case ev.ActivityCancelRequested():
            return f"#{event.activity_id} told to cancel ({event.reason}, cancel={event.mode!r})"
        case ev.TimerStarted():
            return f"{event.timer_id} fires at {clock(event.fire_at)}"
        case ev.TimerFired() | ev.TimerCancelled():
            return event.timer_id
        case ev.SignalReceived():
            return f"{event.name} {short(event.payload)}"
        case ev.ChildStarted():
            return f"{event.workflow_type} {event.child_workflow_id} {short(event.input)}"
        case ev.ChildCompleted():
            return f"{event.child_workflow_id} → {short(event.result)}"
        case ev.ChildFailed():
            return f"{event.child_workflow_id}: {_error(event.error)}"
        case ev.ChildRunStarted():
            return f"{event.child_workflow_id} (run {event.child_run_id})"
        case ev.ExternalRequested():
            what = (
                f"signal {event.name} {short(event.payload)}"
                if event.action == "signal"
                else "cancel"
            )
            return f"#{event.request_id} {what} → {event.target_workflow_id}"
        case ev.ExternalRequestDone():
            return f"#{event.request_id} " + (_error(event.error) if event.error else "recorded")
        case ev.PatchApplied():
            return f"patch {event.patch_id!r} taken (ctx.patched)"
        case ev.AttributesSet():
            return f"search attributes {short(event.attributes)}"
        case ev.UpdateAccepted():
            return f"#{event.update_id} {event.name} {short(event.payload)}"
        case ev.UpdateCompleted():
            outcome = _error(event.error) if event.error else f"→ {short(event.result)}"
            return f"#{event.update_id} {outcome}"
        case ev.WorkflowTimedOut():
            return event.reason or f"{event.timeout or 'a'} timeout ran out"
        case ev.WorkflowCancelRequested() | ev.WorkflowCancelled() | ev.WorkflowTerminated():
            return event.reason or "(no reason given)"
    return ""


def event_dict(event: Event) -> dict[str, Any]:
    """Every field of the event, plus its kind and an ISO time."""
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    return {"kind": event.kind, "time": iso(event.recorded_at), **fields}


def run_dict(run: RunSummary) -> dict[str, Any]:
    return {
        "workflow_id": run.workflow_id,
        "run_id": run.run_id,
        "workflow_type": run.workflow_type,
        "status": run.status.value,
        "restarts": run.restarts,
        "events": run.head,
        "version": run.version,
        "started_at": iso(run.started_at),
        "ended_at": iso(run.ended_at),
        "parent": run.parent,
        "attributes": run.attributes,
    }


def json_default(value: Any) -> Any:
    """JSON for the msgpack values JSON lacks: bytes (base64), datetimes, UUIDs."""
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
