"""`Reporter`: a thread of its own for reports, so that a slow exporter holds up no commit.

Ending a span hands it to the service's span processors in the thread that ends
it: with a `SimpleSpanProcessor`, the exporter's whole round trip. Reports are
made from commits, so `OtelTelemetry` puts each commit here and the recorder
goes on at once; the `aion-telemetry` thread makes the reports, in commit order.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from aion_actors.telemetry.guard import Complaints

T = TypeVar("T")

#: what the warnings say to do about an exporter too slow for the engine
_ADVICE = (
    "a span exporter or processor is slower than the engine commits "
    "(export through opentelemetry.sdk.trace.export.BatchSpanProcessor, not SimpleSpanProcessor)"
)


class Reporter(Generic[T]):
    """Calls `report(item)` for each item `put`, in order, in the `aion-telemetry` thread
    (started by the first item: none while nothing is reported).

    Items weigh what they cost to report (appends); while more than `limit` wait, a
    new item that weighs something is dropped (counted in a warning), not queued:
    memory stays bounded and commits never wait. `close` stops the thread once what
    was put is reported, or `grace` seconds later, dropping what still waits; a report
    under way then has `grace` seconds from its start to end, else (an exporter that
    hangs) the thread is left behind, a daemon, with a warning.
    """

    def __init__(
        self,
        report: Callable[[T], None],
        complaints: Complaints,
        *,
        limit: int,
        grace: float,
        name: str = "aion-telemetry",
    ) -> None:
        self._report = report
        self._complaints = complaints
        self._limit = limit
        self._grace = grace
        self._name = name
        self._cond = threading.Condition(threading.Lock())
        self._items: collections.deque[tuple[T, int]] = collections.deque()
        #: what the waiting items weigh together
        self._weight = 0
        self._thread: threading.Thread | None = None
        #: an item is being reported now, since this monotonic time
        self._busy = False
        self._began = 0.0
        self._closed = False
        #: monotonic time after which the items still waiting are dropped (set by `close`)
        self._deadline = math.inf
        #: items dropped: while too many waited, and as the close's grace ran out
        self.dropped = 0
        self.dropped_at_close = 0

    def put(self, item: T, weight: int) -> bool:
        """Queue `item` for the thread; False if it was dropped (too much waits, or closed).
        An item of weight 0 is always queued (until `close`)."""
        with self._cond:
            if self._closed:
                return False
            if weight and self._weight + weight > self._limit:
                self.dropped += 1
                dropped = self.dropped
            else:
                self._items.append((item, weight))
                self._weight += weight
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                    self._thread.start()
                elif len(self._items) == 1:  # the thread may be waiting for it
                    self._cond.notify_all()
                return True
        self._complaints.warn(
            "behind",
            f"telemetry fell behind: the reports of {dropped} commits were dropped so far, "
            f"since more than {self._limit} appends waited to be reported; {_ADVICE}",
        )
        return False

    @property
    def started(self) -> bool:
        """Whether anything was ever put (the thread runs, or ran)."""
        return self._thread is not None

    def late(self) -> bool:
        """Whether the close's grace has run out (a long report should stop)."""
        return time.monotonic() > self._deadline

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything put so far is reported; False if `timeout` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not (self._items or self._busy), timeout)

    def close(self) -> bool:
        """Report what was put (for up to `grace` s, then drop the rest) and stop the
        thread. True if everything was reported and the thread stopped."""
        with self._cond:
            self._closed = True
            self._deadline = time.monotonic() + self._grace
            thread = self._thread
            self._cond.notify_all()
        if thread is None or thread is threading.current_thread():
            return True
        began = time.monotonic()
        thread.join(self._grace)
        with self._cond:  # a report under way gets the grace from its own start
            last = self._began + self._grace if self._busy else time.monotonic() + self._grace
        thread.join(max(0.0, last - time.monotonic()))
        if thread.is_alive():
            self._complaints.warn(
                "stuck",
                f"the {self._name} thread is still inside one report "
                f"{time.monotonic() - began:.1f} s after the engine began to close: an "
                "OpenTelemetry span processor or exporter does not return; the close goes on "
                "without it, and the thread is left behind (a daemon: it ends with the "
                f"process), reporting nothing more; {_ADVICE}, and give its exporter a timeout",
            )
            return False
        if self.dropped_at_close:
            self._complaints.warn(
                "closing",
                f"the engine closed with the reports of {self.dropped_at_close} commits not "
                f"made: they were not through within {self._grace:g} s; {_ADVICE}",
            )
            return False
        return True

    def _run(self) -> None:
        cond = self._cond
        while True:
            with cond:
                self._busy = False
                if not self._items:
                    cond.notify_all()  # (`flush` waits for this)
                    while not self._items and not self._closed:
                        cond.wait()
                    if not self._items:
                        return
                item, weight = self._items.popleft()
                self._weight -= weight
                if self.late():
                    self.dropped_at_close += 1 if weight else 0
                    continue
                self._busy, self._began = True, time.monotonic()
            try:
                self._report(item)
            except Exception as exc:  # (`report` guards each of its own; this is the last net)
                self._complaints.failed("reporting a commit", exc)
