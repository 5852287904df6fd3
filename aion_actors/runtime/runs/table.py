"""`RunTable`: one `RunEntry` per open run — where the engine keeps a run's truth in memory.

History is the truth; the table is what the engine knows between events:
where each open run lives (its `Presence`), which incarnation may write its
events, what waits for it to close. It is rebuilt from the store at open.

Rules every part relies on:

- Only `RunTable` methods change an entry, each under the run's stripe lock
  (an `RLock` shared by the runs whose workflow_id hash to it). A reader may
  look at one field without the lock; a decision on several needs the lock.
- A run's closing is recorded on its entry, its waiters are woken and its
  workflow_id is freed in one critical section (`close`): when `result()`
  returns, `start` with that workflow_id succeeds.
- One writer per run: while an entry is STARTING or LIVE, only its actor
  appends to its history; while it is PARKED, AWAITING_TYPE or CLOSING the
  engine appends on its behalf (see endings); an ABSENT run is brought back
  (its actor appends) rather than written around.
- Nobody polls: whatever changes an entry sets the latches that wait on it.
  Pure bookkeeping: no threads, no store, no actors are started here.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from aion_actors.core import RunKey, WorkflowAlreadyStarted
from aion_actors.core import events as ev
from aion_actors.runtime.host import Handoff, Incarnation
from aion_actors.runtime.runs.entry import (
    Closed,
    Presence,
    RunEntry,
    Undecided,
    is_request,
    next_generation,
    take_mailbox,
    wake_watchers,
)
from supervisor import Latch

_STRIPES = 64


class RunTable:
    """Every open run's entry, and the one open run of each workflow_id."""

    def __init__(self, stripes: int = _STRIPES) -> None:
        #: one per open run, plus runs still resident; the store holds the rest
        self._entries: dict[RunKey, RunEntry] = {}
        #: workflow_id -> run_id of its one open run (RESERVED included)
        self._open: dict[str, str] = {}
        self._stripes = [threading.RLock() for _ in range(stripes)]
        #: set by `shut`: every later message is refused
        self.shut_down = False

    # -- reading

    def lock(self, workflow_id: str) -> threading.RLock:
        return self._stripes[hash(workflow_id) % len(self._stripes)]

    def get(self, key: RunKey) -> RunEntry | None:
        return self._entries.get(key)

    def open_run(self, workflow_id: str) -> str | None:
        return self._open.get(workflow_id)

    def _match(self, key: RunKey, generation: int | None, *presences: Presence) -> RunEntry | None:
        """Under the lock: `key`'s entry if it is of `generation` (any when None) and in
        one of `presences` (any when none are given), else None."""
        entry = self._entries.get(key)
        if entry is None or (generation is not None and entry.generation != generation):
            return None
        return entry if not presences or entry.presence in presences else None

    def entries(self) -> list[RunEntry]:
        return list(self._entries.values())

    # -- starting

    def reserve(
        self,
        key: RunKey,
        workflow_type: str,
        version: str,
        parent: dict[str, Any] | None,
        *,
        refuse_open: bool,
        batch: Latch | None = None,
        successor: bool = False,
    ) -> RunEntry | None:
        """Make `key` its workflow's open run, before its `WorkflowStarted` is committed.

        None if the run already has an entry (a second start of one child).
        With `refuse_open`, a workflow_id that has an open run raises
        `WorkflowAlreadyStarted` — naming only a run that is (or will be) on
        disk: a reservation whose `batch` is still undecided raises
        `Undecided` instead, for the caller to wait on and try again. A continue-as-new
        `successor` leaves the workflow_id to its predecessor, whose `close` hands it over.
        """
        with self.lock(key.workflow_id):
            if key in self._entries:
                return None
            if successor:
                entry = self._entries[key] = RunEntry(
                    key, workflow_type, version, parent, Presence.RESERVED
                )
                return entry
            previous = self._open.get(key.workflow_id)
            if previous is not None:
                holder = self._entries.get(RunKey(key.workflow_id, previous))
                if holder is not None and holder.batch is not None and not holder.batch.is_set():
                    raise Undecided(holder.batch)
            if refuse_open and previous is not None:
                raise WorkflowAlreadyStarted(key.workflow_id, previous)
            entry = RunEntry(key, workflow_type, version, parent, Presence.RESERVED)
            entry.displaced, entry.batch = previous, batch
            self._entries[key] = entry
            self._open[key.workflow_id] = key.run_id
            return entry

    def withdraw(self, key: RunKey) -> list[object]:
        """A run whose start was never committed: forget it; returns what waited for it."""
        with self.lock(key.workflow_id):
            entry = self._entries.get(key)
            if entry is None or entry.closing is not None:
                return []
            del self._entries[key]
            if self._open.get(key.workflow_id) == key.run_id:
                if entry.displaced is None:
                    del self._open[key.workflow_id]
                else:
                    self._open[key.workflow_id] = entry.displaced
            return take_mailbox(entry)

    def admit(self, key: RunKey, handoff: Handoff) -> int | None:
        """Its first incarnation is to start on `handoff` (and commit the start); the generation."""
        with self.lock(key.workflow_id):
            entry = self._match(key, None, Presence.RESERVED)
            if entry is None:
                return None
            entry.handoff = handoff
            return next_generation(entry)

    def recovered(
        self,
        key: RunKey,
        workflow_type: str,
        version: str,
        parent: dict[str, Any] | None,
        *,
        parked: bool,
    ) -> None:
        """List an open run found in the store at open, without starting it."""
        with self.lock(key.workflow_id):
            presence = Presence.PARKED if parked else Presence.ABSENT
            self._entries[key] = RunEntry(key, workflow_type, version, parent, presence)
            self._open[key.workflow_id] = key.run_id

    # -- messages and incarnations

    def hold(self, entry: RunEntry, message: object) -> None:
        """Keep `message` until an incarnation takes it (a repeat of a held one is dropped)."""
        with self.lock(entry.key.workflow_id):
            if message not in entry.mailbox:
                entry.mailbox.append(message)

    def wake(self, entry: RunEntry) -> int | None:
        """An ABSENT run is needed: it becomes STARTING; the generation to spawn, else None."""
        with self.lock(entry.key.workflow_id):
            if entry.presence is not Presence.ABSENT or entry.closing is not None:
                return None
            return next_generation(entry)

    def await_type(self, key: RunKey, generation: int | None, reason: str) -> bool:
        """Its workflow type is not registered: it cannot start until it is."""
        with self.lock(key.workflow_id):
            entry = self._match(key, generation, Presence.STARTING, Presence.ABSENT)
            if entry is None:
                return False
            entry.presence, entry.reason, entry.handoff = Presence.AWAITING_TYPE, reason, None
            return True

    def type_registered(self, key: RunKey) -> int | None:
        """Its workflow type is registered now: the generation to spawn, or None."""
        with self.lock(key.workflow_id):
            entry = self._match(key, None, Presence.AWAITING_TYPE)
            if entry is None:
                return None
            entry.reason = None
            return next_generation(entry)

    def resume(self, key: RunKey) -> int | None:
        """A PARKED run is replayed again; the generation to spawn, or None if not parked."""
        with self.lock(key.workflow_id):
            entry = self._match(key, None, Presence.PARKED)
            if entry is None:
                return None
            entry.reason = None
            entry.pending = Incarnation(pid=0, resuming=True)
            return next_generation(entry)

    def hand_over(self, key: RunKey, generation: int, handoff: Handoff) -> None:
        """The history read for the incarnation of `generation`, which it replays."""
        with self.lock(key.workflow_id):
            if (entry := self._match(key, generation)) is not None:
                entry.handoff = handoff

    def take_handoff(self, key: RunKey) -> Handoff | None:
        with self.lock(key.workflow_id):
            entry = self._entries.get(key)
            if entry is None:
                return None
            handoff, entry.handoff = entry.handoff, None
            return handoff

    def incarnated(
        self, key: RunKey, generation: int, ref: Any
    ) -> tuple[Incarnation, list[object]] | None:
        """An incarnation starts: it is LIVE now. Returns what it is told and the
        messages that waited for it (in order); None if it is stale."""
        with self.lock(key.workflow_id):
            entry = self._match(key, generation, Presence.STARTING)
            if entry is None or self.shut_down:
                return None
            entry.presence, entry.ref = Presence.LIVE, ref
            incarnation, entry.pending = entry.pending or Incarnation(pid=0), None
            return incarnation, take_mailbox(entry)

    def started(self, key: RunKey, generation: int, pid: int | None) -> None:
        """The supervisor told the pid of this generation's incarnation."""
        with self.lock(key.workflow_id):
            if (entry := self._match(key, generation)) is not None and pid is not None:
                entry.pid = pid

    def restarting(self, key: RunKey, generation: int, incarnation: Incarnation) -> None:
        """The supervisor starts a replacement for a crashed incarnation of `generation`."""
        with self.lock(key.workflow_id):
            entry = self._match(key, generation)
            if entry is None:
                return
            entry.presence, entry.ref, entry.pending = Presence.STARTING, None, incarnation
            entry.pid = incarnation.pid

    def lost(self, key: RunKey, generation: int) -> bool:
        """This generation's actor is gone (crashed, or stopped unannounced): messages wait
        for what its supervisor does next. False if it was stale or already known."""
        with self.lock(key.workflow_id):
            entry = self._match(key, generation, Presence.LIVE)
            if entry is None:
                return False
            entry.presence, entry.ref = Presence.STARTING, None
            return True

    def exited(self, key: RunKey, generation: int) -> bool:
        """This generation's incarnation stopped for good without closing the run.
        True when messages wait for it, so it must be brought back at once."""
        with self.lock(key.workflow_id):
            entry = self._match(key, generation, Presence.LIVE, Presence.STARTING)
            if entry is None or self.shut_down:
                return False
            entry.presence, entry.ref, entry.pid = Presence.ABSENT, None, None
            return bool(entry.mailbox)

    def evicted(self, key: RunKey, generation: int) -> bool:
        """The LIVE incarnation leaves memory (idle); False if it is not the LIVE one."""
        with self.lock(key.workflow_id):
            entry = self._match(key, generation, Presence.LIVE)
            if entry is None:
                return False
            entry.presence, entry.ref, entry.pid = Presence.ABSENT, None, None
            return True

    # -- the store cannot write

    def stall(self, key: RunKey, generation: int, inputs: list[object]) -> bool:
        """The LIVE incarnation of `generation` could not commit: the run waits for the
        store, holding `inputs` (ahead of what else waits) for its next incarnation."""
        with self.lock(key.workflow_id):
            entry = self._match(key, generation, Presence.LIVE)
            if entry is None:
                return False
            entry.presence, entry.ref, entry.pid = Presence.STALLED, None, None
            held = [m for m in entry.mailbox if m not in inputs]
            entry.mailbox = [*inputs, *held]
            return True

    def unstall(self) -> list[tuple[RunKey, int]]:
        """The store writes again: every STALLED run starts again; the generations to spawn."""
        stalled = [e for e in list(self._entries.values()) if e.presence is Presence.STALLED]
        woken = []
        for entry in stalled:
            with self.lock(entry.key.workflow_id):
                if entry.presence is Presence.STALLED and not self.shut_down:
                    woken.append((entry.key, next_generation(entry)))
        return woken

    # -- parking and closing

    def closing(self, key: RunKey) -> bool:
        """An ABSENT run is ended without being brought back: CLOSING until it closes."""
        with self.lock(key.workflow_id):
            entry = self._match(key, None, Presence.ABSENT)
            if entry is None:
                return False
            entry.presence = Presence.CLOSING
            return True

    def reopen(self, key: RunKey) -> int | None:
        """Its ending could not be recorded: CLOSING becomes ABSENT again; the generation
        to spawn if messages wait for it."""
        with self.lock(key.workflow_id):
            entry = self._match(key, None, Presence.CLOSING)
            if entry is None:
                return None
            entry.presence = Presence.ABSENT
            return next_generation(entry) if entry.mailbox else None

    def park(self, key: RunKey, generation: int | None, reason: str) -> list[object] | None:
        """Restarts ran out, or replay diverged: the run waits for `resume`.

        Returns the requests that waited in its mailbox (to be recorded on
        its behalf now); other messages stay for the next incarnation. None
        if `generation` is stale or the run is closed.
        """
        with self.lock(key.workflow_id):
            entry = self._match(key, generation)
            if entry is None:
                return None
            entry.presence, entry.ref, entry.pid, entry.reason = Presence.PARKED, None, None, reason
            entry.pending = entry.handoff = None
            requests = [m for m in entry.mailbox if is_request(m)]
            entry.mailbox = [m for m in entry.mailbox if not is_request(m)]
            wake_watchers(entry)
            return requests

    def close(
        self, key: RunKey, closing: ev.Event, *, successor: RunEntry | None = None
    ) -> Closed | None:
        """The run ended with `closing` (committed). In one critical section: the entry
        leaves the table, its workflow_id is freed (or handed to `successor`, a
        continue-as-new run reserved beforehand), and its waiters are woken.
        None if it had already closed."""
        with self.lock(key.workflow_id):
            entry = self._entries.pop(key, None)
            if entry is None:
                return None
            entry.closing = closing
            entry.presence, entry.ref, entry.pid = Presence.ABSENT, None, None
            if self._open.get(key.workflow_id) == key.run_id:
                if successor is not None:
                    self._open[key.workflow_id] = successor.key.run_id
                else:
                    del self._open[key.workflow_id]
            callbacks, entry.callbacks = entry.callbacks, []
            watchers, entry.watchers = entry.watchers, []  # woken by the caller (`wakes`)
            return Closed(entry, take_mailbox(entry), callbacks, watchers)

    # -- waiting

    def watch(self, key: RunKey) -> tuple[RunEntry, Latch] | None:
        """A latch set when the run next parks or closes; None if it has no entry."""
        with self.lock(key.workflow_id):
            entry = self._entries.get(key)
            if entry is None:
                return None
            latch = Latch()
            entry.watchers.append(latch)
            return entry, latch

    def unwatch(self, key: RunKey, latch: Latch) -> None:
        """A waiter gave up: drop its latch."""
        with self.lock(key.workflow_id):
            entry = self._entries.get(key)
            if entry is not None and latch in entry.watchers:
                entry.watchers.remove(latch)

    def when_closed(self, key: RunKey, callback: Callable[[ev.Event], None]) -> bool:
        """Call `callback(closing)` when the run closes; False (not kept) if it has no entry."""
        with self.lock(key.workflow_id):
            entry = self._entries.get(key)
            if entry is None:
                return False
            entry.callbacks.append(callback)
            return True

    def shut(self) -> list[object]:
        """The engine closes: refuse every later message; returns every held one."""
        with contextlib.ExitStack() as locked:
            for stripe in self._stripes:
                locked.enter_context(stripe)
            self.shut_down = True
            for entry in self._entries.values():
                wake_watchers(entry)
            return [message for e in self._entries.values() for message in take_mailbox(e)]
