"""`Service`: one daemon thread that sleeps on a condition until told to stop.

The engine's background threads (timers, the pruner, rate alarms, the
evictor, a node's request reader) share one shape: a loop that waits on a
condition, woken by whoever made its work due, and a `close` that sets a
flag under that condition, wakes the loop and joins the thread. This class
is that shape, written once; a subclass writes `_serve` (the loop, which
returns once it sees `_stopped`) and may add `_stopping` (more to do under
the condition when `close` begins).
"""

from __future__ import annotations

import threading


class Service:
    def __init__(self, name: str, lock: threading.Lock | None = None) -> None:
        #: guards `_stopped` and whatever the subclass keeps for its loop; notified
        #: by whoever makes work due, and by `close`
        self._cond = threading.Condition(lock)
        #: False until `close`, then True for good (set under `_cond`)
        self._stopped = False
        #: runs `_serve`; started once, by `start`; joined by `close` (unless `close`
        #: runs on it)
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    @property
    def launched(self) -> bool:
        return self._thread.ident is not None

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop the loop and join its thread (from the thread itself: only ask)."""
        with self._cond:
            self._stopped = True
            self._stopping()
            self._cond.notify_all()
        if self.launched and self._thread is not threading.current_thread():
            self._thread.join()

    def _stopping(self) -> None:
        """More to do under the condition as `close` begins (nothing by default)."""

    def _serve(self) -> None:
        raise NotImplementedError
