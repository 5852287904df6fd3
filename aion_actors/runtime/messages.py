"""What the engine, the executors and the timer service tell a RunActor.

Plain frozen data: each message names what happened; the actor decides
what to record. Requests that change a run carry an `Ack`, resolved by the
recorder's writer thread once the recording event is committed.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from aion_actors.core import TimerId
from aion_actors.core import events as ev
from aion_actors.workers import Outcome


@dataclass(eq=False)
class Ack:
    """The caller's side of a change request.

    `submitted` turns true when the event is handed to the recorder; from
    then on only the commit decides the outcome. A request whose actor died
    before submitting it was never recorded: it goes to the next incarnation.
    """

    future: Future[None] = field(default_factory=Future)
    submitted: bool = False


class Request:
    """A change a caller asks of a run (signal, cancel, terminate): recorded once, then
    acknowledged through `ack`; every road a request can take resolves its ack."""

    ack: Ack

    @property
    def what(self) -> str:
        """The request in words, for errors."""
        raise NotImplementedError

    def event(self) -> ev.Event:
        """The event that records it."""
        raise NotImplementedError


@dataclass(frozen=True)
class Signal(Request):
    name: str
    payload: Any
    ack: Ack

    @property
    def what(self) -> str:
        return f"signal {self.name!r}"

    def event(self) -> ev.Event:
        return ev.SignalReceived(name=self.name, payload=self.payload)


@dataclass(frozen=True)
class CancelRequest(Request):
    reason: str
    ack: Ack

    @property
    def what(self) -> str:
        return "cancel"

    def event(self) -> ev.Event:
        return ev.WorkflowCancelRequested(reason=self.reason)


@dataclass(frozen=True)
class TerminateRequest(Request):
    reason: str
    ack: Ack

    @property
    def what(self) -> str:
        return "terminate"

    def event(self) -> ev.Event:
        return ev.WorkflowTerminated(reason=self.reason)


@dataclass(frozen=True, eq=False)
class Query:
    """Answered (never recorded) through `reply` by the run's live state."""

    name: str
    args: tuple[Any, ...]
    reply: Future[Any] = field(default_factory=Future)


@dataclass(frozen=True)
class ActivityOutcome:
    activity_id: str
    attempt: int
    outcome: Outcome


@dataclass(frozen=True)
class TimerDue:
    """A durable timer is due: a sleep's, a signal wait's timeout, the end of an
    activity's retry wait, or its `ctx.activity(timeout=)` deadline."""

    timer: TimerId


@dataclass(frozen=True)
class ChildClosed:
    event: ev.ChildCompleted | ev.ChildFailed


@dataclass(frozen=True)
class Evict:
    """Stop if the run is only waiting on timers or signals; its history is enough to return."""


@dataclass(frozen=True)
class Committed:
    """The recorder's answer to the actor's last append."""

    events: list[ev.Event] | None
    error: BaseException | None


RequestMessage = Signal | CancelRequest | TerminateRequest

Message = (
    Signal
    | CancelRequest
    | TerminateRequest
    | Query
    | ActivityOutcome
    | TimerDue
    | ChildClosed
    | Evict
    | Committed
)
