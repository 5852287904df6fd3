"""Activities and workflows for the retry details: unlimited attempts, a `non_retryable`
predicate, `RetryAfter`. Each activity exists on both executors (`<name>_thread`,
`<name>_process`); the functions stay at module level so workers can import them."""

from __future__ import annotations

from typing import Any

from aion_actors import (
    ActivityError,
    AttemptFailure,
    RetryAfter,
    RetryPolicy,
    WorkflowContext,
    activity,
    current_attempt,
    workflow,
)
from aion_actors.runtime import ActivityDefinition

#: more attempts than the default policy's 3
SUCCEEDS_ON = 6


def fails_until_sixth() -> int:
    attempt = current_attempt().attempt
    if attempt < SUCCEEDS_ON:
        raise RuntimeError(f"attempt {attempt} fails")
    return attempt


def permanent_on_third() -> None:
    attempt = current_attempt().attempt
    raise RuntimeError("permanent: card closed" if attempt >= 3 else f"transient {attempt}")


def asks_for_a_pause() -> int:
    attempt = current_attempt().attempt
    if attempt == 1:
        raise RetryAfter(0.3, "rate limited")
    return attempt


def always_asks_for_a_pause() -> None:
    raise RetryAfter(0.01)


def asks_for_a_long_pause() -> None:
    raise RetryAfter(60)


def fails_once() -> None:
    raise RuntimeError("no luck")


def _stop_on_permanent(failure: AttemptFailure) -> bool:
    return failure.type == "RuntimeError" and failure.message.startswith("permanent")


def _broken_predicate(failure: AttemptFailure) -> bool:
    raise KeyError(failure.message)


_UNLIMITED = RetryPolicy(max_attempts=None, initial=0.001, multiplier=1.0)
_POLICIES: dict[str, tuple[Any, RetryPolicy]] = {
    "unlimited": (fails_until_sixth, _UNLIMITED),
    "predicate": (
        permanent_on_third,
        RetryPolicy(max_attempts=None, initial=0.001, non_retryable=_stop_on_permanent),
    ),
    # without the RetryAfter the wait would be 10 s
    "pause": (asks_for_a_pause, RetryPolicy(max_attempts=3, initial=10.0)),
    "pause_limit": (always_asks_for_a_pause, RetryPolicy(max_attempts=2, initial=10.0)),
    "long_pause": (asks_for_a_long_pause, _UNLIMITED),
    "broken_predicate": (fails_once, RetryPolicy(non_retryable=_broken_predicate)),
}

ACTIVITIES: dict[str, ActivityDefinition[Any, Any]] = {
    f"{key}_{executor}": activity(name=f"{key}_{executor}", retry=policy, executor=executor)(fn)
    for key, (fn, policy) in _POLICIES.items()
    for executor in ("thread", "process")
}


@workflow
async def calls(ctx: WorkflowContext, name: str, timeout: float | None = None) -> Any:
    try:
        return await ctx.activity(name, timeout=timeout)
    except ActivityError as exc:
        return {"failed": exc.error}


ALL = [calls, *ACTIVITIES.values()]
