"""Which idle runs leave memory, and when.

A resident run costs its actor and workflow state; an evicted one costs a
registry entry, because its history is enough to bring it back. Runs report
when they become idle (waiting only on timers, signals or children); the
evictor asks the oldest idle ones to leave once they have idled for
`idle_after` seconds, or at once while more than `max_resident` runs are
resident (least recently active first).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from aion_actors.runtime.service import Service
from supervisor import bounded


class Evictor(Service):
    def __init__(
        self,
        evict: Callable[[Hashable], None],
        *,
        max_resident: int,
        idle_after: float | None,
    ) -> None:
        # Hot paths take the bare lock: a `Condition`'s `with` is Python code, run
        # for every run that starts and stops.
        self._lock = threading.Lock()
        super().__init__("aion-evictor", self._lock)
        self._evict = evict
        self.max_resident = max_resident
        self.idle_after = idle_after
        self._idle: OrderedDict[Hashable, float] = OrderedDict()
        self.resident = 0
        #: woken by `exited` for callers of `wait_within_limit` (counted, so that the hot
        #: path notifies only while someone waits)
        self._within_limit = threading.Condition(self._lock)
        self._limit_waiters = 0
        self.start()

    def started(self) -> None:
        self._lock.acquire()
        try:
            self.resident += 1
            if self.resident > self.max_resident:
                self._cond.notify()
        finally:
            self._lock.release()

    def exited(self, key: Hashable) -> None:
        self._lock.acquire()
        try:
            self.resident -= 1
            self._idle.pop(key, None)
            if self._limit_waiters and self.resident <= self.max_resident:
                self._within_limit.notify_all()
        finally:
            self._lock.release()

    def wait_within_limit(self, timeout: float) -> bool:
        """Block until at most `max_resident` runs are resident; False after `timeout`."""
        with self._within_limit:
            self._limit_waiters += 1
            try:
                return self._within_limit.wait_for(
                    lambda: self.resident <= self.max_resident, timeout
                )
            finally:
                self._limit_waiters -= 1

    def idle(self, key: Hashable, is_idle: bool) -> None:
        self._lock.acquire()
        try:
            if is_idle:
                first = not self._idle
                self._idle[key] = time.monotonic()
                self._idle.move_to_end(key)
                if first or self.resident > self.max_resident:
                    self._cond.notify()
            else:
                self._idle.pop(key, None)
        finally:
            self._lock.release()

    def is_idle(self, key: Hashable) -> bool:
        """Whether the resident run `key` last reported itself idle."""
        return key in self._idle

    def _serve(self) -> None:
        while True:
            with self._cond:
                if self._stopped:
                    return
                victims, wait = self._victims(time.monotonic())
                if not victims:
                    self._cond.wait(bounded(wait))  # idle_after may be years
                    continue
            for key in victims:
                self._evict(key)

    def _victims(self, now: float) -> tuple[list[Hashable], float | None]:
        victims: list[Hashable] = []
        excess = self.resident - self.max_resident
        while self._idle:
            key, since = next(iter(self._idle.items()))
            stale = self.idle_after is not None and now - since >= self.idle_after
            if not (stale or len(victims) < excess):
                wait = None if self.idle_after is None else since + self.idle_after - now
                return victims, wait
            del self._idle[key]
            victims.append(key)
        return victims, None
