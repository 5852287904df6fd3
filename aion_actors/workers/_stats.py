"""`PoolStats`: what a worker pool counts, as a snapshot."""

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
