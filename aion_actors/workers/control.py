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
    `engine.fail_activity(token, error)`, exactly once.
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
