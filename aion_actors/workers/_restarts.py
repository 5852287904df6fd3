"""When a worker pool restarts its workers, and when it is broken: the supervision rules.

The pool supervises its workers as a `supervisor` does its children, with
the same `RestartWindow` (intensity: more than `max_restarts` restarts within
`within_seconds`) and `Backoff` (`min(max, initial * multiplier**n) * (1 +
jitter * U[0,1))`, n = earlier restarts in the window). Only those three
settings of the pool's `RestartPolicy` apply: each worker is replaced on
its own, always.

The rule, as `WorkerPool` documents it:

1. Every replacement — after a crash, a timeout kill or a failed start — is
   a restart: recorded in the window, and started after the backoff delay.
2. A worker that fails to start in a way known to be permanent (its main
   script opened an engine: `EXIT_UNGUARDED`), or with the same exit code
   `SAME_FAILURE_LIMIT` times in a row while no worker is ready, will never
   start: the pool is broken for good and stops starting workers.
3. Failed starts that exhaust the window make the failing slot retry once
   every `slow_retry` seconds (`backoff.max`, at least 1 s); if no worker is
   ready either, the pool is broken meanwhile.
4. While broken, queued and new attempts fail at once with
   `WorkerStartFailed` (never retried). A worker that becomes ready repairs
   the pool: every empty slot starts again.
5. Crashes that exhaust the window break nothing: workers do start, each
   crash is reported to the attempt it cut short, and crashes come no faster
   than the attempts that cause them. The pool says so once in the log.

Every change of state is logged once; nothing here sleeps or polls.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aion_actors.core import error_info
from aion_actors.workers.errors import WorkerStartFailed
from supervisor import Backoff, RestartPolicy, RestartWindow

log = logging.getLogger("aion_actors.workers")

#: how the engine supervises its workers unless `[workers]` in `aion.toml` says otherwise:
#: replace at once, and more than 10 restarts in 10 s is a storm.
DEFAULT_WORKER_RESTART = RestartPolicy(
    max_restarts=10,
    within_seconds=10.0,
    backoff=Backoff(initial=0.0, multiplier=2.0, max=5.0, jitter=0.0),
)
SAME_FAILURE_LIMIT = 3
_SLOW_RETRY_MIN = 1.0
NEVER = math.inf


@dataclass(frozen=True, slots=True)
class StartFailure:
    """Why one worker process did not become ready."""

    detail: str  #: what happened, naming the culprit and what to do
    key: tuple[object, ...]  #: equal keys mean the same failure again
    deterministic: bool  #: an exit code (the same code gives the same result), not a signal
    permanent: bool = False  #: known never to succeed
    module: str | None = None  #: the module it died importing: that module's fault, not the pool's
    trace: str | None = None


class RestartPlan:
    """The dispatcher thread's plan of worker restarts; `restart_at[i]` is when slot i starts."""

    def __init__(
        self,
        policy: RestartPolicy,
        size: int,
        *,
        random_source: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self.restart_at = [0.0] * size
        self.broken: dict[str, Any] | None = None  #: the error attempts fail with, while broken
        self.permanent = False
        self.slow_retry = max(policy.backoff.max, _SLOW_RETRY_MIN)
        self._window = RestartWindow(policy)
        self._random = random_source
        self._streak = 0  # failed starts since a worker was last ready
        self._same: tuple[tuple[object, ...] | None, int] = (None, 0)
        self._retry_slot: int | None = None  # the one slot a broken pool keeps retrying
        self._crash_storm = False  # logged once per episode of crashes beyond the window
        self._start_storm = False  # logged once until a worker starts again

    def lost(self, index: int, now: float) -> None:
        """A ready worker died or was killed: plan its replacement (rules 1 and 5)."""
        count = self._add(now)
        exhausted = count > self.policy.max_restarts
        if exhausted and not self._crash_storm:
            log.warning(
                "worker processes were replaced more than %d times within %g s: activities "
                "keep killing them (their runs record WorkerCrashed or AttemptTimeout); "
                "the pool keeps replacing them",
                self.policy.max_restarts,
                self.policy.within_seconds,
            )
        self._crash_storm = exhausted
        self.restart_at[index] = now + self._delay(count)

    def start_failed(self, index: int, failure: StartFailure, now: float, any_ready: bool) -> None:
        """Slot `index` failed to start: plan its retry, or judge the pool broken (rules 1-4)."""
        self._streak += 1
        key, same = self._same
        self._same = (failure.key, same + 1 if key == failure.key else 1)
        if self.broken is not None:
            retry = not self.permanent and index == self._retry_slot
            self.restart_at[index] = now + self.slow_retry if retry else NEVER
            log.debug("worker process failed to start again: %s", failure.detail)
            return
        repeated = failure.deterministic and self._same[1] >= SAME_FAILURE_LIMIT
        if failure.permanent or (repeated and not any_ready):
            self._break(failure, permanent=True)
            return
        count = self._add(now)
        if count > self.policy.max_restarts:
            self.restart_at[index] = now + self.slow_retry
            if not any_ready:
                self._retry_slot = index
                self._break(failure, permanent=False)
            elif not self._start_storm:
                self._start_storm = True
                log.warning(
                    "a worker process failed to start, beyond %d restarts within %g s; that "
                    "slot retries every %g s while the other workers run: %s",
                    self.policy.max_restarts,
                    self.policy.within_seconds,
                    self.slow_retry,
                    failure.detail,
                )
            return
        delay = self._delay(count)
        self.restart_at[index] = now + delay
        log.log(
            logging.WARNING if self._streak == 1 else logging.DEBUG,
            "worker process failed to start (%d in a row, next try in %.2f s): %s",
            self._streak,
            delay,
            failure.detail,
        )

    def ready(self, now: float) -> None:
        """A worker became ready: a broken pool is repaired and its empty slots start again."""
        self._streak = 0
        self._same = (None, 0)
        self._start_storm = False
        if self.broken is None:
            return
        log.info("a worker process started: the pool runs activities again")
        self.broken = None
        self.permanent = False
        self._retry_slot = None
        self.restart_at = [min(at, now) for at in self.restart_at]

    def _break(self, failure: StartFailure, *, permanent: bool) -> None:
        self.permanent = permanent
        if permanent:
            consequence = (
                "the pool stopped starting workers and fails their attempts at once; fix the "
                "cause, then restart the engine"
            )
            self.restart_at = [NEVER] * len(self.restart_at)
        else:
            consequence = (
                f"the pool retries one worker every {self.slow_retry:g} s and fails attempts at "
                "once until one starts"
            )
            self.restart_at = [
                at if i == self._retry_slot else NEVER for i, at in enumerate(self.restart_at)
            ]
        error = WorkerStartFailed(failure.detail, consequence)
        self.broken = error_info(error, traceback=failure.trace)
        log.error("%s", error)

    def _add(self, now: float) -> int:
        count: int = self._window.add(now)
        return count

    def _delay(self, count: int) -> float:
        delay: float = self.policy.backoff.delay(count - 1, self._random)
        return delay
