"""The `Outcome` each attempt of a `WorkerPool` ends with, from what happened to it.

Functions of the pool's state that return outcomes and change nothing: the
dispatcher thread delivers what they return, and keeps its own counters and
restart plan.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from aion_actors.core import WorkerCrashed, packb
from aion_actors.workers import _worker, errors
from aion_actors.workers._process import Job, KillReason, signal_name
from aion_actors.workers.control import timed_hand_off
from aion_actors.workers.errors import (
    ActivityCancelled,
    ActivityHeartbeatTimeout,
    AttemptTimeout,
    ExecutorClosed,
)
from aion_actors.workers.task import Outcome, Task, failure

__all__ = ["closed", "cut_short", "reply", "triage", "unstarted"]

#: bytes a worker's `[OK, result]` frame adds around the result's encoding
_OK_FRAME = len(packb([_worker.OK, None])) - len(packb(None))


def reply(
    message: list[Any],
    frame_size: int,
    task: Task,
    max_result_bytes: int,
    left: float | None = None,
) -> Outcome:
    """What a worker's `[OK, result]` or `[ERROR, error]` frame of `frame_size` bytes reports.

    A result over `max_result_bytes` fails the attempt: the worker's own
    encoding of it is measured, not redone. A `CompleteLater` takes along the
    `left` seconds of the attempt's timeout, by the clock the pool kills by.
    """
    if message[0] == _worker.ERROR:
        error = message[1] if left is None else timed_hand_off(message[1], task.timeout, left)
        return Outcome(ok=False, error=error)
    if (size := frame_size - _OK_FRAME) > max_result_bytes:
        return failure(errors.oversized_result(task.name, size, max_result_bytes))
    return Outcome(ok=True, result=message[1])


def cut_short(
    job: Job,
    exitcode: int | None,
    *,
    stopping: bool,
    killed: bool,
    why: KillReason = "timeout",
    grace: float = 0.0,
) -> Outcome:
    """The attempt whose worker ended (exited, or was `killed` by the pool `why`: its
    timeout, its heartbeat timeout, or its cancel `grace` ran out) before replying."""
    task = job.task
    if stopping:
        return closed(task)
    replaced = "its worker process was killed and replaced"
    if killed and why == "cancel":
        detail = f"it did not stop within {grace:g} s of being asked, so {replaced}"
        return failure(ActivityCancelled(task.name, detail, job.cancel_reason))
    if killed and why == "beat":
        assert task.heartbeat_timeout is not None
        return failure(ActivityHeartbeatTimeout(task.name, task.heartbeat_timeout, replaced))
    if killed:
        assert task.timeout is not None  # only an overrun deadline kills a worker
        return failure(AttemptTimeout(task.name, task.timeout, replaced))
    return failure(WorkerCrashed(task.name, exitcode, signal_name(exitcode)))


def closed(task: Task) -> Outcome:
    """The attempt the pool's closing leaves unrun or unfinished."""
    return failure(ExecutorClosed("process", task.name))


def triage(
    jobs: Iterable[Job],
    unavailable: Callable[[str], Outcome | None],
    broken: dict[str, Any] | None,
) -> tuple[list[Job], list[tuple[Job, Outcome]]]:
    """`jobs` split, in order, into those that may run and those answered at once.

    A job is answered by the outcome it came with, else by its activity's
    (`unavailable(name)`: it cannot run in a worker), else by the pool's
    `broken` error (no worker can start).
    """
    runnable: list[Job] = []
    answered: list[tuple[Job, Outcome]] = []
    when_broken = None if broken is None else Outcome(ok=False, error=broken)
    for job in jobs:
        outcome = job.early or unavailable(job.task.name) or when_broken
        if outcome is None:
            runnable.append(job)
        else:
            answered.append((job, outcome))
    return runnable, answered


def unstarted(
    jobs: Iterable[Job], pending: deque[Job], stopping: bool
) -> list[tuple[Job, Outcome]]:
    """Settle the `jobs` a worker that ended held behind the one it ran: they never started,
    so they are queued again, first, in order; except those cancelled meanwhile, which end
    unrun, and all of them when the pool is `stopping`, which end closed."""
    answered: list[tuple[Job, Outcome]] = []
    again: list[Job] = []
    for job in jobs:
        if stopping:
            answered.append((job, closed(job.task)))
        elif job.cancel_grace is not None:
            unrun = ActivityCancelled(job.task.name, "before it ran", job.cancel_reason)
            answered.append((job, failure(unrun)))
        else:
            again.append(job)
    pending.extendleft(reversed(again))
    return answered
