"""What the engine, the executors and the timer service tell a RunActor.

Plain frozen data: each message names what happened; the actor decides
what to record. Requests that change a run carry an `Ack` (see `acks`), resolved
by the recorder's writer thread once the recording event is committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aion_actors.core import TimerId
from aion_actors.core import events as ev
from aion_actors.runtime.acks import Ack as Ack  # (defined here once: imported from here)
from aion_actors.workers import Outcome


class Request:
    """A change a caller asks of a run (signal, cancel, terminate): recorded once, then
    acknowledged through `ack`; every road a request can take resolves its ack."""

    ack: Ack
    #: another workflow's request (its `ExternalRequested`): the run records it once
    request_id: str | None = None

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
    request_id: str | None = None

    @property
    def what(self) -> str:
        return f"signal {self.name!r}"

    def event(self) -> ev.Event:
        return ev.SignalReceived(name=self.name, payload=self.payload, request_id=self.request_id)


@dataclass(frozen=True)
class CancelRequest(Request):
    reason: str
    ack: Ack
    request_id: str | None = None

    @property
    def what(self) -> str:
        return "cancel"

    def event(self) -> ev.Event:
        return ev.WorkflowCancelRequested(reason=self.reason, request_id=self.request_id)


@dataclass(frozen=True)
class TerminateRequest(Request):
    reason: str
    ack: Ack

    @property
    def what(self) -> str:
        return "terminate"

    def event(self) -> ev.Event:
        return ev.WorkflowTerminated(reason=self.reason)


@dataclass(frozen=True)
class ResetRequest(TerminateRequest):
    """`engine.reset` of an open run: it ends as a terminate ends it (its code not run),
    recording `WorkflowReset`; run `next_run_id` goes on from its `to_seq`."""

    to_seq: int = 0
    next_run_id: str = ""

    @property
    def what(self) -> str:
        return "reset"

    def event(self) -> ev.Event:
        return ev.WorkflowReset(
            next_run_id=self.next_run_id, to_seq=self.to_seq, reason=self.reason
        )


@dataclass(frozen=True)
class CompleteActivity(Request):
    """`engine.complete_activity` / `fail_activity`: closes one open attempt.

    What records it depends on the run's state (the attempt may be closed
    already, or its failure retried): `runtime.completion` decides.
    """

    activity_id: str
    attempt: int
    outcome: Outcome
    ack: Ack

    @property
    def what(self) -> str:
        verb = "completion" if self.outcome.ok else "failure"
        return f"{verb} of activity #{self.activity_id} attempt {self.attempt}"

    def event(self) -> ev.Event:
        raise TypeError("a completion is recorded as its run's ledger decides (see completion)")

    def report(self) -> ActivityOutcome:
        """As the executor would have reported it."""
        return ActivityOutcome(self.activity_id, self.attempt, self.outcome)


@dataclass(frozen=True)
class TimeoutRequest(TerminateRequest):
    """The run's `timeout:` timer is due: it ends as `terminate` ends it, recorded as
    `WorkflowTimedOut` (every road a terminate takes, this takes too)."""

    #: which deadline passed: "execution" or "run"
    timeout: str = ""

    @property
    def what(self) -> str:
        return f"{self.timeout} timeout"

    def event(self) -> ev.Event:
        return ev.WorkflowTimedOut(timeout=self.timeout, reason=self.reason)


@dataclass(frozen=True, eq=False)
class Query:
    """Answered (never recorded) through `reply` by the run's live state."""

    name: str
    args: tuple[Any, ...]
    reply: Future[Any] = field(default_factory=Future)
    follows: bool = False  # by workflow_id alone: as `Ack.follows` (see runtime.following)


class ActivityOutcome(NamedTuple):
    """An attempt's outcome, for its run (a NamedTuple: built for every attempt)."""

    activity_id: str
    attempt: int
    outcome: Outcome
    #: heartbeat details the throttle held back, recorded with a failure (None: none)
    heartbeat: Any = None


@dataclass(frozen=True)
class ActivityHeartbeat:
    """A running attempt's heartbeat details, throttled, to record for the next attempt."""

    activity_id: str
    attempt: int
    details: Any


@dataclass(frozen=True)
class TimerDue:
    """A durable timer is due: a sleep's, a signal wait's timeout, the end of an
    activity's retry wait, or its `ctx.activity(timeout=)` deadline."""

    timer: TimerId
    #: when the store's index says it fires; None from callers that do not know
    fire_at: int | None = None


