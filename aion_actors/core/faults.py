"""Fault-injection points, for crash tests: off unless asked for, and free when off.

Set `AION_FAULTS="point:n[,point:n...]"` (or call `arm`) and the process
SIGKILLs itself the n-th time execution reaches `point`. Call sites read
`if faults.ARMED: faults.hit("point")`, so a disarmed engine pays one
global read per point.

Points: `commit.before`, `commit.after` (around each group commit),
`commit.middle` (inside the write transaction, half-way through a batch),
`activity.unrecorded` (an activity finished, its result not yet recorded),
`timer.firing` (a due timer is being reported), `child.starting` (after
`ChildStarted`, before the child's `WorkflowStarted`), `external.answering`
(another workflow recorded a request, the asker not yet told), `update.accepted`
(an update's handler ran, its `UpdateCompleted` not yet recorded), `continue_as_new`
(the old run closed, the new one not yet started), `reset` (an open run closed by
`engine.reset`, its new run not yet written), `evict`, `rehydrate`
`prune.middle` (a run being pruned is invisible, some of its events remain),
`request.written` (a node recorded a call for another node's run, not yet answered),
`request.applying` (the owner read such a request, its event not yet recorded) and
`child.requested` (a node recorded the start of a child another node owns, unanswered)
`backup.copied` (a backup's copy written and read back, not yet named its destination)
and `copy.batch` (a batch of `copy_store` committed in the destination, more to come).
"""

from __future__ import annotations

import os
import signal
import threading

POINTS = (
    "commit.before",
    "commit.after",
    "commit.middle",
    "activity.unrecorded",
    "timer.firing",
    "child.starting",
    "external.answering",
    "update.accepted",
    "continue_as_new",
    "reset",
    "evict",
    "rehydrate",
    "prune.middle",
    "request.written",
    "request.applying",
    "child.requested",
    "backup.copied",
    "copy.batch",
)

ARMED = False
_countdown: dict[str, int] = {}
_lock = threading.Lock()


def arm(spec: str) -> None:
    """Arm points from a spec like `"commit.after:3,evict:1"`; an empty spec disarms."""
    global ARMED
    countdown: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, count = item.partition(":")
        if name not in POINTS:
            raise ValueError(f"unknown fault point {name!r}; known points: {', '.join(POINTS)}")
        countdown[name] = int(count or 1)
    with _lock:
        _countdown.clear()
        _countdown.update(countdown)
        ARMED = bool(countdown)


def hit(point: str) -> None:
    """Count a pass through `point`; SIGKILL this process when its count runs out."""
    with _lock:
        left = _countdown.get(point)
        if left is None:
            return
        _countdown[point] = left - 1
    if left <= 1:
        os.kill(os.getpid(), signal.SIGKILL)


arm(os.environ.get("AION_FAULTS", ""))
