"""The replay driver on its own: history in, events out — no threads, no store, no actor."""

from __future__ import annotations

import pytest

from aion_actors import (
    ActivityError,
    NonDeterminismError,
    SignalTimeout,
    WorkflowContext,
    activity,
    workflow,
)
from aion_actors.core import events as ev
from aion_actors.core import new_run_id, stamp
from aion_actors.runtime.machine import Machine
from aion_actors.runtime.parts import Part, Resolution

RUN = new_run_id()


@activity(executor="thread")
def charge(amount: int) -> str:
    return f"paid {amount}"


@activity(executor="thread")
def refund(amount: int) -> str:
    return f"refunded {amount}"


@workflow
async def checkout(ctx: WorkflowContext, amount: int) -> dict[str, str]:
    receipt = await ctx.activity(charge, amount)
    try:
        approval = await ctx.wait_signal("approve", timeout=60)
    except SignalTimeout:
        return {"receipt": receipt, "approved": "no"}
    return {"receipt": receipt, "approved": approval}


@workflow(name="checkout")
async def checkout_refunds(ctx: WorkflowContext, amount: int) -> str:
    return await ctx.activity(refund, amount)


@workflow
async def fails_politely(ctx: WorkflowContext) -> None:
    await ctx.activity(charge, 1)


class History:
    """Events as a run's actor would have committed them: numbered, time-stamped."""

    def __init__(self, workflow_type: str, *args: object) -> None:
        self.events: list[ev.Event] = []
        self.add(
            ev.WorkflowStarted(
                workflow_type=workflow_type, input=list(args), run_id=RUN, version="v"
            )
        )

    def add(self, *events: ev.Event) -> list[ev.Event]:
        stamped = [
            stamp(e, len(self.events) + i + 1, 1_000 * (len(self.events) + i + 1))
            for i, e in enumerate(events)
        ]
        self.events += stamped
        return stamped


def test_a_new_run_asks_for_its_first_activity_and_nothing_else() -> None:
    history = History("checkout", 5)
    machine = Machine(checkout, "w", RUN, history.events)
    [scheduled] = machine.advance()
    assert isinstance(scheduled, ev.ActivityScheduled)
    assert (scheduled.name, scheduled.input, scheduled.attempt) == ("charge", [5], 1)
    assert machine.advance() == []  # nothing new happened: nothing new to record


