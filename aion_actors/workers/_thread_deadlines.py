"""The deadlines a `ThreadExecutor` watches: each attempt's timeout, and when to look at
its last heartbeat again; soonest first. Its executor's lock guards it."""

from __future__ import annotations

import heapq
import itertools

from aion_actors.workers._thread_entry import Entry

__all__ = ["Deadlines"]


class Deadlines:
    __slots__ = ("_heap", "_order")

    def __init__(self) -> None:
        #: (when, order, heartbeat?, entry)
        self._heap: list[tuple[float, int, bool, Entry]] = []
        self._order = itertools.count()

    def arm(self, entry: Entry, now: float, unsettled: int) -> None:
        """`entry`'s deadlines, from `now`; those of attempts already settled are dropped
        first when they outnumber the `unsettled` attempts."""
        if len(self._heap) > 2 * unsettled + 64:
            self._heap = [d for d in self._heap if not d[3].settled]
            heapq.heapify(self._heap)
        task = entry.task
        if task.timeout is not None:
            self.add(now + task.timeout, entry, beat=False)
        if task.heartbeat_timeout is not None:
            self.add(now + task.heartbeat_timeout, entry, beat=True)

    def add(self, when: float, entry: Entry, *, beat: bool) -> None:
        heapq.heappush(self._heap, (when, next(self._order), beat, entry))

    def first(self) -> float | None:
        """When the soonest is (None: there is none)."""
        return self._heap[0][0] if self._heap else None

    def due(self, now: float) -> bool:
        return bool(self._heap) and self._heap[0][0] <= now

    def pop(self) -> tuple[bool, Entry]:
        """The soonest: whether it is a heartbeat check, and its attempt."""
        _when, _order, beat, entry = heapq.heappop(self._heap)
        return beat, entry
