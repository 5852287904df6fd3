"""A caller on one node waiting in `result(raise_on_park=True)` for a run another node
holds hears at once when that run parks there, with the error a caller on the owner
gets — told by the owner's append of `RunParked` (the watch it answers), as a close
is, nobody polling. With `raise_on_park=False` it waits on through the park for the
run's close, as it does locally. (Before, a park on the owner left the caller waiting
until its timeout: the owner answered its watch only when the run closed.)"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from aion_actors import Engine, WorkflowContext, WorkflowParked, WorkflowStatus, workflow
from aion_actors.aio import AsyncEngine
from aion_actors.core import events as ev
from aion_actors.store.postgres._consuming import Consuming
from supervisor import Backoff, RestartPolicy
from tests.nodes.conftest import until
from tests.nodes.test_calls_between_nodes import _of, _requests_left
from tests.nodes.test_watch_races import _watch_taken

_FAST = Backoff(initial=0.0, multiplier=1.0, max=0.0, jitter=0.0)
#: what the waiting caller would wait for at most; it must hear far sooner
_PATIENCE = 90.0
#: how soon "at once" is, on a busy two-core machine
_PROMPTLY = 20.0


@workflow(
    restart=RestartPolicy(max_restarts=0, within_seconds=60, backoff=_FAST, on_exhausted="park")
)
async def breaks_when_told(ctx: WorkflowContext) -> str:
    await ctx.wait_signal("go")
    raise RuntimeError("a bug met after the signal")


def _start_on_owner(a: Engine, b: Engine, prefix: str) -> str:
    """A run of `breaks_when_told` held by `a` (its partition is `a`'s)."""
    a.register(breaks_when_told)
    b.register(breaks_when_told)
    [wid] = _of(a, 1, prefix)
    a.start(breaks_when_told, workflow_id=wid)
    return wid


def _local_error(a: Engine, wid: str) -> str:
    """What `result(raise_on_park=True)` says on the run's own node."""
    with pytest.raises(WorkflowParked) as parked:
        a.result(wid, timeout=10)
    return str(parked.value)


def _in_thread(call: Any) -> tuple[list[Any], threading.Event]:
    outcome: list[Any] = []
    done = threading.Event()

    def run() -> None:
        started = time.monotonic()
        try:
            outcome.append(call())
        except Exception as exc:
            outcome.append(exc)
        outcome.append(time.monotonic() - started)
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return outcome, done


@pytest.mark.timeout(120)
def test_a_caller_on_another_node_hears_at_once_that_the_run_parked(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    wid = _start_on_owner(a, b, "parks")
    outcome, done = _in_thread(lambda: b.result(wid, timeout=_PATIENCE, raise_on_park=True))
    until(lambda: _watch_taken(a))  # b waits: its watch of the run reached its owner
    a.signal(wid, "go")  # the run crashes, and parks on `a`
    assert done.wait(_PROMPTLY), "the caller on b did not hear that the run parked on a"
    error, waited = outcome
    assert isinstance(error, WorkflowParked), error
    assert waited < _PROMPTLY
    assert isinstance(a.history(wid)[-1], ev.RunParked)
    assert str(error) == _local_error(a, wid)  # the owner's words, reason and advice
    until(lambda: _requests_left(a) == 0, 20)  # its watch was answered: no row left


@pytest.mark.timeout(120)
def test_an_async_caller_on_another_node_hears_at_once_that_the_run_parked(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    wid = _start_on_owner(a, b, "aparks")

    async def main() -> BaseException:
        engine = AsyncEngine(b)  # (not closed here: the fixture closes `b`)
        waiting = asyncio.create_task(engine.result(wid, timeout=_PATIENCE))
        await asyncio.to_thread(until, lambda: _watch_taken(a))
        await asyncio.to_thread(a.signal, wid, "go")
        with pytest.raises(WorkflowParked) as parked:
            await asyncio.wait_for(waiting, _PROMPTLY)
        return parked.value

    error = asyncio.run(main())
    assert str(error) == _local_error(a, wid)
    until(lambda: _requests_left(a) == 0, 20)


@pytest.mark.timeout(120)
def test_a_caller_on_another_node_not_raising_on_park_waits_through_it_for_the_close(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    wid = _start_on_owner(a, b, "waits")
    outcome, done = _in_thread(lambda: b.result(wid, timeout=_PATIENCE, raise_on_park=False))
    until(lambda: _watch_taken(a))
    a.signal(wid, "go")
    until(lambda: a.describe(wid).status is WorkflowStatus.PARKED)
    assert not done.wait(1.0), outcome  # parked is not closed: it waits on
    a.terminate(wid, "given up")
    assert done.wait(_PROMPTLY), "the caller on b did not hear that the run closed"
    assert "terminated" in str(outcome[0]).lower(), outcome


def test_a_park_answers_the_watches_that_asked_to_hear_of_it_and_the_close_the_others() -> None:
    consuming = Consuming()
    run = ("w", "r1")
    consuming.watch("node:park", run, parks=True)
    consuming.watch("node:close", run)
    assert consuming.consume([], [], [run]) == ["node:park"]  # the append parking `run`
    consuming.ended(committed=False)  # (a lost connection: retried)
    assert consuming.consume([], [], [run]) == ["node:park"]
    consuming.ended(committed=True)
    assert consuming.consume([], [], [run]) == []  # (an append while it stays parked)
    consuming.ended(committed=True)
    assert consuming.consume([], [run]) == ["node:close"]  # resumed, then it closes
    consuming.ended(committed=True)


def test_a_park_watch_waits_for_the_transaction_parking_its_run_to_end() -> None:
    consuming = Consuming()
    run = ("w", "r1")
    assert consuming.consume([], [], [run]) == []  # parking `run`, not committed yet
    registered = threading.Event()
    watching = lambda: (consuming.watch("node:2", run, parks=True), registered.set())  # noqa: E731
    watcher = threading.Thread(target=watching)
    watcher.start()
    assert not registered.wait(0.2)  # it waits while the park is in flight: then reads it
    consuming.ended(committed=True)
    assert registered.wait(5)
    watcher.join(5)
