"""`Consuming`: which calls of other nodes a node's append answers, in its transaction.

A request applied here (see `aion_actors.nodes.applier`) is done when the
append of its event commits: that append deletes its row (`_requests.consume`).
A watch (a request to be answered when a run closes — or, if it asks, parks) is
done by the append that closes (or parks) the run. This ledger tells each
append's transaction which rows it consumes, and is told how the transaction
ended:

- a commit attempt that failed (a lost connection, retried) consumed nothing:
  the watches it took go back, so the retry — or the next append — answers
  them;
- a watch registered while the append closing (or parking) its run is in
  flight (its transaction took the run's watches but has not committed) would
  be missed by that append and yet see the run still open: `watch` waits until
  that transaction has ended, so its caller then reads the run's committed state.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from aion_actors.store import _projection as proj
from aion_actors.store.postgres._requests import PREFIX

#: (event kind, workflow_id, run_id)
Awaited = tuple[str, str, str]
#: (workflow_id, run_id)
Run = tuple[str, str]

#: longest a watch waits for the commit closing its run (one in doubt may take longer:
#: the watch is registered then; the retried commit consumes it)
_CLOSING_WAIT = 30.0


class Consuming:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ended = threading.Condition(self._lock)
        #: calls being applied here whose event names no request id -> request id
        self._awaited: dict[Awaited, str] = {}
        self._applying = 0
        #: requests whose rows an append deleted, until their applier asks (`applied`)
        self._consumed: set[str] = set()
        #: runs other nodes wait to see closed -> request id -> answered by a park too
        self._watched: dict[Run, dict[str, bool]] = {}
        #: the commit in flight: the runs it closes or parks (with the watches it
        #: answers), and the requests it consumes
        self._closing: dict[Run, dict[str, bool]] = {}
        self._taken: list[str] = []

    def applying(self, request_id: str, event: Awaited | None) -> None:
        with self._lock:
            self._applying += 1
            if event is not None:
                self._awaited.setdefault(event, request_id)

    def applied(self, request_id: str, event: Awaited | None) -> bool:
        with self._lock:
            self._applying -= 1
            if event is not None and self._awaited.get(event) == request_id:
                del self._awaited[event]
            if request_id in self._consumed:
                self._consumed.remove(request_id)
                return True
            return False

    def watch(self, request_id: str, run: Run, *, parks: bool = False) -> None:
        """`request_id` waits for `run` to close (or, `parks`, to park); returns once no
        commit closing or parking `run` is in flight (so a read of the run after this
        sees whether it closed, or parked)."""
        with self._ended:
            self._ended.wait_for(lambda: run not in self._closing, _CLOSING_WAIT)
            self._watched.setdefault(run, {})[request_id] = parks

    def unwatch(self, request_id: str, run: Run) -> None:
        with self._lock:
            ids = self._watched.get(run, {})
            ids.pop(request_id, None)
            if not ids:
                self._watched.pop(run, None)

    def consume(
        self, written: Iterable[proj.Prepared], closed: list[Run], parked: Iterable[Run] = ()
    ) -> list[str]:
        """In an append's transaction (one at a time): the request ids whose rows it
        deletes — those of the events it records, the watches of the runs it closes, and
        the watches asking to hear of a park of the runs it leaves `parked`."""
        ids: list[str] = []
        with self._lock:
            for request in written if self._applying else ():
                for event in request.events:
                    found = getattr(event, "request_id", None)
                    if not (isinstance(found, str) and found.startswith(PREFIX)):
                        found = self._awaited.get((event.kind, request.workflow_id, request.run_id))
                    if found is not None:
                        ids.append(found)
            self._consumed.update(ids)
            self._taken = list(ids)
            for run in closed:
                self._closing[run] = self._watched.pop(run, {})
            for run in parked:
                self._closing[run] = self._parks_of(run)
            for taken in self._closing.values():
                ids.extend(taken)
        return ids

    def _parks_of(self, run: Run) -> dict[str, bool]:
        """Take the watches of `run` that a park answers (the others wait for its close)."""
        watched = self._watched.get(run, {})
        taken = {request_id: True for request_id, parks in watched.items() if parks}
        for request_id in taken:
            del watched[request_id]
        if not watched:
            self._watched.pop(run, None)
        return taken

    def ended(self, committed: bool) -> None:
        """The append's transaction ended: `committed`, or not (then it consumed nothing:
        its watches wait again for the next append closing their runs)."""
        with self._ended:
            if not committed:
                for run, ids in self._closing.items():
                    if ids:
                        self._watched.setdefault(run, {}).update(ids)
                self._consumed.difference_update(self._taken)
            self._closing.clear()
            self._taken = []
            self._ended.notify_all()
