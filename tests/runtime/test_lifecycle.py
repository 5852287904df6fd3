"""Engine.close() stops every thread, actor and worker process the engine started."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pykka
import pytest

from aion_actors import Engine
from aion_actors.runtime.actor import RunActor
from aion_actors.runtime.ledger import ActivityState, Ledger
from aion_actors.runtime.machine import Machine
from tests.runtime import flows
from tests.workers.conftest import _singletons
from tests.workers.helpers import children, wait_until


def test_close_leaves_no_thread_actor_or_process(data_dir: Path) -> None:
    threads_before = set(threading.enumerate())
    children_before = children()
    engine = Engine.open(data_dir, workers=2)
    engine.register(*flows.ALL)
    handles = [engine.start(flows.three_steps, i) for i in range(20)]
    parked = engine.start(flows.ordered, workflow_id="still-open")
    assert [h.result(timeout=30) for h in handles] == [i + 111 for i in range(20)]
    assert engine.describe(parked.workflow_id).residency == "resident"
    servers = _singletons()
    assert any(children(server) for server in servers), "process workers were started"
    assert len(set(threading.enumerate()) - threads_before) > 3

    engine.close()

    assert pykka.ActorRegistry.get_all() == []
    wait_until(lambda: set(threading.enumerate()) <= threads_before, 10, "engine threads")
    wait_until(lambda: children() <= children_before | servers, 10, "child processes")
    wait_until(lambda: not any(children(s) for s in servers), 10, "worker processes")


def test_reopen_after_close_resumes_open_runs(data_dir: Path) -> None:
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        engine.start(flows.ordered, workflow_id="waits")
        wait_until(lambda: len(engine.history("waits")) >= 5, 30, "activities")
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        engine.signal("waits", "finish")
        assert engine.result("waits", timeout=30) == [3, 7]


def test_finished_runs_are_freed_without_the_cyclic_collector(data_dir: Path) -> None:
    """A finished run's actor, machine and coroutine go by reference counting:
    left to the collector, hundreds a second would pile up between its passes."""

    def live() -> list[object]:
        return [o for o in gc.get_objects() if isinstance(o, RunActor | Machine)]

    gc.collect()
    gc.disable()
    try:
        with Engine.open(data_dir, workers=1, idle_evict_after=0) as engine:
            engine.register(*flows.ALL)
            handles = engine.start_many(flows.three_steps, [(i,) for i in range(20)])
            evicted = engine.start(flows.ordered)  # a run that stops by eviction, not by ending
            assert [h.result(timeout=30) for h in handles] == [i + 111 for i in range(20)]
            wait_until(
                lambda: engine.describe(evicted.workflow_id).residency == "evicted",
                10,
                "the idle run's eviction",
            )
            wait_until(lambda: not live(), 10, "finished run actors to be freed")
    finally:
        gc.enable()


def test_a_run_that_closes_with_nothing_queued_stops_without_a_stop_message(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run whose inbox is empty when its closing commit is acted on stops within that
    turn (no `stop()`, whose message would take a turn of its own), and is gone after."""
    told_to_stop: list[object] = []
    stop = RunActor.stop

    def counted(actor: RunActor, *args: object, **kwargs: object) -> None:
        told_to_stop.append(actor.key)
        stop(actor)

    monkeypatch.setattr(RunActor, "stop", counted)
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        handles = [engine.start(flows.three_steps, i) for i in range(5)]
        assert [h.result(timeout=30) for h in handles] == [i + 111 for i in range(5)]

        def runs_left() -> list[object]:
            return [r for r in pykka.ActorRegistry.get_all() if r.actor_class is RunActor]

        wait_until(lambda: not runs_left(), 10, "the closed runs' actors to exit")
        assert {engine.describe(h.workflow_id).status.value for h in handles} == {"completed"}
    assert told_to_stop == []


def test_without_rate_limits_a_run_counts_its_running_attempts_only_when_it_replays(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a busy run waits on time alone (its attempts all held by a rate limit) is
    answered without counting its attempts when nothing is held: each turn used to count
    them; now only the replay that re-dispatches them does, once per run."""
    counted: list[object] = []
    running_attempts = Ledger.running_attempts

    def counting(ledger: Ledger) -> list[tuple[str, ActivityState]]:
        counted.append(ledger)
        return running_attempts(ledger)

    monkeypatch.setattr(Ledger, "running_attempts", counting)
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        handles = [engine.start(flows.three_steps, i) for i in range(4)]
        assert [h.result(timeout=30) for h in handles] == [i + 111 for i in range(4)]
    assert len(counted) == 4
