"""`PoolStats`: what a worker pool counts, as a snapshot; `Counts`: the counting."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PoolStats:
    """A snapshot of a pool's counters since it was built."""

    workers: int  #: live worker processes, starting, idle or busy
    completed: int  #: attempts that returned or raised inside a worker
    crashed: int  #: workers that died on their own after becoming ready
    #: workers killed because their attempt overran its timeout or heartbeat timeout
    timeouts: int
    replaced: int  #: processes started to replace a dead or killed worker
    start_failures: int  #: workers that died before becoming ready
    broken: bool = False  #: attempts fail at once: workers cannot start (see `WorkerPool`)


@dataclass(slots=True)
class Counts:
    """A pool's counters, kept by its dispatcher thread (see `PoolStats`)."""

    completed: int = 0
    crashed: int = 0
    timeouts: int = 0
    replaced: int = 0
    start_failures: int = 0

    def snapshot(self, workers: int, broken: bool) -> PoolStats:
        return PoolStats(
            workers,
            self.completed,
            self.crashed,
            self.timeouts,
            self.replaced,
            self.start_failures,
            broken,
        )
