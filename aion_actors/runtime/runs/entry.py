"""A run table entry: one open run as the engine knows it in memory, and where it lives.

The fields change only through `RunTable` (see table.py); each states its
invariant next to it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aion_actors.core import RunKey, WorkflowStatus, status_from_events
from aion_actors.core import events as ev
from aion_actors.runtime.host import Handoff, Incarnation
from aion_actors.runtime.messages import Request
from supervisor import Latch


class Presence(enum.Enum):
    """Where an open run lives, as far as messages to it are concerned."""

    #: its `WorkflowStarted` is being committed; messages wait in the mailbox
    RESERVED = "reserved"
    #: an incarnation is being started (spawn, restart, resume); messages wait in the mailbox
    STARTING = "starting"
    #: `ref` is its actor; messages go straight to it
    LIVE = "live"
    #: no actor (evicted, or not needed since the engine opened); a message brings it back
    ABSENT = "absent"
    #: its workflow type is not registered; messages wait, requests are recorded for it
    AWAITING_TYPE = "awaiting_type"
    #: its restarts ran out, or its code diverged from its history; waits for `resume`
    PARKED = "parked"
    #: it had no actor and its ending is being recorded for it; messages wait
    CLOSING = "closing"
    #: the store could not record its last batch; it waits (holding its messages) until
    #: the store writes again, then comes back by replay; requests fail at once
    STALLED = "stalled"


class Residence(enum.StrEnum):
    """What `describe` reports: whether an actor holds the run's state."""

    RESIDENT = "resident"
    EVICTED = "evicted"
    PARKED = "parked"


_RESIDENCY = {
    Presence.RESERVED: Residence.RESIDENT,
    Presence.STARTING: Residence.RESIDENT,
    Presence.LIVE: Residence.RESIDENT,
    Presence.ABSENT: Residence.EVICTED,
    Presence.AWAITING_TYPE: Residence.EVICTED,
    Presence.PARKED: Residence.PARKED,
    Presence.CLOSING: Residence.EVICTED,
    Presence.STALLED: Residence.EVICTED,
}

#: no actor can hold the run now: requests to it are recorded on its behalf
WRITTEN_FOR = frozenset({Presence.PARKED, Presence.AWAITING_TYPE})


@dataclass(eq=False, slots=True)
class RunEntry:
    """One open (or still resident) run. Fields change only through `RunTable`."""

    #: never changes
    key: RunKey
    #: the registered name of its workflow; never changes
    workflow_type: str
    #: the code version the run started with; never changes
    version: str
    #: `{"workflow_id", "run_id"}` of the run that started it, or None; never changes
    parent: dict[str, Any] | None
    presence: Presence
    #: the LIVE incarnation's actor ref; None whenever presence is not LIVE
    ref: Any = None
    #: the supervisor's pid of the latest incarnation; None until known, and once it ended
    pid: int | None = None
    #: +1 at every spawn (start, rehydration, resume); an incarnation of an older
    #: generation is stale: it may not write, and its exit changes nothing
    generation: int = 0
    #: what the next incarnation of this generation is told (restart, resume); taken by it
    pending: Incarnation | None = None
    #: history for the next incarnation to replay instead of reading the store; taken by it
    handoff: Handoff | None = None
    #: messages that arrived while no incarnation was LIVE, oldest first; empty while LIVE
    mailbox: list[object] = field(default_factory=list)
    #: why it is PARKED or AWAITING_TYPE; None in every other presence
    reason: str | None = None
    #: the event that closed the run; set only by `close`, in the critical section
    #: that frees the workflow_id and removes the entry from the table
    closing: ev.Event | None = None
    #: latches of waiters; set and dropped whenever the run parks or closes
    watchers: list[Latch] = field(default_factory=list)
    #: called once with the closing event, after `close` released the lock
    callbacks: list[Callable[[ev.Event], None]] = field(default_factory=list)
    #: the open run this one displaced when reserved, restored if its start is withdrawn
    displaced: str | None = None
    #: set once every run reserved with this one was (withdrawn is not set before):
    #: until then another start of its workflow_id waits instead of being refused
    batch: Latch | None = None

    @property
    def residency(self) -> Residence:
        return _RESIDENCY[self.presence]

    @property
    def status(self) -> WorkflowStatus:
        if self.closing is not None:
            return status_from_events((self.closing,))
        return WorkflowStatus.PARKED if self.presence is Presence.PARKED else WorkflowStatus.RUNNING


@dataclass(slots=True)
class RunCounters:
    """Counters for `Engine.stats`; each part bumps its own (a lost increment is harmless)."""

    crashes: int = 0
    restarts: int = 0
    rehydrations: int = 0


@dataclass(frozen=True, slots=True)
class Closed:
    """What `RunTable.close` hands back: the entry as it ended, and what it still held."""

    entry: RunEntry
    #: messages that waited in its mailbox: their senders must hear it is closed
    leftovers: list[object]
    #: subscribers to call with the closing event, outside the lock
    callbacks: list[Callable[[ev.Event], None]]
    #: latches of waiters, to set outside the lock (see `wakes`)
    watchers: list[Latch]


class Undecided(Exception):
    """The workflow_id is reserved by a batch of starts that may yet be withdrawn:
    wait on `decided`, then reserve again."""

    def __init__(self, decided: Latch) -> None:
        super().__init__("the workflow_id's reservation is undecided")
        self.decided = decided


# State changes of one entry, for `RunTable` alone, under the run's stripe lock.


def next_generation(entry: RunEntry) -> int:
    """A new incarnation is to start: STARTING, under the next generation."""
    entry.generation += 1
    entry.presence, entry.ref, entry.pid = Presence.STARTING, None, None
    return entry.generation


def take_mailbox(entry: RunEntry) -> list[object]:
    held, entry.mailbox = entry.mailbox, []
    return held


def wake_watchers(entry: RunEntry) -> None:
    watchers, entry.watchers = entry.watchers, []
    for latch in watchers:
        latch.set()


def is_request(message: object) -> bool:
    return isinstance(message, Request)
