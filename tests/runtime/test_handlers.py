"""Signal handlers, `wait_condition` and `wait_first`, on a real engine and across eviction."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import Engine, WorkflowFailed
from tests.runtime import handler_flows as hf
from tests.workers.helpers import wait_until


@pytest.fixture
def engine(engine: Engine) -> Engine:
    engine.register(*hf.ALL)
    return engine


def _kinds(engine: Engine, workflow_id: str) -> list[str]:
    return [e.kind for e in engine.history(workflow_id)]


def test_a_handler_gets_signals_sent_before_it_was_set_then_later_ones_in_order(
    engine: Engine,
) -> None:
    run = engine.start(hf.collects, 4, workflow_id="c")
    engine.signal("c", "add", 1)
    engine.signal("c", "add", 2)
    engine.signal("c", "ready", None)
    wait_until(lambda: engine.query("c", "items") == [1, 2], 10, "the buffered signals")
    engine.signal("c", "add", 3)
    engine.signal("c", "add", 4)
    assert run.result(timeout=30) == [1, 2, 3, 4]


def test_handler_state_is_rebuilt_by_replay_after_eviction(data_dir: Path) -> None:
    with Engine.open(data_dir, workers=1, idle_evict_after=0.2) as engine:
        engine.register(*hf.ALL)
        run = engine.start(hf.collects, 3, workflow_id="ev")
        engine.signal("ev", "ready", None)
        engine.signal("ev", "add", "a")
        evicted = lambda: engine.describe("ev").residency == "evicted"  # noqa: E731
        wait_until(evicted, 10, "eviction")
        assert engine.query("ev", "items") == ["a"]  # replayed, read-only
        engine.signal("ev", "add", "b")
        engine.signal("ev", "add", "c")
        assert run.result(timeout=30) == ["a", "b", "c"]
        assert _kinds(engine, "ev").count("SignalReceived") == 4


def test_a_catch_all_takes_every_name_but_the_one_a_wait_is_waiting_on(engine: Engine) -> None:
    run = engine.start(hf.catches_all, workflow_id="all")
    engine.signal("all", "x", 1)
    engine.signal("all", "y", 2)
    engine.signal("all", "stop", 3)
    assert run.result(timeout=30) == [["x", 1], ["y", 2], ["stop", 3]]


def test_a_condition_that_stays_false_raises_condition_timeout(engine: Engine) -> None:
    assert engine.start(hf.condition_times_out, 0.1).result(timeout=30) == "timed out"


def test_a_condition_true_where_awaited_returns_and_cancels_its_timer(engine: Engine) -> None:
    run = engine.start(hf.approves, workflow_id="ok")
    engine.signal("ok", "approve", True)
    engine.signal("ok", "go", None)
    assert run.result(timeout=30) == "approved"
    kinds = _kinds(engine, "ok")
    assert "TimerFired" not in kinds and kinds.count("TimerCancelled") == 1


def test_a_handler_that_raises_a_workflow_error_fails_the_run(engine: Engine) -> None:
    run = engine.start(hf.handler_refuses, workflow_id="bad")
    engine.signal("bad", "bad", 7)
    with pytest.raises(WorkflowFailed, match="refused 7"):
        run.result(timeout=30)


def test_wait_first_returns_the_winner_and_cancels_the_losing_timer(engine: Engine) -> None:
    run = engine.start(hf.first_of_sleep_and_signal, workflow_id="f")
    engine.signal("f", "go", "now")
    assert run.result(timeout=30) == [1, "now"]
    kinds = _kinds(engine, "f")
    assert kinds.count("TimerCancelled") == 1 and "TimerFired" not in kinds
    activity_first = engine.start(hf.first_of_activity_and_sleep, workflow_id="a")
    assert activity_first.result(timeout=30) == [0, "fast"]


def test_wait_first_leaves_the_losers_signal_for_the_next_wait(engine: Engine) -> None:
    run = engine.start(hf.first_leaves_signal, workflow_id="late")
    wait_until(lambda: "TimerFired" in _kinds(engine, "late"), 10, "the sleep to win")
    engine.signal("late", "late", "kept")
    assert run.result(timeout=30) == [0, "kept"]


def test_temporals_hello_signal_sample_runs_as_written_there(engine: Engine) -> None:
    run = engine.start(hf.greetings, workflow_id="hello-signal")
    for name in ("user1", "user2", "user3"):
        engine.signal("hello-signal", "submit_greeting", name)
    engine.signal("hello-signal", "exit")
    assert run.result(timeout=30) == ["Hello, user1", "Hello, user2", "Hello, user3"]


def test_on_signal_refuses_async_handlers_and_bad_names() -> None:
    from aion_actors.runtime.recorded import Outcomes
    from aion_actors.runtime.signals import SignalRouter

    router = SignalRouter(Outcomes(), at_seq=1)

    async def handler(payload: object) -> None: ...

    with pytest.raises(TypeError, match="plain function"):
        router.set_handler("x", handler, "w")
    with pytest.raises(ValueError, match="signal name or None"):
        router.set_handler("", print, "w")
    router.waited = frozenset({"x"})
    with pytest.raises(ValueError, match="either handled or waited on"):
        router.set_handler("x", print, "w")