@dataclass(frozen=True)
class ChildClosed:
    """A child the parent started has ended (or could not start)."""

    #: its `child_run_id` is the one the parent's `ChildStarted` gave, when `exact`
    event: ev.ChildCompleted | ev.ChildFailed
    #: False for a child started by an older engine, whose parent link does not say
    #: which `ChildStarted` began it: the parent's earliest open child of the id is meant
    exact: bool = True


@dataclass(frozen=True)
class ChildRunning:
    """A child the parent started with `ctx.start_child` has started."""

    event: ev.ChildRunStarted


@dataclass(frozen=True)
class ExternalDone:
    """Another workflow recorded this run's request (`error` None), or could not."""

    event: ev.ExternalRequestDone


#: what other runs answer a run: recorded as they say, once
Reply = ChildClosed | ChildRunning | ExternalDone


@dataclass(frozen=True)
class Evict:
    """Stop if the run is only waiting on timers or signals; its history is enough to return."""


class Sent:
    """The requests of a batch handed to the recorder: should its append fail, what
    becomes of them is decided with the run's state (see `unrecorded`)."""

    __slots__ = ("after", "dropped", "requests")

    def __init__(self, requests: list[Request], after: int) -> None:
        self.requests = requests
        #: the run's head the batch was appended after (see `MaybeRecorded`)
        self.after = after
        #: set once the run was dropped meanwhile (see `Dropped`): what they hear then
        self.dropped: BaseException | None = None


class Committed(NamedTuple):
    """The recorder's answer to the actor's last append (a NamedTuple: one per commit)."""

    events: list[ev.Event] | None
    error: BaseException | None
    #: acks of a batch that closed the run: resolved once the run table has closed it,
    #: so a caller told "terminated" may start the workflow_id again at once
    after_close: Sequence[Ack] = ()
    #: the requests of a batch whose append failed (None: it had none), unresolved
    unrecorded: Sent | None = None


@dataclass(frozen=True)
class MaybeRecorded:
    """A kept request (its caller gave up) of a batch whose commit was in doubt when the
    store gave up: recorded if the run's history, replayed, goes past `after` — one
    writer per run, so only that batch can have written there (see `unrecorded`)."""

    request: Request
    after: int


@dataclass(frozen=True)
class Dropped:
    """The run's partition left this node (see `runs.dropping`): its actor records
    nothing more, and every request it took and did not record hears `error`."""

    error: BaseException


@dataclass(frozen=True)
class PauseRequest(Request):
    """`engine.pause` (see `runtime.pausing`)."""

    reason: str
    ack: Ack

    @property
    def what(self) -> str:
        return "pause"

    def event(self) -> ev.Event:
        return ev.RunPaused(reason=self.reason)


@dataclass(frozen=True)
class UnpauseRequest(Request):
    """`engine.unpause` (see `runtime.pausing`)."""

    ack: Ack

    @property
    def what(self) -> str:
        return "unpause"

    def event(self) -> ev.Event:
        return ev.RunUnpaused()


@dataclass(frozen=True)
class DequeueRequest(Request):
    """A queue gives its queued run a slot: its code runs (see `core.events.queues`)."""

    ack: Ack

    @property
    def what(self) -> str:
        return "dequeue"

    def event(self) -> ev.Event:
        return ev.RunDequeued()


@dataclass(frozen=True)
class CancelQueuedRequest(Request):
    """`engine.cancel` of a run still queued: it ends cancelled, its code never ran."""

    reason: str
    ack: Ack

    @property
    def what(self) -> str:
        return "cancel while queued"

    def event(self) -> ev.Event:
        return ev.WorkflowCancelled(reason=self.reason)


RequestMessage = (
    Signal
    | CancelRequest
    | TerminateRequest
    | CompleteActivity
    | PauseRequest
    | UnpauseRequest
    | DequeueRequest
    | CancelQueuedRequest
)

Message = (
    Signal
    | PauseRequest
    | UnpauseRequest
    | DequeueRequest
    | CancelQueuedRequest
    | CancelRequest
    | TerminateRequest
    | CompleteActivity
    | Query
    | ActivityOutcome
    | ActivityHeartbeat
    | TimerDue
    | ChildClosed
    | ChildRunning
    | ExternalDone
    | Evict
    | Committed
    | Dropped
)