def test_advancing_with_nothing_fed_since_searches_no_await(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A turn that fed the machine no outcome (its own commands, as the actor feeds them
    back) does not look for a landed outcome again: none can have landed. Once an outcome
    is fed, it does."""
    history = History("checkout", 5)
    machine = Machine(checkout, "w", RUN, history.events)
    [scheduled] = history.add(*machine.advance())
    machine.feed([scheduled])
    assert isinstance(scheduled, ev.ActivityScheduled)
    resolver = machine._parts  # noqa: SLF001 - counting what the machine asks of it
    asked: list[object] = []
    resolve = resolver.resolve

    def counted(part: Part, taken: set[int]) -> Resolution | None:
        asked.append(part)
        return resolve(part, taken)

    monkeypatch.setattr(resolver, "resolve", counted)
    assert machine.advance() == [] and machine.advance() == []
    assert asked == []
    machine.feed(
        history.add(ev.ActivityCompleted(activity_id=scheduled.activity_id, result="paid 5"))
    )
    [timer] = machine.advance()
    assert isinstance(timer, ev.TimerStarted) and asked  # it looked, and went on


def test_an_outcome_fed_in_moves_the_workflow_to_its_next_command() -> None:
    history = History("checkout", 5)
    machine = Machine(checkout, "w", RUN, history.events)
    [scheduled] = history.add(*machine.advance())
    assert isinstance(scheduled, ev.ActivityScheduled)
    machine.feed(
        history.add(ev.ActivityCompleted(activity_id=scheduled.activity_id, result="paid 5"))
    )
    [timer] = machine.advance()
    assert isinstance(timer, ev.TimerStarted) and timer.timer_id.startswith("signal:approve")
    machine.feed(history.add(ev.SignalReceived(name="approve", payload="ops")))
    cancelled, completed = machine.advance()
    assert cancelled == ev.TimerCancelled(timer_id=timer.timer_id)  # the wait's timeout is void
    assert isinstance(completed, ev.WorkflowCompleted)
    assert completed.result == {"receipt": "paid 5", "approved": "ops"}


def test_replaying_a_whole_history_records_nothing_again() -> None:
    history = History("checkout", 5)
    live = Machine(checkout, "w", RUN, history.events)
    [scheduled] = history.add(*live.advance())
    assert isinstance(scheduled, ev.ActivityScheduled)
    live.feed(history.add(ev.ActivityCompleted(activity_id=scheduled.activity_id, result="r")))
    [timer] = history.add(*live.advance())
    assert isinstance(timer, ev.TimerStarted)
    live.feed(history.add(ev.TimerFired(timer_id=timer.timer_id)))
    [completed] = live.advance()

    replay = Machine(checkout, "w", RUN, history.events)
    assert replay.ctx.is_replaying
    assert replay.advance() == [completed.__class__(result={"receipt": "r", "approved": "no"})]


def test_code_asking_for_another_command_than_history_recorded_is_named_with_its_seq() -> None:
    history = History("checkout", 5)
    history.add(*Machine(checkout, "w", RUN, history.events).advance())
    with pytest.raises(NonDeterminismError) as raised:
        Machine(checkout_refunds, "w", RUN, history.events).advance()
    error = raised.value
    assert error.seq == 2
    assert "charge" in error.recorded and "refund" in error.requested


def test_an_activity_that_failed_for_good_fails_the_workflow_at_once() -> None:
    history = History("fails_politely")
    machine = Machine(fails_politely, "w", RUN, history.events)
    [scheduled] = history.add(*machine.advance())
    assert isinstance(scheduled, ev.ActivityScheduled)
    error = {"type": "ValueError", "message": "card declined"}
    machine.feed(history.add(ev.ActivityFailed(activity_id=scheduled.activity_id, error=error)))
    [failed] = machine.advance()
    assert isinstance(failed, ev.WorkflowFailed)
    assert failed.error["type"] == ActivityError.__name__
    assert "card declined" in failed.error["message"]


@workflow
async def naps_then_waits(ctx: WorkflowContext) -> list[bool]:
    await ctx.sleep(1)
    before = ctx.is_replaying
    await ctx.wait_signal("go")
    return [before, ctx.is_replaying]


def test_a_rebuilt_run_stops_replaying_at_the_first_event_not_in_its_history() -> None:
    history = History("naps_then_waits")
    live = Machine(naps_then_waits, "w", RUN, history.events)
    [timer] = history.add(*live.advance())
    assert isinstance(timer, ev.TimerStarted)
    history.add(ev.TimerFired(timer_id=timer.timer_id))

    rebuilt = Machine(naps_then_waits, "w", RUN, history.events)
    assert rebuilt.advance() == [] and rebuilt.ctx.is_replaying  # still inside its history
    rebuilt.feed(history.add(ev.SignalReceived(name="go", payload=None)))
    [completed] = rebuilt.advance()
    assert completed == ev.WorkflowCompleted(result=[True, False])


@workflow
async def gathers_a_failure(ctx: WorkflowContext, collect: bool) -> list[object]:
    try:
        results = await ctx.gather(
            ctx.activity(charge, 1), ctx.sleep(60), ctx.wait_signal("go"), return_exceptions=collect
        )
        return [type(r).__name__ if isinstance(r, Exception) else r for r in results]
    except ActivityError as exc:
        after = await ctx.wait_signal("go")
        return [f"raised {exc.error['message']}", after]


def _gather_history(
    collect: bool,
) -> tuple[History, Machine, ev.ActivityScheduled, ev.TimerStarted]:
    history = History("gathers_a_failure", collect)
    machine = Machine(gathers_a_failure, "w", RUN, history.events)
    scheduled, timer = history.add(*machine.advance())
    assert isinstance(scheduled, ev.ActivityScheduled) and isinstance(timer, ev.TimerStarted)
    return history, machine, scheduled, timer


def test_gather_raises_at_the_first_failure_and_leaves_the_rest_running() -> None:
    history, machine, scheduled, _ = _gather_history(False)
    error = {"type": "ValueError", "message": "declined"}
    machine.feed(history.add(ev.ActivityFailed(activity_id=scheduled.activity_id, error=error)))
    assert machine.advance() == []  # raised at once: now waiting for "go" in the except arm
    machine.feed(history.add(ev.SignalReceived(name="go", payload="first")))
    [completed] = machine.advance()
    # the signal was not consumed by the abandoned gather part: the handler got it
    assert completed == ev.WorkflowCompleted(result=["raised declined", "first"])
    replayed = Machine(gathers_a_failure, "w", RUN, history.events)
    assert replayed.advance() == [ev.WorkflowCompleted(result=["raised declined", "first"])]


def test_gather_with_return_exceptions_waits_for_all_and_returns_failures_in_place() -> None:
    history, machine, scheduled, timer = _gather_history(True)
    error = {"type": "ValueError", "message": "declined"}
    machine.feed(history.add(ev.ActivityFailed(activity_id=scheduled.activity_id, error=error)))
    machine.feed(history.add(ev.SignalReceived(name="go", payload="sig")))
    assert machine.advance() == []  # the sleep has not fired: still waiting
    machine.feed(history.add(ev.TimerFired(timer_id=timer.timer_id)))
    [completed] = machine.advance()
    assert isinstance(completed, ev.WorkflowCompleted)
    assert completed.result == ["ActivityError", None, "sig"]


@workflow
async def one_child(ctx: WorkflowContext) -> object:
    return await ctx.child(checkout, 1, workflow_id="kid")


def test_a_history_whose_child_outcome_names_a_continued_run_still_answers_the_child() -> None:
    """Before outcomes named the run their command started, a child that continued
    as new reported its last run's id: such histories replay as they ran."""
    history = History("one_child")
    [started] = history.add(*Machine(one_child, "w", RUN, history.events).advance())
    assert isinstance(started, ev.ChildStarted)
    history.add(
        ev.ChildCompleted(child_workflow_id="kid", child_run_id=new_run_id(), result="done")
    )
    assert Machine(one_child, "w", RUN, history.events).advance() == [
        ev.WorkflowCompleted(result="done")
    ]


@workflow
async def gathers_nothing(ctx: WorkflowContext) -> object:
    return [await ctx.gather(), await ctx.gather(return_exceptions=True)]


@workflow
async def waits_first_for_nothing(ctx: WorkflowContext) -> object:
    try:
        await ctx.wait_first()
    except ValueError as exc:
        return str(exc)
    return "waited"


def test_gathering_nothing_resumes_at_once_with_an_empty_list_as_asyncio_gather_does() -> None:
    history = History("gathers_nothing")
    machine = Machine(gathers_nothing, "w", RUN, history.events)
    assert machine.advance() == [ev.WorkflowCompleted(result=[[], []])]


def test_waiting_first_for_nothing_raises_value_error_where_awaited() -> None:
    history = History("waits_first_for_nothing")
    machine = Machine(waits_first_for_nothing, "w", RUN, history.events)
    message = "ctx.wait_first needs at least one command to wait for"
    assert machine.advance() == [ev.WorkflowCompleted(result=message)]
