"""The machine's fast step for the common await (one activity, nothing else in history
that could come first) resumes the workflow exactly as the general search does."""

from __future__ import annotations

from typing import Any

import pytest

from aion_actors import ActivityError, WorkflowContext, activity, workflow
from aion_actors.core import events as ev
from aion_actors.runtime import machine as machine_module
from aion_actors.runtime import tasks
from aion_actors.runtime.machine import Machine
from tests.runtime.test_machine import RUN, History


@activity(executor="thread")
def step(value: int) -> int:
    return value + 1


@workflow
async def steps_and_recovers(ctx: WorkflowContext, value: int) -> list[Any]:
    got = [await ctx.activity(step, value)]
    try:
        await ctx.activity(step, -1)
    except ActivityError as exc:
        got.append(exc.error["message"])
    both = await ctx.gather(ctx.activity(step, 10), ctx.activity(step, 20))
    got.append(both)
    got.append(await ctx.activity(step, got[0]))
    return got


def _drive(monkeypatch: pytest.MonkeyPatch, *, fast: bool) -> list[ev.Event]:
    """Run the workflow live, answering each activity from its input (-1 fails)."""
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(machine_module, "lone_activity", lambda tasks, outcomes: None)
        history = History("steps_and_recovers", 1)
        machine = Machine(steps_and_recovers, "w", RUN, history.events)
        while not machine.finished:
            new = history.add(*machine.advance())
            machine.feed(new)
            answers: list[ev.Event] = []
            for event in new:
                if isinstance(event, ev.ActivityScheduled):
                    [arg] = event.input
                    aid = event.activity_id
                    if arg == -1:
                        error = {"type": "ValueError", "message": "no"}
                        answers.append(ev.ActivityFailed(activity_id=aid, error=error))
                    else:
                        answers.append(ev.ActivityCompleted(activity_id=aid, result=arg + 1))
            machine.feed(history.add(*answers))
        return history.events


def test_the_fast_step_resumes_the_workflow_exactly_as_the_general_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast, general = _drive(monkeypatch, fast=True), _drive(monkeypatch, fast=False)
    assert [e.kind for e in fast] == [e.kind for e in general]
    assert fast[1:] == general[1:]  # (the start carries a fresh run's own fields)
    completed = fast[-1]
    assert isinstance(completed, ev.WorkflowCompleted)
    assert completed.result == [2, "no", [11, 21], 3]


def test_only_a_lone_activity_awaited_alone_takes_the_fast_step() -> None:
    history = History("steps_and_recovers", 1)
    machine = Machine(steps_and_recovers, "w", RUN, history.events)
    machine.feed(history.add(*machine.advance()))
    main = machine._tasks  # noqa: SLF001 - the machine's own tasks, read by its test
    outcomes = machine._outcomes  # noqa: SLF001 - as above
    assert tasks.lone_activity(main, outcomes) is not None
    outcomes.add(history.add(ev.SignalReceived(name="any", payload=None))[0])
    assert tasks.lone_activity(main, outcomes) is None  # a signal may come first: searched
