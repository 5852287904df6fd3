"""What a RunActor needs from the engine around it.

The actor is written against this protocol rather than the engine's
classes, so the flow stays one-way: the engine builds the host, the host
starts actors, actors call back only through these few methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pykka

from aion_actors.core import PayloadConverter
from aion_actors.core import events as ev
from aion_actors.runtime.definitions import RetryPolicy, WorkflowDefinition
from aion_actors.store import Recorder
from supervisor import Dispatcher


@dataclass(frozen=True)
class Incarnation:
    """Who this actor is: its pid and, after a crash, which restart it is."""

    pid: int
    restart_attempt: int = 0
    backoff: float = 0.0
    resuming: bool = False


class RunHost(Protocol):
    #: the largest payload (argument, result) a run may record, encoded
    max_payload_bytes: int
    #: the threads every run actor's messages run on
    dispatcher: Dispatcher
    #: the payload converter, None for the default (which changes nothing)
    converter: PayloadConverter | None

    @property
    def recorder(self) -> Recorder: ...

    def read_history(self, workflow_id: str, run_id: str) -> list[ev.Event]: ...

    def incarnation(
        self, workflow_id: str, run_id: str, ref: pykka.ActorRef[Any]
    ) -> Incarnation: ...

    def workflow(self, name: str) -> WorkflowDefinition | None: ...

    def retry_policy(self, activity: str) -> RetryPolicy | None: ...

    def dispatch(self, workflow_id: str, run_id: str, event: ev.ActivityScheduled) -> None:
        """Run the attempt; raises LookupError when the activity is not registered."""

    def arm_timer(self, fire_at: int) -> None: ...

    def start_child(self, workflow_id: str, run_id: str, event: ev.ChildStarted) -> None: ...

    def cancel_children(self, children: list[ev.ChildStarted], reason: str) -> None: ...

    def run_closed(self, workflow_id: str, run_id: str, event: ev.Event, parent: Any) -> None: ...

    def run_idle(self, workflow_id: str, run_id: str, idle: bool) -> None: ...

    def run_evicted(self, workflow_id: str, run_id: str) -> None: ...

    def redeliver(self, workflow_id: str, run_id: str, message: object, stale: str) -> None:
        """Deliver to the incarnation after the one whose actor urn is `stale`."""
