"""The rules every store shares: stamping and encoding appends, and the projections.

Both stores call `prepare` before their transaction (pure work that can fail
per request) and `fold` inside it, so the run index and the timers they keep
follow from history by the same code.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from aion_actors.core import (
    EVENT_TYPES,
    AionError,
    CorruptEvent,
    Event,
    PayloadError,
    TimerId,
    TimerKind,
    WorkflowClosed,
    WorkflowStatus,
    WorkflowTimeout,
    check_id,
    encode_event,
    next_status,
    stamp,
    timer_text,
)
from aion_actors.core import events as ev
from aion_actors.store.protocol import AppendRequest, RunSummary

#: LMDB's key limit; the other stores keep it too so every store accepts the same ids.
MAX_KEY_BYTES: Final = 511
MAX_TIME: Final = 2**64 - 1

SCHEDULE: Final = 1
CANCEL: Final = 2
CANCEL_ALL: Final = 3
#: (SCHEDULE, timer_id, fire_at), (CANCEL, timer_id, 0) or (CANCEL_ALL, "", 0)
TimerOp = tuple[int, str, int]
Summary = dict[str, Any]

_EVENT_CLASSES: Final = frozenset(EVENT_TYPES.values())
_SUMMARY_FIELDS: Final = tuple(f.name for f in dataclasses.fields(RunSummary))


@dataclasses.dataclass(slots=True)
class Prepared:
    """A request whose events are stamped and encoded, ready to be written."""

    workflow_id: str
    run_id: str
    run_key: bytes
    expected_seq: int
    events: list[Event]
    encoded: list[bytes]
    epoch: int | None = None  #: its request's (see `AppendRequest.epoch`)


class Clock:
    """Wall-clock ns that never repeats or goes back within one store, so stamps order runs."""

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> int:
        now = max(time.time_ns(), self._last + 1)
        self._last = now
        return now


def run_key(workflow_id: str, run_id: str) -> bytes:
    """The key of a run: its ids as UTF-8 joined by NUL (ids never hold NUL)."""
    check_id(workflow_id, "workflow_id")
    check_id(run_id, "run_id")
    return f"{workflow_id}\0{run_id}".encode()


def timer_key(run: bytes, timer_id: str) -> bytes:
    """The key of one timer of a run; refused when LMDB could not store it."""
    check_id(timer_id, "timer_id")
    key = run + b"\0" + timer_id.encode()
    if len(key) + 8 > MAX_KEY_BYTES:
        raise PayloadError(
            "timer_id",
            f"{timer_id!r} with its workflow_id and run_id exceeds the "
            f"{MAX_KEY_BYTES - 8}-byte timer key limit; use shorter ids",
        )
    return key


def check_time(value: object, what: str) -> int:
    if not isinstance(value, int) or not 0 <= value <= MAX_TIME:
        raise PayloadError(what, f"must be an int of unix ns between 0 and 2**64-1, got {value!r}")
    return value


def prepare(request: AppendRequest, now: int) -> Prepared | AionError:
    """Stamp and encode a request's events, or the error that refuses all of it."""
    try:
        key = run_key(request.workflow_id, request.run_id)
        if not isinstance(request.expected_seq, int) or request.expected_seq < 0:
            raise PayloadError("expected_seq", f"must be an int >= 0, got {request.expected_seq!r}")
        events = []
        encoded = []
        seq = request.expected_seq
        for event in request.events:
            seq += 1
            stamped = _stamp(event, seq, now)
            if type(stamped) in _TIMER_FIELDS:
                _check_timer_fields(stamped, key)
            events.append(stamped)
            encoded.append(encode_event(stamped))
    except AionError as exc:
        return exc
    run = (request.workflow_id, request.run_id)
    return Prepared(*run, key, request.expected_seq, events, encoded, request.epoch)


def _stamp(event: Event, seq: int, now: int) -> Event:
    """`event` at `seq`, recorded `now` unless it says when (a run stamps its own)."""
    if type(event) not in _EVENT_CLASSES:
        raise PayloadError("events", f"{type(event).__name__} is not an event kind of this schema")
    if event.seq == seq and event.recorded_at:
        return event
    return stamp(event, seq, event.recorded_at or now)


def _check_timer_fields(event: Event, run: bytes) -> None:
    """Refuse, before anything is written, an event whose timer projection cannot be keyed."""
    if isinstance(event, _ACTIVITY_EVENTS):  # (first: the most common by far)
        check_id(event.activity_id, "activity_id")
        if len(run) + _ACTIVITY_TIMER_BYTES + len(event.activity_id.encode()) > MAX_KEY_BYTES:
            timer_key(run, str(TimerId.deadline(event.activity_id)))  # says what is too long
        if isinstance(event, ev.ActivityAttemptFailed) and event.retry_at is not None:
            check_time(event.retry_at, "ActivityAttemptFailed.retry_at")
        if isinstance(event, ev.ActivityScheduled) and event.deadline is not None:
            check_time(event.deadline, "ActivityScheduled.deadline")
        if isinstance(event, ev.ActivityHandedOff) and event.timeout_at is not None:
            check_time(event.timeout_at, "ActivityHandedOff.timeout_at")
    elif isinstance(event, ev.TimerStarted):
        timer_key(run, event.timer_id)
        check_time(event.fire_at, "TimerStarted.fire_at")
    elif isinstance(event, ev.TimerFired | ev.TimerCancelled):
        timer_key(run, event.timer_id)
    elif isinstance(event, ev.WorkflowStarted):
        for which, deadline in _deadlines(event):
            timer_key(run, str(TimerId.timeout(which)))
            check_time(deadline, f"WorkflowStarted.{which.value}_deadline")


