"""What an activity's outcome or a due timer records, given what the run has in flight.

Pure: the run's `Ledger` and the report in, the events to record out — none
for a report that is stale or repeated (an attempt already superseded, a
timer already fired). The actor stamps them and records them; replay never
comes here, because these events are already in history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

from aion_actors.core import ACTIVITY_TIMEOUT, UNRECORDABLE, TimerId, TimerKind, error_info
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.definitions import AttemptFailure, RetryPolicy
from aion_actors.runtime.ledger import Ledger
from aion_actors.workers import ActivityCancelled, AttemptTimeout, CancelReason, Outcome
from aion_actors.workers.control import completes_later, retry_after, time_left

log = logging.getLogger("aion_actors.runtime")

_NO_RETRY = RetryPolicy(max_attempts=1)
#: the latest retry time recorded (a `RetryAfter` of centuries waits until then)
_LATEST_NS: Final = 1 << 63
#: the error-map field that says why a `non_retryable` predicate could not decide
PREDICATE_ERROR: Final = "non_retryable_error"
#: the retry policy of an activity, by its name (None: not registered)
PolicyOf = Callable[[str], RetryPolicy | None]


def activity_outcome(
    ledger: Ledger,
    report: msg.ActivityOutcome | msg.ActivityHeartbeat,
    policy_of: PolicyOf,
    now_ns: int,
) -> list[ev.Event]:
    """An attempt finished: its completion, a retry after the policy's backoff, or the
    activity's end (at once once its cancellation was requested). Or it sent heartbeat
    details, recorded for its next attempt. Nothing if the attempt is not the one the
    run waits for."""
    state = ledger.activities.get(report.activity_id)
    if (
        state is None
        or state.waiting_retry
        or state.scheduled.attempt != report.attempt
        or ledger.closed
    ):
        return []
    aid = report.activity_id
    if isinstance(report, msg.ActivityHeartbeat):
        return [
            ev.ActivityHeartbeat(activity_id=aid, attempt=report.attempt, details=report.details)
        ]
    outcome = report.outcome
    if outcome.ok:
        return [ev.ActivityCompleted(activity_id=aid, result=outcome.result)]
    if completes_later(outcome.error):  # open until engine.complete_activity closes it
        return [] if state.handed_off else [_handed_off(aid, report.attempt, outcome, now_ns)]
    error: dict[str, Any] = outcome.error or {"type": "Error", "message": "unknown failure"}
    # A result that cannot be recorded (not msgpack, or over the payload limit)
    # would come back the same from another attempt: the activity fails for good;
    # so does a cancelled one, whatever ended its attempt.
    final = error.get("type") == UNRECORDABLE or state.cancel_requested
    policy = None if final else policy_of(state.scheduled.name)
    policy = policy or _NO_RETRY
    failed = attempt_failed(aid, report.attempt, error, policy, now_ns, state.scheduled.name)
    retried = isinstance(failed[0], ev.ActivityAttemptFailed) and failed[0].retry_at is not None
    if report.heartbeat is not None and retried:  # the last details, for the next attempt
        held = ev.ActivityHeartbeat(
            activity_id=aid, attempt=report.attempt, details=report.heartbeat
        )
        return [held, *failed]
    return failed


def _handed_off(activity_id: str, attempt: int, outcome: Outcome, now_ns: int) -> ev.Event:
    """The hand-off of an attempt, which keeps what its executor's clock had left of its
    `@activity(timeout=)`: it times out when the executor would have ended it."""
    timed = time_left(outcome.error) if outcome.error is not None else None
    if timed is None:
        return ev.ActivityHandedOff(activity_id=activity_id, attempt=attempt)
    timeout, left = timed
    timeout_at = min(now_ns + int(left * 1e9), _LATEST_NS)
    return ev.ActivityHandedOff(
        activity_id=activity_id, attempt=attempt, timeout=timeout, timeout_at=timeout_at
    )


def cancel_ends(ledger: Ledger, activity_id: str, *, dispatching: bool) -> list[ev.Event]:
    """What a requested cancellation ends with no attempt to hear it: an activity waiting
    to retry (its next attempt never starts), and, when `dispatching`, an attempt about
    to be sent (again, after a restart of the run or the engine), which is not run."""
    state = ledger.activities.get(activity_id)
    # (a run dispatching from history while closed is being resumed after its parking)
    if state is None or not state.cancel_requested or (ledger.closed and not dispatching):
        return []
    name, attempt = state.scheduled.name, state.scheduled.attempt
    why = CancelReason.recorded(state.cancel_reason or "")
    if state.waiting_retry:
        waiting = f"it was waiting to retry attempt {attempt}"
        error = error_info(ActivityCancelled(name, waiting, why))
        return [ev.ActivityFailed(activity_id=activity_id, error=error)]
    if not dispatching:
        return []
    error = error_info(ActivityCancelled(name, f"attempt {attempt} was not run again", why))
    return [
        ev.ActivityAttemptFailed(activity_id=activity_id, attempt=attempt, error=error),
        ev.ActivityFailed(activity_id=activity_id, error=error),
    ]


def attempt_failed(
    activity_id: str,
    attempt: int,
    error: dict[str, Any],
    policy: RetryPolicy,
    now_ns: int,
    activity: str,
) -> list[ev.Event]:
    """A failed attempt: its retry, after the wait the policy (or a `RetryAfter`) sets,
    or — out of attempts, or not retryable — the activity's end."""
    delay, error = retry_delay(activity, attempt, error, policy)
    if delay is not None:
        retry_at = min(now_ns + int(delay * 1e9), _LATEST_NS)
        return [
            ev.ActivityAttemptFailed(
                activity_id=activity_id, attempt=attempt, error=error, retry_at=retry_at
            )
        ]
    return [
        ev.ActivityAttemptFailed(activity_id=activity_id, attempt=attempt, error=error),
        ev.ActivityFailed(activity_id=activity_id, error=error),
    ]


