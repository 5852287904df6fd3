"""Backoff waits that never block the supervisor's mailbox.

A single thread per supervisor (started on the first non-zero delay) keeps a heap of
due times and hands each due message back to the supervisor actor with ``tell``, so
the supervisor answers calls while a child waits for its restart.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

from supervisor._waits import bounded

__all__ = ["Timers"]


class Timers:
    """Deliver ``message`` to ``deliver`` after ``delay`` seconds (monotonic clock)."""

    def __init__(self, deliver: Callable[[object], None]) -> None:
        #: called with each due message, from the timer thread; fixed
        self._deliver = deliver
        #: guards the fields below; notified on each change
        self._cond = threading.Condition()
        #: (due time, seq, message), a heap by due time then order of scheduling;
        #: empty once closed
        self._heap: list[tuple[float, int, object]] = []
        #: breaks ties in due time, so messages are never compared
        self._seq = itertools.count()
        #: started on the first `schedule`; then fixed
        self._thread: threading.Thread | None = None
        #: set once by `close`; nothing is scheduled or delivered afterwards
        self._closed = False

    def schedule(self, delay: float, message: object) -> None:
        with self._cond:
            if self._closed:
                return
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), message))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="supervisor-timers")
                self._thread.start()
            self._cond.notify()

    def close(self) -> None:
        """Drop pending messages and join the thread."""
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    if timeout is not None and timeout <= 0:
                        break
                    self._cond.wait(bounded(timeout))  # a backoff may be years
                if self._closed:
                    return
                message = heapq.heappop(self._heap)[2]
            self._deliver(message)
