"""The cyclic garbage collector's thresholds while an engine is open.

With thousands of runs in flight, every message, event and pending commit
waits in a queue long enough to outlive two young collections, so it lands
in the oldest generation before it dies; and CPython starts a full
collection, which walks every live object (each resident run's machine,
ledger and history), whenever that generation has grown by a quarter.
Under CPython's default thresholds (700, 10, 10) a recovery of 10,000 runs
ran 13 full collections that freed nothing: 3 of its 10 seconds. The
engine's own objects do not need the collector (a finished run goes by
reference counting), so while an engine is open the young threshold is
10,000 (most of a burst's objects die before a young collection sees them),
the middle one 1,000 and the oldest 10: a middle collection comes every ten
million allocations (as a full one did before) and a full one is considered
after ten of them. Under a middle threshold of 10 the same recovery ran 15
middle collections, each walking the runs resident at that moment: half a
second of its CPU; now it runs none, and neither does a burst of a few
million allocations.

Only CPython's default thresholds are changed: an application that set its
own keeps them (`gc.set_threshold` before `Engine.open`). They are put back
when the last open engine of the process closes, unless someone changed
them meanwhile.
"""

from __future__ import annotations

import gc
import threading

#: CPython's own thresholds: the only ones the engine replaces
CPYTHON_THRESHOLDS = (700, 10, 10)
#: the thresholds while an engine is open
ENGINE_THRESHOLDS = (10_000, 1_000, 10)


class Collector:
    """The process's collector thresholds, shared by every engine open in it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        #: the thresholds to put back once the last holder lets go; None if we set none
        self._restore: tuple[int, ...] | None = None

    def hold(self) -> None:
        """An engine opens: raise CPython's default thresholds (only those)."""
        with self._lock:
            self._holders += 1
            if self._holders == 1 and gc.get_threshold() == CPYTHON_THRESHOLDS:
                self._restore = gc.get_threshold()
                gc.set_threshold(*ENGINE_THRESHOLDS)

    def release(self) -> None:
        """An engine closed: the last one puts the thresholds back, if they are still ours."""
        with self._lock:
            self._holders -= 1
            if self._holders or self._restore is None:
                return
            if gc.get_threshold() == ENGINE_THRESHOLDS:
                gc.set_threshold(*self._restore)
            self._restore = None


#: the one instance per process (the collector is per process too)
COLLECTOR = Collector()


class CollectorHold:
    """One engine's hold on the shared `Collector`: taken once, let go once."""

    def __init__(self, collector: Collector = COLLECTOR) -> None:
        self._collector = collector
        self._held = False

    def take(self) -> None:
        if not self._held:
            self._held = True
            self._collector.hold()

    def let_go(self) -> None:
        if self._held:
            self._held = False
            self._collector.release()
