"""Recording a run that waits in a queue without giving it an actor.

A run enqueued while its queue has no slot for it records `WorkflowStarted`
+ `WorkflowQueued` and then only waits: its code does not run until a queue
dispatches it. An actor would sit idle all that while (and a queue may hold
thousands), so such a run's first commit is made here: its entry is
STARTING while the commit is on its way (messages to it wait in its
mailbox), then ABSENT, its history kept for the replay that its first
message — the queue's `DequeueRequest`, a cancel, a signal, a query, its
timeout — brings. That replay records `RunDequeued` with the first command
of its code, in one commit, as a run started at once records its start.

Record, then act, as the actor does for its own first commit: the caller's
ack resolves once the commit is durable; a run's deadline is armed then.
"""

from __future__ import annotations

import functools

from aion_actors.core import RunKey
from aion_actors.core import events as ev
from aion_actors.runtime.host import Handoff, RunHost
from aion_actors.runtime.messages import Ack
from aion_actors.runtime.runs.residency import Residency
from aion_actors.runtime.runs.table import RunTable
from aion_actors.runtime.timeouts import deadline


def held(opening: list[ev.Event], parent: object) -> bool:
    """Whether a new run's `opening` leaves its code waiting for a queue's slot: it is
    queued and not dequeued in the same commit (and no parent waits on its actor)."""
    queued = dequeued = False
    for event in opening:
        queued = queued or type(event) is ev.WorkflowQueued
        dequeued = dequeued or type(event) is ev.RunDequeued
    return queued and not dequeued and parent is None


class Holding:
    """Commits the opening of held runs (`held`) and leaves them ABSENT."""

    def __init__(self, table: RunTable, residency: Residency, host: RunHost) -> None:
        self._table = table
        self._residency = residency
        self._host = host

    def record(self, key: RunKey, opening: list[ev.Event], ack: Ack, *, inline: bool) -> None:
        """Commit the reserved run `key`'s `opening`; `ack` resolves with the outcome.
        `inline`: the caller waits for it, so it may commit in the caller's thread."""
        generation = self._table.admit(key, Handoff(opening))
        if generation is None:  # withdrawn meanwhile
            ack.resolve()
            return
        ack.submitted = True
        then = functools.partial(self._recorded, key, generation, ack)
        try:
            recorder = self._host.recorder
            recorder.append_then(key.workflow_id, key.run_id, opening, 0, then, alone=inline)
        except BaseException as exc:  # the recorder is closed: nothing was written
            self._recorded(key, generation, ack, None, exc)

    def _recorded(
        self,
        key: RunKey,
        generation: int,
        ack: Ack,
        events: list[ev.Event] | None,
        error: BaseException | None,
    ) -> None:
        """On the committing thread: quick, nothing waited for."""
        if error is not None or not events:
            error = error or RuntimeError(f"run {key.run_id}: its start was not committed")
            self._host.start_failed(key, error, ack)
            return
        self._table.take_handoff(key)  # (the kept history is checked against the head)
        self._residency.keep_history(key, events)
        waited = self._table.exited(key, generation)
        if (fire_at := deadline(events[0])) is not None:
            self._host.arm_timer(fire_at)  # its timeout is in the timer index from now on
        ack.resolve()
        if waited:  # a message reached it before its commit: it is brought back for it
            self._residency.bring_back(key)
        self._host.clock.settled()
