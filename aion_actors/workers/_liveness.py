"""Heartbeats and cancellation requests, as the pool's dispatcher thread applies them.

A heartbeat restarts its attempt's heartbeat clock (`WorkerProcess.beat`) and
hands its details on. An attempt still queued when cancelled ends at once as
`ActivityCancelled`, never run; one already sent to a worker, waiting there
behind another, is sent `[CANCEL, ids]` and answered unrun by the worker when
its turn comes (`_inbox`). A running one is sent `[CANCEL, ids]`, which
its next `heartbeat()` reads and raises as `ActivityCancelled`; its worker is
killed if the attempt is still running `grace` seconds later (see
`WorkerProcess.cancel`; for one cancelled while it waited, from when it
started). An attempt the pool no longer holds (it ended
meanwhile) is left alone.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from aion_actors.core import packb
from aion_actors.workers import _inbox
from aion_actors.workers._process import Job, State, WorkerProcess
from aion_actors.workers.errors import ActivityCancelled, CancelReason
from aion_actors.workers.task import AttemptKey, Outcome, failure

log = logging.getLogger("aion_actors.workers")

#: (the attempt, its grace in seconds, why it is told to stop)
Cancel = tuple[AttemptKey, float, CancelReason]


def beat(worker: WorkerProcess, details: Any) -> None:
    """The worker's attempt sent `[HEARTBEAT, details]`."""
    job = worker.job
    if job is None:
        return
    worker.beat(time.monotonic())
    if details is not None and job.beat is not None:
        try:
            job.beat(details)
        except Exception:
            log.exception("the heartbeat callback of activity %r raised", job.task.name)


def cancel(
    cancels: Sequence[Cancel],
    pending: deque[Job],
    workers: Iterable[WorkerProcess | None],
    now: float,
) -> list[tuple[Job, Outcome]]:
    """Apply `cancels` to the queued jobs and the busy workers; the jobs ended unrun."""
    ended: list[tuple[Job, Outcome]] = []
    held = {
        job.task.attempt.key: (worker, job)
        for worker in workers
        if worker is not None
        for job in worker.jobs
    }
    for key, grace, reason in cancels:
        queued = next((job for job in pending if job.task.attempt.key == key), None)
        if queued is not None:
            pending.remove(queued)
            unrun = ActivityCancelled(queued.task.name, "before it ran", reason)
            ended.append((queued, failure(unrun)))
        elif (found := held.get(key)) is not None and found[0].state is State.BUSY:
            worker, job = found
            job.cancel_reason = reason
            message = packb([_inbox.CANCEL, list(key), reason.value])
            if job is worker.job:
                worker.cancel(now, grace, message)
            else:
                worker.cancel_queued(job, grace, message)
    return ended


def wait_time(
    slots: Sequence[WorkerProcess | None],
    restart_at: Sequence[float],
    stop_at: float | None,
    now: float,
) -> float | None:
    """Seconds until the pool's next deadline (None: none): an attempt's limit, the end of
    a stop's grace (`stop_at`), or else an empty slot's restart."""
    moments = [w.deadline for w in slots if w is not None and w.deadline is not None]
    if stop_at is not None:
        moments.append(stop_at)
    else:
        moments.extend(at for w, at in zip(slots, restart_at, strict=True) if w is None)
    finite = [at for at in moments if at != math.inf]
    return max(0.0, min(finite) - now) if finite else None
