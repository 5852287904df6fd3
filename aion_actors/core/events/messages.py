"""Timers, signals, requests to other workflows, patch markers and updates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aion_actors.core.events._base import ErrorInfo, Event

# Timers


@dataclass(frozen=True, kw_only=True, slots=True)
class TimerStarted(Event):
    timer_id: str
    fire_at: int


@dataclass(frozen=True, kw_only=True, slots=True)
class TimerFired(Event):
    timer_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class TimerCancelled(Event):
    timer_id: str


# Signals


@dataclass(frozen=True, kw_only=True, slots=True)
class SignalReceived(Event):
    name: str
    payload: Any = None
    #: set when another workflow sent it (`ctx.external(id).signal()`): its request, recorded once
    request_id: str | None = None


# Requests to other workflows


@dataclass(frozen=True, kw_only=True, slots=True)
class ExternalRequested(Event):
    """The workflow asks another workflow's open run (or `target_run_id`) to take a signal
    (`action` "signal") or to cancel ("cancel"); answered by `ExternalRequestDone`."""

    request_id: str
    target_workflow_id: str
    action: str
    target_run_id: str | None = None
    name: str = ""
    payload: Any = None
    reason: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ExternalRequestDone(Event):
    """The target recorded the request (`error` None), or could not take it."""

    request_id: str
    error: ErrorInfo | None = None


# Code changes


@dataclass(frozen=True, kw_only=True, slots=True)
class PatchApplied(Event):
    """`ctx.patched(patch_id)` answered True where no history said otherwise: the run
    takes the patched branch. A command in the run's positional sequence (it takes the
    place of the next command), so replay finds it where the code asks again."""

    patch_id: str


# Updates


@dataclass(frozen=True, kw_only=True, slots=True)
class UpdateAccepted(Event):
    """`engine.update` passed its validator: the handler `name` runs on `payload` at this
    place in history (again on replay), answered once by `UpdateCompleted`."""

    update_id: str
    name: str
    payload: Any = None


@dataclass(frozen=True, kw_only=True, slots=True)
class UpdateCompleted(Event):
    """The handler of accepted update `update_id` returned `result` or raised `error`."""

    update_id: str
    result: Any = None
    error: ErrorInfo | None = None
