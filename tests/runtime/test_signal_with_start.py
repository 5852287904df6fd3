"""Signal-with-start: the run is started if none is open, and the signal delivered either way."""

from __future__ import annotations

import threading

import pytest

from aion_actors import ConfigError, Engine, PayloadError, WorkflowNotFound
from aion_actors.core import events as ev
from tests.runtime import handle_flows as hf


@pytest.fixture
def engine(engine: Engine) -> Engine:
    engine.register(*hf.ALL)
    return engine


def test_with_no_open_run_it_starts_one_whose_first_event_after_the_start_is_the_signal(
    engine: Engine,
) -> None:
    run = engine.start(hf.waits_for_go, workflow_id="fresh", signal=("go", {"n": 1}))
    assert run.result(timeout=30) == {"n": 1}
    history = engine.history("fresh")
    assert isinstance(history[0], ev.WorkflowStarted)
    assert isinstance(history[1], ev.SignalReceived) and history[1].payload == {"n": 1}


def test_with_an_open_run_it_signals_that_run_and_starts_none(engine: Engine) -> None:
    first = engine.start(hf.waits_twice, workflow_id="open")
    again = engine.start(hf.waits_twice, workflow_id="open", signal=("go", 1))
    assert again.run_id == first.run_id
    engine.start(hf.waits_twice, workflow_id="open", signal=("go", 2))
    assert first.result(timeout=30) == [1, 2]
    assert len([r for r in engine.list_runs() if r.workflow_id == "open"]) == 1


def test_racing_callers_start_one_run_and_every_signal_reaches_it(engine: Engine) -> None:
    callers, barrier = 16, threading.Barrier(16)
    runs: list[str] = []

    def call(i: int) -> None:
        barrier.wait()
        run = engine.start(hf.counts_signals, callers, workflow_id="race", signal=("add", i))
        runs.append(run.run_id)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(set(runs)) == 1
    assert engine.result("race", timeout=30) == list(range(callers))
    assert len([r for r in engine.list_runs() if r.workflow_id == "race"]) == 1


def test_bad_signal_with_start_arguments_start_nothing(engine: Engine) -> None:
    with pytest.raises(ConfigError, match="needs a workflow_id"):
        engine.start(hf.waits_for_go, signal=("go", 1))
    with pytest.raises(ConfigError, match="pair"):
        engine.start(hf.waits_for_go, workflow_id="bad", signal="go")  # type: ignore[arg-type]
    with pytest.raises(PayloadError, match="signal payload"):
        engine.start(hf.waits_for_go, workflow_id="bad", signal=("go", {1, 2}))
    with pytest.raises(WorkflowNotFound):
        engine.describe("bad")
