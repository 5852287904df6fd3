"""The timer service: one thread that sleeps until the earliest durable timer.

It reads time from, and sleeps on, the engine's `Clock`: the wall clock, or a
test's virtual one, which it lets jump to `wake_at` when the engine is idle.

Timers live in the store's timer index, written in the same transaction as
the `TimerStarted` (or retry) event, so they survive any crash; this service
only decides *when* to tell a run. It never records anything: the run
records `TimerFired`, which removes the timer from the index, so a timer
reported twice (a race with a restart, a lost message) fires once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aion_actors.core import EngineClosed
from aion_actors.runtime.clock import SYSTEM_CLOCK, Clock
from aion_actors.runtime.service import Service
from aion_actors.store import DueTimer, EventStore

log = logging.getLogger(__name__)

#: a due timer reported to its run is reported again if still unfired after this long.
_RESEND_NS = 2_000_000_000
_FAR = 1 << 62
#: due timers reported per pass, so a backlog after downtime does not stall arming.
_BATCH = 1024


class TimerService(Service):
    def __init__(
        self, store: EventStore, fire: Callable[[DueTimer], None], clock: Clock = SYSTEM_CLOCK
    ) -> None:
        super().__init__("aion-timers")
        self._store = store
        self._fire = fire
        self._clock = clock
        self._wake_at = 0
        #: timers reported in the last `_RESEND_NS`, keyed with their fire time: an id set
        #: again for a later time (the next retry of one activity) is a new timer
        self._sent: dict[tuple[str, str, str, int], int] = {}

    def start(self) -> None:
        """Start the service; once it runs, look at the timer index again now (a node
        took partitions: their timers are to be seen)."""
        if not self.launched:
            super().start()
        else:
            self.arm(0)

    def arm(self, fire_at: int) -> None:
        """A timer was recorded; wake the service if it fires before the current sleep ends."""
        with self._cond:
            if fire_at < self._wake_at:
                self._wake_at = fire_at
                self._cond.notify()

    def _serve(self) -> None:
        while True:
            with self._cond:
                if self._stopped:
                    return
                self._wake_at = _FAR
            clock = self._clock
            try:
                wake_at = self._tick(clock.now_ns())
            except EngineClosed:  # (a read of the closing engine gave an outage up)
                wake_at = _FAR  # until the close stops it
            except Exception:
                log.exception("timer service failed to read the timer index; retrying in 1 s")
                wake_at = clock.now_ns() + 1_000_000_000
            with self._cond:
                wake_at = min(wake_at, self._wake_at)
                while not self._stopped and wake_at > clock.now_ns():
                    clock.wait(self._cond, wake_at)
                    wake_at = min(wake_at, self._wake_at)

    def _tick(self, now: int) -> int:
        """Report every due timer not reported recently; return when to look again."""
        sent = self._sent
        for key, at in list(sent.items()):
            if now - at >= _RESEND_NS:
                del sent[key]
        limit = len(sent) + _BATCH
        due = self._store.due_timers(now, limit=limit)
        present = set()
        for timer in due:
            key = _key(timer)
            present.add(key)
            if key not in sent:
                sent[key] = now
                self._fire(timer)
        if len(due) == limit:
            return now
        # `due` is every due timer: one reported and not among them has fired (its run
        # recorded it) or left this node; remembered, it would only make each look read more
        for key in [key for key in sent if key not in present]:
            del sent[key]
        # the due timers come first: one more row is the earliest upcoming one (or a
        # timer recorded meanwhile, due already: not reported, so looked at again now)
        upcoming = self._store.due_timers(_FAR, limit=len(due) + 1)
        pending = [t.fire_at for t in upcoming if _key(t) not in sent]
        next_at = min(pending, default=_FAR)
        if sent:
            next_at = min(next_at, min(sent.values()) + _RESEND_NS)
        return next_at


def _key(timer: DueTimer) -> tuple[str, str, str, int]:
    return (timer.workflow_id, timer.run_id, timer.timer_id, timer.fire_at)
