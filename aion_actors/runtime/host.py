"""What a RunActor needs from the engine around it.

The actor is written against this protocol rather than the engine's
classes, so the flow stays one-way: the engine builds the host, the host
starts actors, actors call back only through these few methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pykka

from aion_actors.core import PayloadConverter, RunKey
from aion_actors.core import events as ev
from aion_actors.runtime.clock import Clock
from aion_actors.runtime.definitions import RetryPolicy, WorkflowDefinition
from aion_actors.runtime.ledger import Ledger
from aion_actors.runtime.messages import Ack
from aion_actors.runtime.update_calls import LookUp
from aion_actors.store import Recorder
from aion_actors.workers import CancelReason
from supervisor import Dispatcher


@dataclass(frozen=True, slots=True)
class Handoff:
    """What an incarnation starts from: the run's history as the store holds it — or,
    for a run being started, its `WorkflowStarted` that no one has committed yet."""

    events: list[ev.Event]
    #: set for a run being started: the first incarnation records `events` together with
    #: what its workflow does first, in one commit, and resolves this ack with it
    start: Ack | None = None


@dataclass(frozen=True)
class Incarnation:
    """Who this actor is: its pid and, after a crash, which restart it is."""

    pid: int
    restart_attempt: int = 0
    backoff: float = 0.0
    resuming: bool = False

    def opening(self) -> list[ev.Event]:
        """What this incarnation records before anything else: a resume, a restart."""
        events: list[ev.Event] = [ev.RunResumed()] if self.resuming else []
        if self.restart_attempt:
            restart = ev.RunRestarted(
                pid=self.pid, attempt=self.restart_attempt, backoff=self.backoff
            )
            events.append(restart)
        return events


class RunHost(Protocol):
    #: the largest payload (argument, result) a run may record, encoded
    max_payload_bytes: int
    #: the threads every run actor's messages run on
    dispatcher: Dispatcher
    #: the payload converter, None for the default (which changes nothing)
    converter: PayloadConverter | None
    #: where `recorded_at` and retry times come from; told when the run's inbox runs dry
    clock: Clock

    @property
    def recorder(self) -> Recorder: ...

    def handoff(self, key: RunKey, generation: int) -> Handoff | None:
        """The history to replay, or the opening of a run being started; None when the
        incarnation of `generation` is not the run's any more (it left this engine)."""

    def start_failed(self, key: RunKey, error: BaseException, start: Ack | None = None) -> None:
        """A run's first commit failed: it never started; its reservation goes, and then
        its starter (`start`, if it still waits) hears `error`."""

    def incarnation(
        self, key: RunKey, generation: int, ref: pykka.ActorRef[Any]
    ) -> Incarnation | None:
        """The actor starts (its replay is queued): from now on messages reach it.
        None: it is stale (a newer incarnation exists) and must stop at once."""

    def workflow(self, name: str) -> WorkflowDefinition | None: ...

    def retry_policy(self, activity: str) -> RetryPolicy | None: ...

    def dispatch(self, key: RunKey, event: ev.ActivityScheduled, heartbeat: Any = None) -> None:
        """Run the attempt, given its activity's last heartbeat details; raises LookupError
        when the activity is not registered."""

    def cancel_attempt(self, key: RunKey, activity_id: str, reason: CancelReason) -> None:
        """Tell the activity's running attempt to stop, and why."""

    def activity_cancel(self, name: str) -> str:
        """The `@activity(cancel=)` of the activity registered as `name` ("try" if none)."""

    def arm_timer(self, fire_at: int) -> None: ...

    def start_child(self, key: RunKey, event: ev.ChildStarted) -> None: ...

    def request_external(self, key: RunKey, event: ev.ExternalRequested) -> None:
        """Apply the run's request to another workflow, once; answer with `ExternalDone`."""

    def cancel_children(self, children: list[ev.ChildStarted], reason: str) -> None: ...

    def run_closed(self, key: RunKey, event: ev.Event) -> None:
        """Its ending (or `RunParked`) is committed."""

    def run_idle(self, key: RunKey, idle: bool) -> None: ...

    def waits_for_time(self, key: RunKey, ledger: Ledger) -> bool:
        """Whether the run's running activity attempts all wait for their activity's rate
        alone: the run waits on time (it may be evicted, a virtual clock may jump)."""

    def run_stalled(self, key: RunKey, generation: int, inputs: list[object]) -> bool:
        """The store could not record this run's last batch: it waits for the store,
        holding `inputs` (what it was told since its last commit, and the requests kept)
        for the next incarnation. False if the run left this engine meanwhile (dropped)."""

    def run_evicted(self, key: RunKey, generation: int) -> bool:
        """It leaves memory now; False if it may not (it is no longer the live one)."""

    def redeliver(self, key: RunKey, message: object, generation: int) -> None:
        """A message the stopped incarnation of `generation` will never handle."""

    def look_up_update(self, key: RunKey, look: LookUp, ref: pykka.ActorRef[Any]) -> None:
        """Off the actor's thread: tell `ref` (`LookedUp`) the answer of `look.update_id`
        that run `look.since` or a run it continued from recorded (`runs.answered`)."""