#: what an activity's longest timer key adds to its run key and activity id:
#: NUL, "deadline:" (longer than "retry:" and "attempt:") and the 8-byte fire time
#: of the timer index
_ACTIVITY_TIMER_BYTES: Final = 1 + len(TimerKind.DEADLINE.value) + 1 + 8

_ACTIVITY_EVENTS: Final = (
    ev.ActivityScheduled,
    ev.ActivityAttemptFailed,
    ev.ActivityHandedOff,
    ev.ActivityCompleted,
    ev.ActivityFailed,
)


_TIMER_FIELDS: Final = frozenset(
    {ev.WorkflowStarted, ev.TimerStarted, ev.TimerFired, ev.TimerCancelled, *_ACTIVITY_EVENTS}
)


def _deadlines(event: ev.WorkflowStarted) -> list[tuple[WorkflowTimeout, int]]:
    """The run's own deadlines (`execution_timeout`, `run_timeout`), each a timer."""
    pairs = (
        (WorkflowTimeout.EXECUTION, event.execution_deadline),
        (WorkflowTimeout.RUN, event.run_deadline),
    )
    return [(which, deadline) for which, deadline in pairs if deadline is not None]


def new_summary(workflow_id: str, run_id: str, first: Event) -> Summary:
    """The index entry of a run before its first event is folded in."""
    return {
        "workflow_id": workflow_id,
        "run_id": run_id,
        "workflow_type": "",
        "status": WorkflowStatus.RUNNING.value,
        "started_at": first.recorded_at,
        "ended_at": None,
        "head": 0,
        "version": "",
        "restarts": 0,
        "parent": None,
        "attributes": {},
    }


def fold(summary: Summary, events: Sequence[Event]) -> list[TimerOp]:
    """Fold committed-to-be events into `summary` (in place); returns the timer changes."""
    ops: list[TimerOp] = []
    for event in events:
        rule = _RULES.get(type(event))
        if rule is not None:
            rule(summary, event, ops)
    if events:
        summary["head"] = events[-1].seq
    return ops


def matching(
    found: list[RunSummary], status: WorkflowStatus | None, workflow_type: str | None
) -> list[RunSummary]:
    """The summaries of `found` with this status and type (None: any)."""
    return [
        s
        for s in found
        if (status is None or s.status == status)
        and (workflow_type is None or s.workflow_type == workflow_type)
    ]


def to_summary(record: Any, workflow_id: str, run_id: str) -> RunSummary:
    """A stored index entry as a `RunSummary`; a damaged one is a `CorruptEvent`."""
    try:
        values = {name: record[name] for name in _SUMMARY_FIELDS if name != "attributes"}
        values["attributes"] = record.get("attributes") or {}  # (none before search)
        values["status"] = WorkflowStatus(values["status"])
        wrong = [
            name
            for name, kinds in _FIELD_TYPES.items()
            if not isinstance(values[name], kinds) or isinstance(values[name], bool)
        ]
        if wrong:
            raise TypeError(f"{', '.join(wrong)} of the wrong type")
        if (values["workflow_id"], values["run_id"]) != (workflow_id, run_id):
            raise ValueError(f"it names run {values['run_id']!r} of {values['workflow_id']!r}")
        return RunSummary(**values)
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptEvent(
            f"run index entry is damaged ({type(exc).__name__}: {exc})",
            workflow_id=workflow_id,
            run_id=run_id,
        ) from None


_FIELD_TYPES: Final[dict[str, type | tuple[type, ...]]] = {
    "workflow_id": str,
    "run_id": str,
    "workflow_type": str,
    "started_at": int,
    "ended_at": (int, type(None)),
    "head": int,
    "version": str,
    "restarts": int,
    "parent": (dict, type(None)),
    "attributes": dict,
}


def closed_to(summary: Summary | None, prepared: Prepared) -> AionError | None:
    """Refuse an append that puts an event after a run's closing event (its own or one
    already stored): nothing is ever recorded after it, whoever tries."""
    if (summary is None or summary["status"] in OPEN) and not any(
        type(event) in _LIFECYCLE for event in prepared.events[:-1]
    ):
        return None  # (open, and nothing but the last event may change that)
    status = WorkflowStatus(summary["status"]) if summary else WorkflowStatus.RUNNING
    for event in prepared.events:
        if status.is_terminal:
            what = f"an append of {event.kind}"
            ended = summary.get("ended_at") if summary else None
            return WorkflowClosed(prepared.workflow_id, prepared.run_id, status.value, what, ended)
        status = next_status(status, event)
    return None


