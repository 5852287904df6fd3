"""`Port`: the run table's verbs for callers that must not block (`aion_actors.aio`).

The engine's own verbs wait for a commit on the caller's thread; these hand
back at once and tell the caller later, on whichever thread makes it true:
a start's `Ack` resolves at its commit, a request's at its commit, and
`watch` calls back when the run next parks or closes — or, for a run another
node holds, `watch_elsewhere` when its owner has closed it (or parked it, if asked).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from aion_actors.core import AionError, RunKey
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.runtime.runs.closings import Closings
from aion_actors.runtime.runs.entry import Presence, RunEntry
from aion_actors.runtime.runs.requests import Requests
from aion_actors.runtime.runs.residency import Residency
from aion_actors.runtime.runs.starts import NewRun, Starts
from aion_actors.runtime.runs.table import RunTable
from supervisor import Latch


class _Calling(Latch):
    """A watcher that calls back when set (once), rather than wake a blocked thread."""

    __slots__ = ("_callback",)

    def __init__(self, callback: Callable[[], None]) -> None:
        super().__init__()
        self._callback = callback

    def set(self) -> None:
        first = not self.is_set()
        super().set()
        if first:
            self._callback()


class Port:
    def __init__(
        self,
        table: RunTable,
        starts: Starts,
        requests: Requests,
        residency: Residency,
        catalog: Catalog,
        closings: Closings,
    ) -> None:
        self._table = table
        self._starts = starts
        self._requests = requests
        self._residency = residency
        self._catalog = catalog
        self._closings = closings

    def begin_starts(
        self, definition: WorkflowDefinition, new: Sequence[NewRun]
    ) -> list[msg.Ack | None]:
        """Start `new` runs; each `Ack` resolves once that run's start is committed."""
        return self._starts.begin(definition, new)

    def send(self, key: RunKey, request: msg.RequestMessage) -> None:
        """Route a change request; its ack resolves once it is recorded (or never will be)."""
        self._requests.send(key, request)

    def given_up(
        self, key: RunKey, request: msg.RequestMessage, timeout: float | None
    ) -> str | None:
        """The caller of `request` stopped waiting after `timeout` s: what its `TimeoutError`
        says, the request kept as `Engine`'s are (handed on, on a node, should its partition
        leave first); None if it was resolved meanwhile (see `Requests.given_up`)."""
        return self._requests.given_up(key, request, timeout)

    def watch(
        self, key: RunKey, callback: Callable[[ev.Event | None], None], *, now_if_parked: bool
    ) -> Callable[[], None]:
        """`callback(closing)` when the run next parks (`closing` None) or closes — at once
        (None) if this engine does not hold it open, or (`now_if_parked`) it is parked now.
        It runs on the thread that parks or closes the run: keep it quick. Returns what
        drops the watch, for a caller that gives up first (a timeout, a cancel): the run
        would keep it for as long as it stays open (harmless once called back)."""
        with self._table.lock(key.workflow_id):
            entry = self._table.get(key)
            parked = entry is not None and entry.presence is Presence.PARKED
            if entry is not None and not self._table.shut_down and not (parked and now_if_parked):
                watched = entry
                latch = _Calling(lambda: callback(watched.closing))
                entry.watchers.append(latch)
                return functools.partial(self._table.unwatch, key, latch)
        callback(None)
        return _kept_nothing

    def closed_now(
        self, key: RunKey, *, raise_on_park: bool
    ) -> tuple[RunKey, ev.Event | None, bool]:
        """Where the chain of runs from `key` has got to: its last run and closing event,
        or the run still open, None, and whether another node holds it (then
        `watch_elsewhere` follows it, else `watch`; see `Closings.closed_now`). It may
        read the store: call it off the event loop."""
        return self._closings.closed_now(key, raise_on_park=raise_on_park)

    def watch_elsewhere(
        self, key: RunKey, callback: Callable[[], None], *, parks: bool = False
    ) -> Callable[[], None]:
        """A node's: `callback()` (on the node's answer thread) once run `key`, which it
        does not hold, has closed (`parks`: or parked) on the node that holds it — told
        by its owner's answer, as `Engine.result` is, nobody polling; at once if it has
        closed (parked) already. Returns what withdraws the watch (without blocking), for
        a caller that gives up first. It records the watch in the store: call it off the
        event loop."""
        if self._closings.watch is None:
            raise AionError(f"run {key.run_id} is not open in this engine, which is no node")
        return self._closings.watch(key, callback, parks)

    def overdue_elsewhere(self, key: RunKey, timeout: float | None) -> TimeoutError:
        """The `TimeoutError` of a wait for run `key`, held by another node, to end (naming
        that node). It reads the store: call it off the event loop."""
        return self._closings.overdue_elsewhere(key, timeout)

    def deliver(self, key: RunKey, message: object) -> bool:
        """Hand a query or an update call to the run's live state; False (not handed) when
        the engine answers it another way — from history (the run is not open here, or
        parked) or with a refusal (its type is not registered): the caller's blocking
        path then answers at once, without waiting on the run."""
        entry = self._table.get(key)
        if entry is None or entry.presence is Presence.PARKED or self._unregistered(entry):
            return False
        self._residency.deliver(key, message)
        return True

    def _unregistered(self, entry: RunEntry) -> bool:
        return self._catalog.workflow(entry.workflow_type) is None


def _kept_nothing() -> None:
    """The run was not watched (it was called back at once): nothing to drop."""
