"""Where a started run's actor is spawned: a lone caller's own thread, else the spawn lane."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from aion_actors import Engine, EngineClosed, WorkflowAlreadyStarted
from aion_actors.core import RunKey
from aion_actors.runtime.actor import RunActor
from aion_actors.runtime.lane import Lane
from aion_actors.runtime.runs import residency, starts
from aion_actors.runtime.runs.spawning import Spawner
from supervisor import SupervisorError
from tests.runtime import flows

KEY = RunKey("wf", "run")


def starting_in_a_thread(engine: Engine) -> tuple[threading.Thread, list[BaseException]]:
    """A request thread starting a run; what its `start` raised goes in the list."""
    told: list[BaseException] = []

    def start() -> None:
        try:
            engine.start(flows.three_steps, 1)
        except BaseException as exc:
            told.append(exc)

    caller = threading.Thread(target=start, name="a-request-thread")
    caller.start()
    return caller, told


def told_engine_closed(caller: threading.Thread, told: list[BaseException]) -> None:
    caller.join(30)
    assert not caller.is_alive(), "the caller still waits for a start nobody will record"
    assert len(told) == 1 and isinstance(told[0], EngineClosed), told


@pytest.fixture
def spawned_in(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of the thread each run actor's `on_start` ran in (where it was spawned)."""
    names: list[str] = []
    on_start = RunActor.on_start

    def noted(actor: RunActor) -> None:
        names.append(threading.current_thread().name)
        on_start(actor)

    monkeypatch.setattr(RunActor, "on_start", noted)
    return names


@pytest.fixture
def lane() -> Iterator[Lane]:
    lane = Lane("test-spawn")
    yield lane
    lane.close()


def test_a_lone_start_spawns_its_actor_in_the_callers_thread(
    engine: Engine, spawned_in: list[str]
) -> None:
    assert engine.start(flows.three_steps, 1).result(timeout=30) == 112
    assert spawned_in == [threading.current_thread().name]


def test_a_start_among_others_spawns_on_the_lane_and_returns_once_committed(
    engine: Engine, spawned_in: list[str]
) -> None:
    spawner = engine._runs._starts._spawner  # noqa: SLF001 - another caller is starting
    assert not spawner.starting()
    try:
        handle = engine.start(flows.three_steps, 2)
        assert type(engine.history(handle.workflow_id)[0]).__name__ == "WorkflowStarted"
    finally:
        spawner.started()
    assert handle.result(timeout=30) == 113
    assert spawned_in == ["aion-spawn"]


def test_many_request_threads_each_get_their_committed_run(engine: Engine) -> None:
    results: dict[int, Any] = {}

    def client(value: int) -> None:
        handle = engine.start(flows.three_steps, value)
        assert engine.history(handle.workflow_id)[0].input == [value]  # committed already
        results[value] = handle.result(timeout=60)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == {i: i + 111 for i in range(64)}


def test_a_caller_alone_spawns_here_and_one_among_others_on_the_lane(lane: Lane) -> None:
    spawner = Spawner(lambda key, generation: None, lane)
    assert spawner.starting() is False  # alone
    assert spawner.starting() is True  # a second caller meanwhile
    spawner.started()
    spawner.started()
    assert spawner.starting() is False  # alone again
    spawner.started()


def test_a_spawn_runs_in_order_on_the_lane(lane: Lane) -> None:
    spawned: list[tuple[RunKey, int, str]] = []
    done = threading.Event()

    def spawn(key: RunKey, generation: int) -> None:
        spawned.append((key, generation, threading.current_thread().name))
        if generation == 2:
            done.set()

    spawner = Spawner(spawn, lane)
    spawner.spawn(KEY, 1, here=False)
    spawner.spawn(KEY, 2, here=False)
    assert done.wait(10)
    assert spawned == [(KEY, 1, "test-spawn"), (KEY, 2, "test-spawn")]


def test_a_spawn_the_closed_lane_refuses_is_made_in_the_callers_thread(lane: Lane) -> None:
    lane.close()
    spawned: list[str] = []
    spawner = Spawner(lambda key, generation: spawned.append(threading.current_thread().name), lane)
    spawner.spawn(KEY, 1, here=False)
    assert spawned == [threading.current_thread().name]


