"""A drain's withdrawal from a `WorkerPool`: from then on no attempt starts.

Asked for by any thread (`WorkerPool.withdraw`), applied by the pool's
dispatcher thread, which the asking thread waits for: each attempt queued in
the pool ends at once, unrun, as `WITHDRAWN`; each worker holding attempts
behind its running one (`_pacing`) is told to start none of them, and
answers each `WITHDRAWN` in turn once its running one ends (`_inbox`; one it
had started before it read that runs, and its outcome is delivered). An
attempt queued later (a submit that raced the drain, one a dead worker held)
is withdrawn as it comes. `answering` counts the attempts a worker still
holds so: a drain that runs out does not count them as running.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterable

from aion_actors.workers._process import Job, WorkerProcess
from aion_actors.workers.task import WITHDRAWN, Outcome

__all__ = ["Withdrawal"]


class Withdrawal:
    """One pool's withdrawal: asked for (under the pool's lock), then applied."""

    __slots__ = ("_applied", "_told", "answering", "asked")

    def __init__(self) -> None:
        #: set under the pool's lock by `WorkerPool.withdraw` (then the dispatcher is woken)
        self.asked = False
        #: whether the workers were told (by the dispatcher thread)
        self._told = False
        #: attempts withdrawn inside a worker and not answered yet (the dispatcher's)
        self.answering = 0
        self._applied = threading.Event()

    def wait(self) -> None:
        """Until the dispatcher has applied it (or ended)."""
        self._applied.wait()

    def take(
        self, pending: deque[Job], workers: Iterable[WorkerProcess | None]
    ) -> list[tuple[Job, Outcome]]:
        """The queued jobs, each to be answered `WITHDRAWN` (`pending` is emptied); the first
        time, each worker is told to start none of those it holds behind its running one.
        Whoever waits for the withdrawal goes on."""
        if not self._told:
            self._told = True
            for worker in workers:
                if worker is not None and len(worker.jobs) > 1:
                    worker.withdraw_queued()
                    for job in itertools.islice(worker.jobs, 1, None):
                        job.withdrawn = True
                        self.answering += 1
        taken = [(job, WITHDRAWN) for job in pending]
        pending.clear()
        self._applied.set()
        return taken

    def answered(self, job: Job) -> None:
        """`job` got its outcome: no longer counted as held unrun in a worker."""
        if job.withdrawn:
            job.withdrawn = False
            self.answering -= 1

    def release(self) -> None:
        """The dispatcher ended: nothing is left to apply it to."""
        self._applied.set()
