"""Activity attempts on their way to an executor, and back to their run.

Each attempt is dispatched once at a time (a duplicate dispatch, from a run
rehydrated by the attempt's own result, is dropped) and waits, without being
lost, while its activity is not registered yet. Attempts found running in
history at startup go out in waves of `RECOVERY_WAVE`: each result
rehydrates its run, and ten thousand recovered results arriving together
would make ten thousand runs resident at once while their next activities
queue behind the rest; in waves, runs finish as they go.

Each attempt gets the last recorded heartbeat details of its activity, and
its heartbeats' details go to its run, at most one per `record_interval`
(see `workers.heartbeats`); the details held back when it fails go with its
failure. A run's cancellation reaches the attempt through `cancel`.

A drain (`Engine.close(drain=)`) sends no attempt from its start on, nor lets
one waiting for its activity's limits go, and withdraws those an executor
holds queued, not started (behind busy workers or threads): they never start.
It waits only for those already started to land: their outcomes reach their
runs, which commit them before the engine closes; what did not start stays
recorded as scheduled, and the next engine sends it.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from aion_actors.core import events as ev
from aion_actors.core import faults
from aion_actors.runtime import messages as msg
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.definitions import DEFAULT_CANCEL_GRACE
from aion_actors.runtime.executors import Executors
from aion_actors.workers import WITHDRAWN, AttemptInfo, CancelReason, Outcome, Task
from aion_actors.workers.heartbeats import Throttle, record_interval

log = logging.getLogger("aion_actors.runtime")

#: recovered attempts in flight at once
RECOVERY_WAVE = 64

#: (workflow_id, run_id, the attempt's event, its activity's last heartbeat details)
Attempt = tuple[str, str, ev.ActivityScheduled, Any]
#: (workflow_id, run_id, activity_id, attempt number)
_AttemptKey = tuple[str, str, str, int]
Deliver = Callable[[str, str, object, Callable[[], None]], None]


class Attempts:
    def __init__(self, catalog: Catalog, executors: Executors, deliver: Deliver) -> None:
        self._catalog = catalog
        self._executors = executors
        self._deliver = deliver
        self._lock = threading.Lock()
        #: attempts sent and not yet reported, with their activity's name
        self._inflight: dict[_AttemptKey, str] = {}
        self._awaiting: dict[str, list[Attempt]] = {}
        self._recovered: collections.deque[Attempt] = collections.deque()
        self._recovering = 0
        self.closed = False
        #: set once by `drain`: from then on no attempt is sent
        self._draining = False
        #: notified as each attempt lands while draining
        self._landing = threading.Condition(self._lock)
        #: dispatches handing an attempt to the executors now (a drain waits for them)
        self._sending = 0

    def dispatch(
        self,
        workflow_id: str,
        run_id: str,
        event: ev.ActivityScheduled,
        heartbeat: Any = None,
        finished: Callable[[], None] | None = None,
        *,
        recovered: bool = False,
    ) -> bool:
        """Run the attempt, its outcome to be delivered to the run; False if not sent now.
        `heartbeat`: the details of its activity's last recorded heartbeat. `recovered`:
        found running in history as the engine opened, before the program could register
        its activities (its wait for one not registered yet is no warning, as a recovered
        run's wait for its workflow type is none)."""
        definition = self._catalog.activity(event.name)
        if definition is None:
            with self._lock:
                waiting = self._awaiting.setdefault(event.name, [])
                waiting.append((workflow_id, run_id, event, heartbeat))
            if len(waiting) == 1:  # once per name: a recovery may hold back thousands
                log.log(
                    logging.INFO if recovered else logging.WARNING,
                    "activity %r is not registered: run %s, and any other run that "
                    "needs it, waits until it is",
                    event.name,
                    run_id,
                )
            return False
        attempt = (workflow_id, run_id, event.activity_id, event.attempt)
        with self._lock:
            if attempt in self._inflight or self.closed or self._draining:
                return False
            self._inflight[attempt] = event.name
            self._sending += 1
        task = Task(
            name=event.name,
            args=list(event.input),
            attempt=AttemptInfo(workflow_id, run_id, event.activity_id, event.attempt, heartbeat),
            timeout=definition.timeout,
            heartbeat_timeout=definition.heartbeat_timeout,
        )
        sent = _Sent(self, attempt, finished, definition.heartbeat_timeout)
        try:
            self._executors.submit(definition, task, sent.done, sent.beat, event.deadline)
        finally:
            with self._lock:  # (`_landing`'s lock: a plain one is entered without Python)
                self._sending -= 1
                if self._draining:  # (began meanwhile: it waits for this submit to end)
                    self._landing.notify_all()
        return True

    @property
    def busy(self) -> bool:
        """Whether an attempt runs, or its outcome is on its way to its run (one that waits
        for its activity's rate alone waits for time, as a timer does)."""
        return len(self._inflight) > self._executors.held_for_time or bool(self._recovered)

    def drain(self, timeout: float) -> int:
        """Send no attempt from now on, nor let go one its activity's limits hold back,
        nor start one an executor holds queued (each waits for the next engine); wait up to
        `timeout` seconds for those running to land. How many had not by then."""
        deadline = time.monotonic() + timeout
        with self._landing:
            self._draining = True
            self._landing.wait_for(lambda: not self._sending)  # (a submit under way)
        self._executors.withdraw()  # (its `done(WITHDRAWN)` calls take the lock)
        with self._landing:
            self._landing.wait_for(self._landed_all, max(0.0, deadline - time.monotonic()))
            unstarted = self._executors.held_back + self._executors.withdrawing
            return max(0, len(self._inflight) - unstarted)

    def _landed_all(self) -> bool:
        return len(self._inflight) <= self._executors.held_back

    def held(self, workflow_id: str, run_id: str) -> int:
        """How many of the run's attempts wait for their activity's rate alone (an alarm's
        instant, as a timer's); 0 at once without rate limits."""
        return self._executors.held(workflow_id, run_id)

    def cancel(self, workflow_id: str, run_id: str, activity_id: str, reason: CancelReason) -> None:
        """Tell the activity's running attempt to stop, and why."""
        with self._lock:
            running = [
                (key, name)
                for key, name in self._inflight.items()
                if key[:3] == (workflow_id, run_id, activity_id)
            ]
        for key, name in running:
            definition = self._catalog.activity(name)
            grace = definition.cancel_grace if definition is not None else DEFAULT_CANCEL_GRACE
            self._executors.cancel(key, grace, reason)

    def recovered(self, attempts: list[Attempt]) -> None:
        """Attempts that were running when the engine stopped: dispatch them in waves."""
        with self._lock:
            self._recovered.extend(attempts)
        self._next_wave()

    def registered(self, names: list[str]) -> None:
        """Activities now registered: the attempts that waited for them go out."""
        with self._lock:
            waiting = [item for name in names for item in self._awaiting.pop(name, [])]
        if waiting:
            self.recovered(waiting)

    def waiting_for(self, workflow_id: str, run_id: str) -> str | None:
        with self._lock:
            for name, waiting in self._awaiting.items():
                if any((w, r) == (workflow_id, run_id) for w, r, _e, _h in waiting):
                    return name
        return None

    def report(
        self,
        attempt: _AttemptKey,
        outcome: Outcome,
        then: Callable[[], None],
        heartbeat: Any = None,
    ) -> None:
        """Deliver an attempt's outcome to its run; `then` once it is in the run's inbox.
        `heartbeat`: details held back by the throttle, recorded with a failure."""
        workflow_id, run_id, activity_id, number = attempt
        message = msg.ActivityOutcome(activity_id, number, outcome, heartbeat)
        self._deliver(workflow_id, run_id, message, then)

    def report_heartbeat(self, attempt: _AttemptKey, details: Any) -> None:
        workflow_id, run_id, activity_id, number = attempt
        message = msg.ActivityHeartbeat(activity_id, number, details)
        self._deliver(workflow_id, run_id, message, _nothing)

    def forget(self, attempt: _AttemptKey) -> None:
        """The attempt's outcome reached its run: a later dispatch of it may run again."""
        with self._lock:
            self._inflight.pop(attempt, None)
            if self._draining and self._landed_all():
                self._landing.notify_all()

    def _next_wave(self) -> None:
        while True:
            with self._lock:
                if self.closed or self._draining or not self._recovered:
                    return
                if self._recovering >= RECOVERY_WAVE:
                    return
                item = self._recovered.popleft()
                self._recovering += 1
            if not self.dispatch(*item, finished=self._landed, recovered=True):
                with self._lock:  # not sent (waits for registration, or already running)
                    self._recovering -= 1

    def _landed(self) -> None:
        with self._lock:
            self._recovering -= 1
        self._next_wave()


class _Sent:
    """One dispatched attempt: its outcome goes to the run, then the attempt is forgotten.

    One small object per attempt, where two closures cost two functions and a
    cell for each variable they shared.
    """

    __slots__ = ("_attempt", "_attempts", "_finished", "_heartbeat_timeout", "_throttle")

    def __init__(
        self,
        attempts: Attempts,
        attempt: _AttemptKey,
        finished: Callable[[], None] | None,
        heartbeat_timeout: float | None = None,
    ) -> None:
        self._attempts = attempts
        self._attempt = attempt
        self._finished = finished
        self._heartbeat_timeout = heartbeat_timeout
        #: built at the first heartbeat: most attempts send none
        self._throttle: Throttle | None = None

    def beat(self, details: Any) -> None:
        """Heartbeat details (never None), from the executor: recorded, throttled."""
        if self._throttle is None:
            self._throttle = Throttle(record_interval(self._heartbeat_timeout))
        go, details = self._throttle.offer(details)
        if go and not self._attempts.closed:
            self._attempts.report_heartbeat(self._attempt, details)

    def done(self, outcome: Outcome) -> None:
        if faults.ARMED:
            faults.hit("activity.unrecorded")
        if self._attempts.closed or outcome is WITHDRAWN:  # (it stays scheduled)
            self.landed()
            return
        throttle = self._throttle
        held = throttle.take_held() if throttle is not None and not outcome.ok else None
        self._attempts.report(self._attempt, outcome, self.landed, held)

    def landed(self) -> None:
        # Only now, with the outcome in the run's inbox: a run this outcome
        # rehydrates finds the attempt either still here or its outcome there.
        self._attempts.forget(self._attempt)
        if self._finished is not None:
            self._finished()


def _nothing() -> None:
    pass