@pytest.mark.timeout(60)
def test_a_start_whose_spawn_waited_on_the_lane_until_the_table_shut_is_told_engine_closed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(The engine closes while a start's spawn waits on the lane: no actor ever took the
    start, so nothing was recorded, and its caller hears so instead of waiting for ever.)"""
    runs = engine._parts.runs  # noqa: SLF001 - a spawn held on the lane across the close
    lane = runs._spawn_lane  # noqa: SLF001
    monkeypatch.setattr(runs._starts._spawner, "starting", lambda: True)  # noqa: SLF001
    gate, queued = threading.Event(), threading.Event()
    lane.submit(gate.wait, 30)
    submit = lane.submit

    def noted(fn: Any, *args: Any) -> bool:
        taken = submit(fn, *args)
        queued.set()
        return taken

    monkeypatch.setattr(lane, "submit", noted)
    caller, told = starting_in_a_thread(engine)
    assert queued.wait(10)
    runs._table.shut()  # noqa: SLF001 - the engine's close begins
    gate.set()
    told_engine_closed(caller, told)


@pytest.mark.timeout(60)
def test_a_start_whose_actor_the_closing_engine_could_not_spawn_is_told_engine_closed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(The engine closes while a caller spawns its run's actor in its own thread: the
    supervisor has stopped, so no actor took the start and nothing was recorded. The
    caller waited for that commit with no timeout, for ever.)"""
    runs = engine._parts.runs  # noqa: SLF001 - the close, between reservation and spawn
    table, residency = runs._table, runs._residency  # noqa: SLF001
    supervisor = residency._sup  # noqa: SLF001
    start_child = type(supervisor).start_child

    def stopped(self: Any, spec: Any) -> Any:
        if self is not supervisor:
            return start_child(self, spec)
        table.shut()  # the engine's close begins: the table refuses everything from now on
        raise SupervisorError("supervisor 'runs' is not running")

    monkeypatch.setattr(type(supervisor), "start_child", stopped)
    caller, told = starting_in_a_thread(engine)
    told_engine_closed(caller, told)


def crowded(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every start after this one finds other callers starting runs (its work goes to the lane)."""
    runs = engine._parts.runs  # noqa: SLF001 - as if other request threads were starting runs
    monkeypatch.setattr(runs._starts._spawner, "starting", lambda: True)  # noqa: SLF001


def test_a_start_among_others_has_its_opening_built_on_the_lane_not_in_its_callers_thread(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(The caller only reserves the workflow_id and waits: its run's `WorkflowStarted` is
    built, stamped and handed to the run's entry by `aion-spawn`, round 8.)"""
    crowded(engine, monkeypatch)
    built_in: list[str] = []
    started = starts._started  # noqa: SLF001 - where the opening is built

    def noted(*args: Any) -> Any:
        built_in.append(threading.current_thread().name)
        return started(*args)

    monkeypatch.setattr(starts, "_started", noted)
    handle = engine.start(flows.three_steps, 3)
    assert engine.history(handle.workflow_id)[0].input == [3]  # committed when start returned
    assert handle.result(timeout=30) == 114
    assert built_in == ["aion-spawn"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("among_others", [True, False])
def test_a_start_whose_opening_fails_raises_that_error_and_frees_its_workflow_id(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, among_others: bool
) -> None:
    """(Its caller waits for the commit with no timeout: an error on the lane before any
    actor took the start must reach it, not be logged by the lane and leave it waiting;
    and nothing was written, so the id is not left reserved.)"""
    if among_others:
        crowded(engine, monkeypatch)
    with monkeypatch.context() as patch:

        def broken(*args: Any) -> Any:
            raise RuntimeError("no opening")

        patch.setattr(starts, "_started", broken)
        with pytest.raises(RuntimeError, match="no opening"):
            engine.start(flows.three_steps, 4, workflow_id="again")
    assert engine.start(flows.three_steps, 5, workflow_id="again").result(timeout=30) == 116


def test_a_lone_start_reserves_its_workflow_id_decided_with_no_batch_to_wait_on(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(A batch of several runs is undecided until all are reserved, and a second start of
    one of its ids waits for that; a lone run is decided once reserved: no latch per start.)"""
    runs = engine._parts.runs  # noqa: SLF001 - the reservation, seen before its launch
    launch = runs._starts.launch  # noqa: SLF001
    seen: list[object] = []
    refused: list[BaseException] = []

    def noted(definition: Any, new: Any, entries: Any, **kw: Any) -> Any:
        seen.extend(entry.batch for entry in entries)
        try:  # another caller meanwhile: refused at once, no batch to wait for
            engine.start(flows.three_steps, 6, workflow_id="lone")
        except WorkflowAlreadyStarted as exc:
            refused.append(exc)
        return launch(definition, new, entries, **kw)

    monkeypatch.setattr(runs._starts, "launch", noted)  # noqa: SLF001
    handle = engine.start(flows.three_steps, 5, workflow_id="lone")
    assert seen == [None] and len(refused) == 1
    assert handle.result(timeout=30) == 116


def test_a_new_runs_spawn_reads_no_restart_ages_from_its_opening(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(Its opening is its `WorkflowStarted`: no restart to count against its budget.)"""
    counted: list[int] = []
    ages = residency.restart_ages

    def noted(history: Any, *args: Any) -> Any:
        counted.append(len(history))
        return ages(history, *args)

    monkeypatch.setattr(residency, "restart_ages", noted)
    assert engine.start(flows.three_steps, 7).result(timeout=30) == 118
    assert counted == []
