"""What a request records, given its run's state now.

A signal, cancel or terminate is always its one event. A completion
(`engine.complete_activity` / `fail_activity`) closes its attempt only while
that attempt is open — running, or handed off by `CompleteLater` — exactly as
the attempt's own result would have (a failure is retried per the policy);
otherwise nothing is recorded and its caller hears why. The run's actor and,
for a run without one, the engine writing on its behalf both decide here.
"""

from __future__ import annotations

from aion_actors.core import ActivityAlreadyClosed, RunKey
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.ledger import Ledger
from aion_actors.runtime.outcomes import PolicyOf, activity_outcome
from aion_actors.runtime.pausing import refusal
from aion_actors.workers import AttemptTimeout


def recorded_for(
    key: RunKey, request: msg.Request, ledger: Ledger, policy_of: PolicyOf, now_ns: int
) -> list[ev.Event]:
    """The events that record `request` at `now_ns`; none for a completion of an attempt
    no longer open (its ack is then resolved with `ActivityAlreadyClosed`), and none for a
    pause or unpause the run's state refuses (its ack says why)."""
    if (refused := refusal(key, request, ledger)) is not None:
        request.ack.resolve(refused)
        return []
    if not isinstance(request, msg.CompleteActivity):
        return [request.event()]
    events = activity_outcome(ledger, request.report(), policy_of, now_ns)
    if not events:
        reason = why_closed(ledger, request.activity_id, request.attempt)
        request.ack.resolve(
            ActivityAlreadyClosed(*key, request.activity_id, request.attempt, reason)
        )
    return events


def why_closed(ledger: Ledger, activity_id: str, attempt: int) -> str:
    """Why attempt `attempt` of `activity_id` takes no completion, in words."""
    state = ledger.activities.get(activity_id)
    if ledger.closed:
        return "its run has ended"
    if state is None and activity_id not in ledger.activities_ended:
        return f"the run has no activity #{activity_id}"
    if state is None:
        return "the activity has completed, failed or timed out already"
    current = state.scheduled.attempt
    if current > attempt:
        return f"it was superseded by attempt {current}"
    if current < attempt:
        return f"the activity is at attempt {current}; attempt {attempt} never started"
    if state.failed_with == AttemptTimeout.__name__:
        return f"it timed out and waits to retry as attempt {current + 1}"
    return f"it failed already and waits to retry as attempt {current + 1}"
