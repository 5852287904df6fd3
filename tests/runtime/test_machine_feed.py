"""What feeding an event may change in the machine, pinned: `Machine.advance` searches
the awaits again only after an outcome it indexes (or a dequeue) was fed. That shortcut
is sound only while every event an await can wait for is such an outcome; a new event
kind must be placed on one side or the other here, with its reason."""

from __future__ import annotations

import dataclasses

import pytest

from aion_actors.core import EVENT_TYPES
from aion_actors.core import events as ev
from aion_actors.runtime.machine import Machine
from aion_actors.runtime.recorded import Outcomes
from tests.core.test_codec import SAMPLES
from tests.runtime.test_machine import RUN, History, checkout

#: kinds no await of workflow code waits for, and why; every other kind is an outcome
WAITED_FOR_BY_NO_AWAIT: dict[str, str] = {
    # commands the code issued itself: what they ask for comes back as an outcome
    "ActivityScheduled": "a command; its end is ActivityCompleted/ActivityFailed",
    "TimerStarted": "a command; its end is TimerFired/TimerCancelled",
    "ExternalRequested": "a command; its end is ExternalRequestDone",
    "PatchApplied": "a marker the code recorded in place of a branch",
    "AttributesSet": "a command that records search attributes; nothing waits for it",
    # an attempt's life between its schedule and its end: the await sees only the end
    "ActivityAttemptFailed": "a retry is scheduled; the await goes on waiting",
    "ActivityHandedOff": "completed later from outside; the await goes on waiting",
    "ActivityHeartbeat": "progress of a running attempt; the await goes on waiting",
    # the run's own lifecycle and bookkeeping, read by the actor, not by the code
    "WorkflowStarted": "the first event; the code starts from it, it is not awaited",
    "WorkflowQueued": "the run waits for a queue slot before its code runs at all",
    "WorkflowCompleted": "an ending: the code has returned",
    "WorkflowFailed": "an ending: the code has raised",
    "WorkflowCancelled": "an ending",
    "WorkflowTerminated": "an ending decided outside the code",
    "WorkflowTimedOut": "an ending decided outside the code",
    "WorkflowContinuedAsNew": "an ending: the code asked for a new run",
    "WorkflowReset": "an ending: the run goes on as a new run from an earlier point",
    "RunCrashed": "supervision bookkeeping; the next incarnation replays",
    "RunRestarted": "supervision bookkeeping; the next incarnation replays",
    "RunParked": "the run stops running code until resumed",
    "RunResumed": "a parked run runs again by replay",
    "RunPaused": "the actor holds the code's next events, not the code",
    "RunUnpaused": "the actor feeds the held events, which are outcomes or not themselves",
}

#: not an outcome, yet it moves the code on: the queued run's code starts at its dequeue
MOVES_THE_CODE: frozenset[str] = frozenset({"RunDequeued"})


def test_every_event_kind_is_an_outcome_or_listed_as_waited_for_by_no_await() -> None:
    assert set(SAMPLES) == set(EVENT_TYPES)
    indexed = {kind for kind, sample in SAMPLES.items() if Outcomes().add(sample)}
    assert set(EVENT_TYPES) - indexed - MOVES_THE_CODE == set(WAITED_FOR_BY_NO_AWAIT)
    assert not indexed & set(WAITED_FOR_BY_NO_AWAIT)


@pytest.mark.parametrize("kind", sorted(WAITED_FOR_BY_NO_AWAIT))
def test_feeding_an_event_no_await_waits_for_lets_a_full_search_find_nothing_either(
    kind: str,
) -> None:
    """The shortcut and the full search agree: after such an event, the code blocked on a
    signal (with its timeout's timer started) stays where it is."""
    history = History("checkout", 5)
    machine = Machine(checkout, "w", RUN, history.events)
    [scheduled] = history.add(*machine.advance())
    machine.feed([scheduled])
    assert isinstance(scheduled, ev.ActivityScheduled)
    done = ev.ActivityCompleted(activity_id=scheduled.activity_id, result="paid 5")
    machine.feed(history.add(done))
    [timer] = history.add(*machine.advance())
    machine.feed([timer])
    assert isinstance(timer, ev.TimerStarted)
    [event] = history.add(dataclasses.replace(SAMPLES[kind], seq=0, recorded_at=0))
    machine.feed([event])
    assert machine.advance() == []  # the shortcut: nothing indexed was fed
    machine._fed = True  # noqa: SLF001 - force the full search the shortcut skipped
    assert machine.advance() == []
    assert not machine.finished
