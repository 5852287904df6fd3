"""Exceptions an activity raises to steer its own attempt, and how they cross to the engine.

They are not errors of the activity's work: `RetryAfter` fails the attempt
and chooses the wait before the next one; `CompleteLater` leaves the attempt
open for `engine.complete_activity` / `engine.fail_activity` to close later.
Like every attempt outcome they cross the process boundary as an error map,
each with an explicit field (`retry_after`, `complete_later`) that only these
classes set: an activity's own exception that happens to share the class
name is an ordinary failure.
"""

from __future__ import annotations

import math
from typing import Any, Final

#: the error-map field of a `RetryAfter`: seconds before the next attempt
RETRY_AFTER: Final = "retry_after"
#: the error-map field of a `CompleteLater`: true
COMPLETE_LATER: Final = "complete_later"
#: the error-map fields an executor adds to a `CompleteLater` of an attempt with a
#: timeout: that timeout, and the seconds of it left when the function raised
ATTEMPT_TIMEOUT: Final = "attempt_timeout"
TIMEOUT_LEFT: Final = "timeout_left"


class RetryAfter(Exception):
    """Fail this attempt and start the next one after `seconds` (instead of the policy's wait).

    The attempt counts as failed: with `max_attempts` reached the activity
    fails as usual, and `ctx.activity(timeout=)` still bounds the whole.
    `non_retryable` does not apply: the activity asked for the retry.
    """

    def __init__(self, seconds: float, message: str = "") -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TypeError(f"RetryAfter(seconds): expected a number, got {seconds!r}")
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"RetryAfter(seconds) must be a finite number >= 0, got {seconds}")
        self.seconds = float(seconds)
        self.message = message
        super().__init__(message or f"the activity asked to be retried in {seconds:g} s")


class CompleteLater(Exception):
    """End this attempt's function without ending the attempt: something else completes it.

    Store `current_attempt().token` where that something can reach it first;
    it calls `engine.complete_activity(token, result)` or
    `engine.fail_activity(token, error)`, exactly once. The attempt's `timeout`, if
    it has one, keeps running from when the function started: the executor reports
    what is left of it (`timed_hand_off`), and an attempt not completed by then fails
    with `AttemptTimeout`.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(message or "the attempt is handed off, to be completed later")


def control_fields(exc: BaseException) -> dict[str, Any]:
    """The error-map fields that say what `exc` asks of the engine (none for other errors)."""
    if isinstance(exc, RetryAfter):
        return {RETRY_AFTER: exc.seconds}
    if isinstance(exc, CompleteLater):
        return {COMPLETE_LATER: True}
    return {}


def retry_after(error: dict[str, Any]) -> float | None:
    """The delay a recorded error asks for, if it is a `RetryAfter` (and a sane number)."""
    value = error.get(RETRY_AFTER)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def completes_later(error: dict[str, Any] | None) -> bool:
    """Whether an attempt's error map is a `CompleteLater`."""
    return error is not None and error.get(COMPLETE_LATER) is True


def timed_hand_off(error: dict[str, Any], timeout: float | None, left: float) -> dict[str, Any]:
    """`error`, if it is a `CompleteLater` of an attempt with a `timeout`, with that timeout
    and the `left` seconds of it the attempt's clock still had (the executor's clock: the
    hand-off keeps it running); any other error as it is."""
    if timeout is None or not completes_later(error):
        return error
    return {**error, ATTEMPT_TIMEOUT: timeout, TIMEOUT_LEFT: max(0.0, left)}


def time_left(error: dict[str, Any]) -> tuple[float, float] | None:
    """The (timeout, seconds left of it) a `CompleteLater` error map carries, if any."""
    timeout, left = error.get(ATTEMPT_TIMEOUT), error.get(TIMEOUT_LEFT)
    numbers = [v for v in (timeout, left) if isinstance(v, int | float)]
    if len(numbers) != 2 or any(isinstance(v, bool) or not math.isfinite(v) for v in numbers):
        return None
    return float(numbers[0]), max(0.0, float(numbers[1]))