def retry_delay(
    activity: str, attempt: int, error: dict[str, Any], policy: RetryPolicy
) -> tuple[float | None, dict[str, Any]]:
    """Seconds before the next attempt (None: no retry), and the error to record — which,
    when the policy's `non_retryable` predicate raised, says so (and is not retried)."""
    if not policy.attempts_left(attempt):
        return None, error
    asked = retry_after(error)
    if asked is not None:  # the activity asked for this retry: `non_retryable` does not apply
        return asked, error
    failure = AttemptFailure(
        activity, attempt, str(error.get("type")), str(error.get("message", ""))
    )
    try:
        retryable = policy.retryable(failure)
    except Exception as exc:
        log.exception("the non_retryable predicate of activity %r raised", activity)
        return None, {**error, PREDICATE_ERROR: f"{type(exc).__name__}: {exc}"}
    return (policy.delay(attempt) if retryable else None), error


def timer_due(
    ledger: Ledger, timer: TimerId, fire_at: int | None, policy_of: PolicyOf, now_ns: int
) -> list[ev.Event]:
    """A durable timer is due: what it ends, if it is still open (and, for a retry
    wait or a handed-off attempt's timeout, if it is this one's timer, not a late
    report of an earlier one). `policy_of` retries an attempt that timed out."""
    if ledger.closed:
        return []
    if timer.kind is TimerKind.ATTEMPT:
        return _attempt_timed_out(ledger, timer.ref, fire_at, policy_of, now_ns)
    if timer.kind is TimerKind.RETRY:
        state = ledger.activities.get(timer.ref)
        if state is None or state.retry_at is None:
            return []
        if fire_at is not None and fire_at != state.retry_at:
            return []
        if state.cancel_requested:
            return cancel_ends(ledger, timer.ref, dispatching=False)
        last = state.scheduled
        return [
            ev.ActivityScheduled(
                activity_id=last.activity_id,
                name=last.name,
                input=last.input,
                attempt=last.attempt + 1,
                deadline=last.deadline,
            )
        ]
    if timer.kind is TimerKind.DEADLINE:
        return _deadline_passed(ledger, timer.ref)
    if str(timer) in ledger.timers:
        return [ev.TimerFired(timer_id=str(timer))]
    return []


def _attempt_timed_out(
    ledger: Ledger,
    activity_id: str,
    fire_at: int | None,
    policy_of: PolicyOf,
    now_ns: int,
) -> list[ev.Event]:
    """A handed-off attempt's own timeout ran out before its completion: it fails with
    `AttemptTimeout`, as an attempt its executor ended, and is retried per the policy."""
    state = ledger.activities.get(activity_id)
    handoff = state.handoff if state is not None else None
    if state is None or handoff is None or handoff.timeout_at is None:
        return []
    if fire_at is not None and fire_at != handoff.timeout_at:
        return []
    consequence = "it was handed off (CompleteLater) and not completed in time"
    error = AttemptTimeout(state.scheduled.name, handoff.timeout or 0.0, consequence)
    outcome = Outcome(ok=False, error=error_info(error))
    report = msg.ActivityOutcome(activity_id, handoff.attempt, outcome)
    return activity_outcome(ledger, report, policy_of, now_ns)


def _deadline_passed(ledger: Ledger, activity_id: str) -> list[ev.Event]:
    """`ctx.activity(timeout=)` ran out: the activity fails; late attempts are ignored."""
    state = ledger.activities.get(activity_id)
    if state is None:
        return []
    last = state.scheduled
    error = {
        "type": ACTIVITY_TIMEOUT,
        "message": f"activity {last.name!r} did not finish before its deadline "
        f"(ctx.activity timeout); {last.attempt} attempt(s) started",
    }
    return [ev.ActivityFailed(activity_id=activity_id, error=error)]
