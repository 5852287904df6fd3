"""Heartbeats and cancellation requests, as the pool's dispatcher thread applies them.

A heartbeat restarts its attempt's heartbeat clock (`WorkerProcess.beat`) and
hands its details on. An attempt still queued when cancelled ends at once as
`ActivityCancelled`, never run. A running one is sent `[CANCEL, ids]`, which
its next `heartbeat()` reads and raises as `ActivityCancelled`; its worker is
killed if the attempt is still running `grace` seconds later (see
`WorkerProcess.cancel`). An attempt the pool no longer holds (it ended
meanwhile) is left alone.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from aion_actors.core import packb
from aion_actors.workers import _worker
from aion_actors.workers._process import Job, State, WorkerProcess
from aion_actors.workers.errors import ActivityCancelled
from aion_actors.workers.task import AttemptKey, Outcome, failure

log = logging.getLogger("aion_actors.workers")

#: (the attempt, its grace in seconds)
Cancel = tuple[AttemptKey, float]


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
    busy = {w.job.task.attempt.key: w for w in workers if w is not None and w.job is not None}
    for key, grace in cancels:
        queued = next((job for job in pending if job.task.attempt.key == key), None)
        if queued is not None:
            pending.remove(queued)
            ended.append((queued, failure(ActivityCancelled(queued.task.name, "before it ran"))))
        elif (worker := busy.get(key)) is not None and worker.state is State.BUSY:
            worker.cancel(now, grace, packb([_worker.CANCEL, list(key)]))
    return ended
