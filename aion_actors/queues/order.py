"""`QueueState`: one queue's waiting and running runs, and which run goes next.

Pure bookkeeping under the caller's lock: no threads, no store. `take`
gives the free slots to waiting runs — the highest priority first, FIFO
within a priority (by enqueue order), and keys in turn (round robin), so
one key's backlog does not starve another key's runs; a key at its
`per_key` bound is passed over until one of its runs closes. A queue with a
`rate` gives no more slots than its `Window` admits (`take(now)`), and says
when it will admit the next (`next_start`).
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass

from aion_actors.core import RunKey
from aion_actors.queues.queue import Queue
from aion_actors.runtime.rates import Window


@dataclass(frozen=True, slots=True)
class Queued:
    """A run in a queue: which, its key, priority, dedup_id, and its place (enqueue order)."""

    run: RunKey
    key: str | None
    priority: int
    dedup_id: str | None
    order: tuple[int, int]


class QueueState:
    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        #: the starts of the rate's window (None: the queue has no rate)
        self.window = Window(queue.limit) if queue.limit is not None else None
        #: waiting runs by key: a heap of (-priority, order, run)
        self._heaps: dict[str | None, list[tuple[int, tuple[int, int], RunKey]]] = {}
        #: every waiting run (a run left out of here is skipped when its heap entry surfaces)
        self._waiting: dict[RunKey, Queued] = {}
        #: keys with waiting runs, in turn order (dicts keep insertion order)
        self._turns: dict[str | None, None] = {}
        #: runs holding a slot, and each key's count
        self.running: dict[RunKey, str | None] = {}
        self._per_key: Counter[str | None] = Counter()
        #: dedup_id -> the run holding it (queued or running); written through `hold`
        self.dedup: dict[str, RunKey] = {}
        #: ... and back: the dedup_id each run holds (a close frees it without a scan)
        self._dedup_of: dict[RunKey, str] = {}

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def holds(self, run: RunKey) -> bool:
        """Whether `run` waits here."""
        return run in self._waiting

    def eligible(self) -> bool:
        """Whether a waiting run may take a slot now (its key is not at its bound)."""
        return any(self._head(key) is not None and self.free(key) for key in list(self._turns))

    def free(self, key: str | None) -> bool:
        """Whether a run of `key` may take a slot now."""
        limit, per_key = self.queue.concurrency, self.queue.per_key
        if limit is not None and len(self.running) >= limit:
            return False
        return per_key is None or key is None or self._per_key[key] < per_key

    def limits(self, queue: Queue) -> None:
        """New limits for this queue (registered again); the rate's window keeps its starts."""
        self.queue = queue
        rate = queue.limit
        if rate is None:
            self.window = None
        elif self.window is None:
            self.window = Window(rate)
        elif self.window.rate != rate:
            self.window = self.window.renew(rate)

    def admits(self, now: int) -> bool:
        """Whether the rate lets one more run start at `now`."""
        return self.window is None or self.window.admits(now)

    def next_start(self, now: int) -> int | None:
        """When the rate lets the next waiting run start, if runs wait for the rate alone
        (a free slot, no room in the window); None otherwise."""
        if self.window is None or not self.waiting or self.window.admits(now):
            return None
        if self.queue.concurrency is not None and len(self.running) >= self.queue.concurrency:
            return None  # a closing run wakes the queue
        return self.window.next_at(now)

    def add(self, item: Queued) -> None:
        """`item` waits for a slot."""
        self._waiting[item.run] = item
        heapq.heappush(self._heaps.setdefault(item.key, []), (-item.priority, item.order, item.run))
        self._turns.setdefault(item.key, None)
        if item.dedup_id is not None:
            self.hold(item.dedup_id, item.run)

    def hold(self, dedup_id: str, run: RunKey) -> None:
        """`run` holds `dedup_id` (queued or running) until it closes."""
        self.dedup[dedup_id] = run
        self._dedup_of[run] = dedup_id

    def claim(self, run: RunKey, key: str | None) -> None:
        """`run` holds a slot (of its `key`)."""
        self.running[run] = key
        self._per_key[key] += 1

    def release(self, run: RunKey) -> bool:
        """`run` gives its slot back; False if it held none."""
        if run not in self.running:
            return False
        key = self.running.pop(run)
        self._per_key[key] -= 1
        if self._per_key[key] <= 0:
            del self._per_key[key]
        return True

    def unqueue(self, run: RunKey) -> Queued | None:
        """Take `run` out of the waiting runs (cancelled before it started); None if it was
        not waiting."""
        return self._waiting.pop(run, None)

    def closed(self, run: RunKey) -> bool:
        """`run` closed: it leaves the queue, and its dedup_id is free. True if it freed a
        slot."""
        self._waiting.pop(run, None)
        dedup_id = self._dedup_of.pop(run, None)
        if dedup_id is not None and self.dedup.get(dedup_id) == run:
            del self.dedup[dedup_id]
        return self.release(run)

    def take(self, now: int) -> list[Queued]:
        """Waiting runs that may run now, in the order they get their slots (each claimed,
        and granted a start in the rate's window)."""
        taken: list[Queued] = []
        while self._turns and self.admits(now):
            best: tuple[int, str | None] | None = None
            for key in list(self._turns):
                head = self._head(key)
                if head is None or not self.free(key):
                    continue
                if best is None or head[0] < best[0]:  # strictly higher priority wins
                    best = (head[0], key)
            if best is None:
                break
            key = best[1]
            _, _, run = heapq.heappop(self._heaps[key])
            item = self._waiting.pop(run)
            self.claim(run, key)
            if self.window is not None:
                self.window.grant()
            taken.append(item)
            del self._turns[key]  # its turn is over: to the back of the line
            if self._heaps[key]:
                self._turns[key] = None
        return taken

    def _head(self, key: str | None) -> tuple[int, tuple[int, int], RunKey] | None:
        """The next waiting run of `key` (dropping runs that left); None, and the key out of
        turn, when it has none."""
        heap = self._heaps.get(key, [])
        while heap and heap[0][2] not in self._waiting:
            heapq.heappop(heap)
        if not heap:
            self._heaps.pop(key, None)
            self._turns.pop(key, None)
            return None
        return heap[0]
