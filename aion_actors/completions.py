"""`engine.complete_activity` / `engine.fail_activity`: closing an attempt from outside.

An activity that raised `CompleteLater` left its attempt open (recorded as
`ActivityHandedOff`, never run again, even after a crash); whoever holds its
`current_attempt().token` closes it here, on the engine that owns the run.
Each call returns once its event is committed, and closes the attempt at
most once: a second call, or one for an attempt that timed out, failed or
was superseded, raises `ActivityAlreadyClosed` and records nothing.
"""

from __future__ import annotations

from typing import Any

from aion_actors.core import (
    ActivityToken,
    PayloadConverter,
    check_payload,
    payloads,
    unpackb,
)
from aion_actors.runtime.runs import RunManager
from aion_actors.runtime.timeouts import call_timeout
from aion_actors.workers import CompleteLater, Outcome
from aion_actors.workers.task import failure


class Completions:
    def __init__(
        self, runs: RunManager, converter: PayloadConverter | None, max_payload_bytes: int
    ) -> None:
        self._runs = runs
        self._converter = converter
        self._max_payload_bytes = max_payload_bytes

    def complete(self, token: str, result: Any, timeout: float | None) -> None:
        """Record `result` as the attempt's result, checked as an activity's result is."""
        timeout = call_timeout(timeout, "complete_activity")
        attempt = ActivityToken.parse(token)
        value = payloads.encode(self._converter, result, "result")
        encoded = check_payload(value, "result", max_bytes=self._max_payload_bytes)
        # as a worker hands it back (a tuple is a list there), to the awaiting workflow
        self._runs.complete_activity(attempt, Outcome(ok=True, result=unpackb(encoded)), timeout)

    def fail(self, token: str, error: BaseException, timeout: float | None) -> None:
        """Record `error` as the attempt's failure: retried per its `RetryPolicy`, as if the
        activity had raised it (a `RetryAfter` chooses the wait)."""
        timeout = call_timeout(timeout, "fail_activity")
        attempt = ActivityToken.parse(token)
        if not isinstance(error, BaseException):
            raise TypeError(
                f"fail_activity(token, error): error must be an exception, got {error!r}"
            )
        if isinstance(error, CompleteLater):
            raise ValueError("fail_activity cannot hand the attempt off again: give its error")
        outcome = failure(error)
        check_payload(outcome.error, "error", max_bytes=self._max_payload_bytes)
        self._runs.complete_activity(attempt, outcome, timeout)
