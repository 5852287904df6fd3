"""A run being started whose start no incarnation has taken yet, when its run leaves this
engine (a node gives its partition up, see `runtime/runs/dropping`) or the engine closes.

Found by the three-node rolling restart (`tests/nodes/test_cluster.py`): a node gave up
a surplus partition while a start forwarded to it was being applied. The drop withdrew
the run's entry, and with it the start its first incarnation had not taken yet; that
incarnation's replay then read the store (nothing there: the start was never recorded)
and crashed on an empty history, and the request worker waiting for the start's commit
waited until the node's close gave up on it, 30 s later. Here the drop (or the close) is
forced at each instant of a start in turn, on the real store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest

from aion_actors import Engine, EngineClosed, OwnershipLost
from aion_actors.core import RunKey
from tests.runtime import flows

#: ample for a start that is answered at all: without the fix its caller waits for ever
ANSWERED_WITHIN = 30.0


def _lost(key: RunKey) -> BaseException:
    """What a node tells the calls of a run whose partition it gave up (as `Node._moved`)."""
    return OwnershipLost(7, "n1", 3, 3, None)


def _start_in_thread(engine: Engine, workflow_id: str) -> Future[Any]:
    """`engine.start` in a thread of its own (a daemon: without the fix it never returns)."""
    outcome: Future[Any] = Future()

    def start() -> None:
        try:
            outcome.set_result(engine.start(flows.doubles, 21, workflow_id=workflow_id))
        except BaseException as exc:
            outcome.set_exception(exc)

    threading.Thread(target=start, name="starter", daemon=True).start()
    return outcome


def _after(obj: object, name: str, then: Callable[[], None]) -> None:
    """Have `obj.name(...)` (an instance's method) call `then()` once, right after it returns."""
    original = getattr(obj, name)
    done = threading.Event()

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if not done.is_set():
            done.set()
            then()
        return result

    setattr(obj, name, wrapped)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("dropped_after", ["admit", "incarnation"])
def test_a_run_dropped_before_its_start_is_taken_answers_its_starter_and_never_crashes(
    engine: Engine, dropped_after: str
) -> None:
    """Dropped once its entry holds the start (`admit`: before its actor exists), or once
    its first incarnation is live (`incarnation`: its replay, which takes the start, is
    queued): the starter hears the drop's error (nothing was recorded, so a node's caller
    asks the new owner), no incarnation crashes, and nothing of the run is in the store."""
    runs = engine._parts.runs  # noqa: SLF001 - the node's verb (drop) at a chosen instant
    drop = lambda: runs.drop(lambda workflow_id: workflow_id == "dropped", _lost)  # noqa: E731
    if dropped_after == "admit":
        _after(runs._table, "admit", drop)  # noqa: SLF001 - the instant after admission
    else:
        _after(runs, "incarnation", drop)  # (the RunHost method its actor calls at start)
    started = _start_in_thread(engine, "dropped")
    with pytest.raises(OwnershipLost):
        started.result(ANSWERED_WITHIN)
    assert engine.stats()["crashes"] == 0, "an incarnation replayed a start it never got"
    assert engine.store.latest_run("dropped") is None, "a dropped start was recorded"
    assert engine.start(flows.doubles, 4, workflow_id="after").result(timeout=30) == 8


@pytest.mark.timeout(120)
def test_a_start_no_incarnation_took_before_the_engine_closed_hears_engine_closed(
    engine: Engine,
) -> None:
    """The engine closes between the spawn of a new run's actor and its incarnation (which
    then finds itself stale and never takes the start): the starter hears `EngineClosed`
    instead of waiting for a commit that never comes."""
    runs = engine._parts.runs  # noqa: SLF001 - the instant between spawn and incarnation
    table = runs._table  # noqa: SLF001
    shut = threading.Event()
    _after(table, "shut", shut.set)
    original = runs.incarnation
    closing: list[threading.Thread] = []

    def incarnation(*args: Any) -> Any:
        if not closing:  # the first incarnation: the engine closes before it goes live
            closing.append(threading.Thread(target=engine.close, name="closer"))
            closing[0].start()
            assert shut.wait(ANSWERED_WITHIN), "the engine did not begin to close"
        return original(*args)

    runs.incarnation = incarnation
    started = _start_in_thread(engine, "unstarted")
    with pytest.raises(EngineClosed):
        started.result(ANSWERED_WITHIN)
    closing[0].join(ANSWERED_WITHIN)
    assert not closing[0].is_alive()