#: the stored statuses of a run that may still record events
OPEN: Final = frozenset(s.value for s in WorkflowStatus if not s.is_terminal)
_LIFECYCLE: Final = frozenset(cls for cls in EVENT_TYPES.values() if cls.lifecycle)


def _terminal(summary: Summary) -> bool:
    return summary["status"] not in OPEN  # (on every timer rule: no enum built)


def _on_lifecycle(summary: Summary, event: Event, ops: list[TimerOp]) -> None:
    before = WorkflowStatus(summary["status"])
    after = next_status(before, event)
    if after is before:
        return
    summary["status"] = after.value
    if after.is_terminal:
        summary["ended_at"] = event.recorded_at
        ops.append((CANCEL_ALL, "", 0))


def _on_started(summary: Summary, event: Event, ops: list[TimerOp]) -> None:
    assert isinstance(event, ev.WorkflowStarted)
    summary["workflow_type"] = event.workflow_type
    summary["version"] = event.version
    summary["parent"] = event.parent
    # a reset run keeps its original's start time in history; it started when it was reset
    summary["started_at"] = (event.reset_from or {}).get("at", event.recorded_at)
    _on_lifecycle(summary, event, ops)
    if not _terminal(summary):
        for which, deadline in _deadlines(event):
            ops.append((SCHEDULE, timer_text(TimerKind.TIMEOUT, which.value), deadline))


def _on_attributes(summary: Summary, event: Event, ops: list[TimerOp]) -> None:
    assert isinstance(event, ev.AttributesSet)
    merged = dict(summary.get("attributes") or {})  # a new dict: the old one stays as it was
    for name, value in event.attributes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    summary["attributes"] = merged


def _on_restarted(summary: Summary, event: Event, ops: list[TimerOp]) -> None:
    summary["restarts"] += 1


def _on_timer_started(summary: Summary, event: Event, ops: list[TimerOp]) -> None:
    assert isinstance(event, ev.TimerStarted)
    if not _terminal(summary):
        ops.append((SCHEDULE, event.timer_id, event.fire_at))


def _on_timer_done(summary: Summary, event: Event, ops: list[TimerOp]) -> None:
    assert isinstance(event, ev.TimerFired | ev.TimerCancelled)
    ops.append((CANCEL, event.timer_id, 0))


def _on_attempt_failed(summary: Summary, event: Event, ops: list[TimerOp]) -> None:
    assert isinstance(event, ev.ActivityAttemptFailed)
    ops.append((CANCEL, _ATTEMPT + event.activity_id, 0))
    if event.retry_at is not None and not _terminal(summary):
        ops.append((SCHEDULE, _RETRY + event.activity_id, event.retry_at))


def _on_activity_scheduled(summary: Summary, event: Event, ops: list[TimerOp]) -> None:
    assert isinstance(event, ev.ActivityScheduled)
    ops.append((CANCEL, _RETRY + event.activity_id, 0))
    if event.attempt > 1:  # (a retry: the previous attempt closed with its failure)
        ops.append((CANCEL, _ATTEMPT + event.activity_id, 0))
    if event.deadline is not None and not _terminal(summary):
        ops.append((SCHEDULE, _DEADLINE + event.activity_id, event.deadline))


def _on_handed_off(summary: Summary, event: Event, ops: list[TimerOp]) -> None:
    assert isinstance(event, ev.ActivityHandedOff)
    if event.timeout_at is not None and not _terminal(summary):
        ops.append((SCHEDULE, _ATTEMPT + event.activity_id, event.timeout_at))


def _on_activity_closed(summary: Summary, event: Event, ops: list[TimerOp]) -> None:
    assert isinstance(event, ev.ActivityCompleted | ev.ActivityFailed)
    ops.append((CANCEL, _RETRY + event.activity_id, 0))
    ops.append((CANCEL, _DEADLINE + event.activity_id, 0))
    ops.append((CANCEL, _ATTEMPT + event.activity_id, 0))


#: the ids of an activity's timers are these + its activity_id (`timer_text`, spelled out
#: once: folding runs for every event)
_RETRY, _DEADLINE, _ATTEMPT = (
    timer_text(k, "") for k in (TimerKind.RETRY, TimerKind.DEADLINE, TimerKind.ATTEMPT)
)
_Rule = Callable[[Summary, Event, list[TimerOp]], None]
_RULES: Final[dict[type[Event], _Rule]] = {
    **{cls: _on_lifecycle for cls in EVENT_TYPES.values() if cls.lifecycle},
    ev.WorkflowStarted: _on_started,
    ev.RunRestarted: _on_restarted,
    ev.AttributesSet: _on_attributes,
    ev.TimerStarted: _on_timer_started,
    ev.TimerFired: _on_timer_done,
    ev.TimerCancelled: _on_timer_done,
    ev.ActivityAttemptFailed: _on_attempt_failed,
    ev.ActivityScheduled: _on_activity_scheduled,
    ev.ActivityHandedOff: _on_handed_off,
    ev.ActivityCompleted: _on_activity_closed,
    ev.ActivityFailed: _on_activity_closed,
}
