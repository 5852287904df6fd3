"""`Lane`: one daemon thread that runs submitted calls in order.

The run manager hands work that may block (rehydrating a run by replay,
waking what waited for a registration, cancelling children, telling a
parent) to a lane, so the thread that noticed it — an actor's dispatcher
thread, the supervisor, a caller — goes on at once. Daemon threads, so an
engine that was never closed does not keep the interpreter alive; `close`
finishes (or drops) what was queued and joins.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("aion_actors.runtime")

_Call = tuple[Callable[..., object], tuple[Any, ...]]


class Lane:
    def __init__(self, name: str, drained: Callable[[], None] | None = None) -> None:
        self.name = name
        #: called in the lane's thread each time the last queued call has run
        self._drained = drained
        #: calls submitted and not yet run (or skipped)
        self._pending = 0
        #: calls in submission order; None tells the thread to stop
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        #: True once `close` began: `submit` refuses, queued calls may be dropped
        self._closed = False
        #: set by `close(drop=True)`: queued calls are skipped, not run
        self._dropping = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., object], *args: Any) -> bool:
        """Queue `fn(*args)`; False (and not queued) once the lane is closing."""
        with self._lock:
            if self._closed:
                return False
            self._pending += 1
            self._queue.put((fn, args))
            return True

    @property
    def busy(self) -> bool:
        """Whether a submitted call waits or runs."""
        return self._pending > 0

    def close(self, *, drop: bool = False) -> None:
        """Stop after the queued calls (or skipping them, with `drop`); join the thread.

        From the lane's own thread it only asks, and returns at once.
        """
        with self._lock:
            if not self._closed:
                self._closed = True
                self._dropping = drop
                self._queue.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _run(self) -> None:
        while True:
            call = self._queue.get()
            if call is None:
                return
            fn, args = call
            try:
                if not self._dropping:
                    fn(*args)
            except Exception:  # nobody waits on a lane: say it here
                log.exception("%s: %r failed", self.name, fn)
            with self._lock:
                self._pending -= 1
                drained = self._pending == 0
            if drained and self._drained is not None:
                self._drained()
