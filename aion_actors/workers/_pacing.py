"""Which worker takes each queued attempt: an idle one, else one busy with a short one.

A worker that answers one attempt at a time idles for the pool's whole round
trip between two: its reply waits for the pool's thread to get the GIL (behind
the engine's run threads), then the next RUN goes out. So a worker may hold up
to `DEPTH` attempts, run one after the other, and the pool reads their replies
together, with one read, and sends their successors together, with one write.

An attempt queued in a worker waits for the ones before it, even if another
worker frees up meanwhile. So an attempt is queued behind others only when no
worker is idle, and only where the wait is short: its activity and the one
running there usually take under `SHORT` seconds (a moving average of their
recent attempts, timed by the pool), and the one running has not yet run
longer than that. A slow attempt of a usually quick activity delays at most
the `DEPTH - 1` queued behind it. An activity not timed yet is never queued.

A worker's queue is also bounded in bytes (`QUEUED_BYTES`, well under what a
pipe buffers), so the pool's write of a RUN never blocks on a worker busy
writing its own replies.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from aion_actors.workers._process import Job, WorkerProcess

#: attempts a worker may hold, the running one included
DEPTH = 8
#: seconds an attempt must usually take, and the running one not yet have taken, to be queued
#: behind
SHORT = 0.02
#: bytes of RUN messages a worker may hold beyond its running attempt's
QUEUED_BYTES = 1 << 15
_WEIGHT = 0.2  # of the newest attempt in an activity's moving average


class Pace:
    """The moving average of each activity's attempt times (seconds), as the pool sees them."""

    __slots__ = ("_average",)

    def __init__(self) -> None:
        self._average: dict[str, float] = {}

    def ran(self, name: str, seconds: float) -> None:
        before = self._average.get(name)
        self._average[name] = seconds if before is None else before + _WEIGHT * (seconds - before)

    def short(self, name: str) -> bool:
        return self._average.get(name, SHORT) < SHORT


def assign(
    pending: deque[Job], ready: Sequence[WorkerProcess], pace: Pace, now: float
) -> list[WorkerProcess]:
    """Send queued jobs, in order, to the ready workers, each to the worker holding the
    fewest that takes it, each worker's share in one write; returns the workers found gone
    (their share put back, first)."""
    batches: dict[WorkerProcess, list[Job]] = {}
    counts = {worker: len(worker.jobs) for worker in ready}
    while pending:
        job = pending[0]
        takers = (
            w for w in sorted(counts, key=counts.__getitem__) if _fits(pace, w, batches, job, now)
        )
        worker = next(takers, None)
        if worker is None:
            break  # no worker takes it now: the rest wait, in order, for one that will
        pending.popleft()
        batches.setdefault(worker, []).append(job)
        counts[worker] += 1
    gone: list[WorkerProcess] = []
    for worker, jobs in batches.items():
        try:
            worker.run(jobs, now)
        except OSError:  # never reached the worker, so they may run elsewhere
            pending.extendleft(reversed(jobs))
            gone.append(worker)
    return gone


def _fits(
    pace: Pace, worker: WorkerProcess, batches: dict[WorkerProcess, list[Job]], job: Job, now: float
) -> bool:
    """Whether `job` may follow what `worker` holds plus what is about to go to it."""
    batch = batches.get(worker, [])
    if not worker.jobs and not batch:
        return True
    if not pace.short(job.task.name) or len(worker.jobs) + len(batch) >= DEPTH:
        return False
    queued = worker.queued_bytes + sum(len(j.message or b"") for j in batch[not worker.jobs :])
    if queued + len(job.message or b"") > QUEUED_BYTES:
        return False
    head = worker.job or batch[0]
    return pace.short(head.task.name) and (worker.job is None or now - worker.began < SHORT)
