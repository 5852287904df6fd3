"""`Orphans`: where a run actor's messages go once it stopped (or is stopping).

Pykka drops `tell`s still queued when an actor stops, and a sender that
looked the actor up a moment before can still put one in after that. Such a
message may be the only thing that would wake an evicted run (a child's
result, a due timer) or a caller's request, so a stopping incarnation seals
its inbox with this: the run table hands each message to the next
incarnation, or tells its sender the run is closed. It holds ids rather than
the actor, which can then go by reference counting instead of waiting for
the cyclic collector. The answer to a failed append that its actor will not
handle settles that append's requests (see `unrecorded`). An incarnation whose
run was dropped from this node hands nothing on: its senders hear why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aion_actors.core import RunKey
from aion_actors.runtime import messages as msg
from aion_actors.runtime import unrecorded
from aion_actors.runtime.host import RunHost

#: what a stopped incarnation hands on; its own `Committed`, `Evict` and replay
#: mean nothing to a successor
PASSED_ON = (
    msg.ActivityOutcome,
    msg.TimerDue,
    msg.ChildClosed,
    msg.Request,
    msg.MaybeRecorded,
    msg.Query,
)


@dataclass(frozen=True, slots=True)
class Orphans:
    host: RunHost
    key: RunKey
    #: the incarnation that stopped: the table tells its late messages from a successor's
    generation: int
    #: set when the run was dropped from this node (`msg.Dropped`): what its senders hear
    dropped: BaseException | None = None

    def __call__(self, message: Any) -> None:
        self.pass_on(message)

    def pass_on(self, message: Any) -> None:
        """Hand what this incarnation will never handle to the next one."""
        if type(message) is msg.Committed:
            self._unrecorded(message)
        elif self.dropped is not None:
            unrecorded.refuse(message, self.dropped)
        elif isinstance(message, PASSED_ON):
            self.host.redeliver(self.key, message, self.generation)

    def _unrecorded(self, committed: msg.Committed) -> None:
        """A failed append's requests: each hears why, or (kept) goes to the next one."""
        sent, error = committed.unrecorded, committed.error
        if error is None and self.dropped is not None:  # recorded: the run's new owner
            for ack in committed.after_close:  # acts on it, but its callers hear it now
                ack.resolve()
        if sent is None or error is None:
            return
        error = sent.dropped or self.dropped or error
        for request in unrecorded.held(unrecorded.fail(sent.requests, error), sent, error):
            self.pass_on(request)
