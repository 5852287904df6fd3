"""`Alarm`: one thread that calls each armed callback once its instant has come.

A rate limit that forbids a start now knows the exact instant it will
allow one; whoever holds the limit arms the alarm for that instant under
its own key (a queue's name, an activity's), and the alarm calls it back
then — nobody polls. One armed time per key: arming a key again keeps the
earlier of the two. Times are read from, and waited for on, the engine's
`Clock`. The thread starts at the first `arm` (an engine without rate
limits has none) and `close` stops and joins it; callbacks run on it, one
at a time, so they must be quick (the callers' are: bookkeeping under a
lock, then messages sent).

A virtual clock (`aion_actors.testing`) is told of the alarm (`Clock.alarm`):
it reads `next_at` and `busy` (plain attributes, no lock) to decide when the
engine is quiet and where to jump, and calls `wake` once it has moved; the
alarm then waits untimed, and tells the clock `settled()` after its calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable

from aion_actors.runtime.clock import Clock
from aion_actors.runtime.service import Service

log = logging.getLogger("aion_actors.runtime")


class Alarm(Service):
    def __init__(self, clock: Clock, name: str) -> None:
        super().__init__(name)
        self._clock = clock
        self._name = name
        #: key -> (when, callback): the armed calls
        self._armed: dict[Hashable, tuple[int, Callable[[], None]]] = {}
        #: the earliest armed instant (read by a virtual clock without the lock)
        self.next_at: int | None = None
        #: calls taken and running (read by a virtual clock without the lock)
        self._calling = False
        #: True: the clock wakes this alarm when its time comes (a virtual clock)
        self._woken_by_clock = clock.alarm(self)

    @property
    def busy(self) -> bool:
        """Whether a call is due or running."""
        at = self.next_at
        return self._calling or (at is not None and at <= self._clock.now_ns())

    def wake(self) -> None:
        with self._cond:
            self._cond.notify()

    def arm(self, key: Hashable, at_ns: int, call: Callable[[], None]) -> None:
        """Call `call` at `at_ns` (or as soon as possible if that has passed), unless `key`
        is armed for earlier already."""
        with self._cond:
            if self._stopped:
                return
            current = self._armed.get(key)
            if current is not None and current[0] <= at_ns:
                return
            self._armed[key] = (at_ns, call)
            self.next_at = min(at for at, _ in self._armed.values())
            if not self.launched:
                self.start()
            self._cond.notify()

    def _stopping(self) -> None:
        """What is armed is dropped."""
        self._armed.clear()
        self.next_at = None

    def _serve(self) -> None:
        while True:
            with self._cond:
                due = self._due()
                while not self._stopped and not due:
                    if self._armed and not self._woken_by_clock:
                        self._clock.wait(self._cond, min(at for at, _ in self._armed.values()))
                    else:
                        self._cond.wait()
                    due = self._due()
                if self._stopped:
                    return
            for call in due:
                try:
                    call()
                except Exception:  # nobody waits on an alarm: say it here
                    log.exception("%s: %r failed", self._name, call)
            self._calling = False
            self._clock.settled()

    def _due(self) -> list[Callable[[], None]]:
        """Take the calls whose time has come (holding the condition)."""
        now = self._clock.now_ns()
        keys = [key for key, (at, _) in self._armed.items() if at <= now]
        if keys:
            self._calling = True  # (before next_at moves: busy all along)
        due = [self._armed.pop(key)[1] for key in keys]
        self.next_at = min((at for at, _ in self._armed.values()), default=None)
        return due
