"""Async update handlers: they await ctx commands, interleaved deterministically."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from aion_actors import Engine, EngineClosed, UpdateFailed
from aion_actors.core import AionError
from aion_actors.core import events as ev
from aion_actors.store import LmdbStore
from tests.crashes import kill_engine
from tests.runtime import update_flows as uf
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def engine(engine: Engine) -> Engine:
    engine.register(*uf.ALL)
    return engine


def _completed(history: list[ev.Event]) -> list[object]:
    return [e.result for e in history if isinstance(e, ev.UpdateCompleted)]


@pytest.mark.timeout(60)
def test_an_async_handler_awaiting_an_activity_returns_its_result_to_engine_update(
    engine: Engine, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    run = engine.start(uf.async_updates, str(ledger), workflow_id="a1")
    assert engine.update("a1", "stamp", "apple", timeout=30) == "stamped apple"
    assert engine.query("a1", "done") == ["stamped apple"]
    engine.signal("a1", "finish")
    assert run.result(timeout=30) == ["stamped apple"]
    kinds = [e.kind for e in engine.history("a1")]
    assert kinds.count("UpdateCompleted") == 1
    assert kinds.index("UpdateAccepted") < kinds.index("ActivityScheduled")
    assert kinds.index("ActivityCompleted") < kinds.index("UpdateCompleted")
    assert ledger.read_text().splitlines() == ["apple"]


@pytest.mark.timeout(60)
def test_handlers_awaiting_timers_complete_in_firing_order_and_replay_keeps_the_history(
    data_dir: Path, tmp_path: Path
) -> None:
    with Engine.open(data_dir, workers=1, idle_evict_after=0.2) as engine:
        engine.register(*uf.ALL)
        run = engine.start(uf.async_updates, str(tmp_path / "ledger"), workflow_id="a2")
        with ThreadPoolExecutor(2) as pool:
            long = pool.submit(engine.update, "a2", "nap", ["long", 1.2], timeout=30)
            accepted = lambda: "UpdateAccepted" in [e.kind for e in engine.history("a2")]  # noqa: E731
            wait_until(accepted, 10, "the first update's acceptance")
            short = pool.submit(engine.update, "a2", "nap", ["short", 0.3], timeout=30)
            assert short.result(timeout=30) == "short"
            assert long.result(timeout=30) == "long"
        before = engine.history("a2")
        assert _completed(before) == ["short", "long"]
        evicted = lambda: engine.describe("a2").residency == "evicted"  # noqa: E731
        wait_until(evicted, 10, "eviction")
        # rebuilt by replay: both handlers re-run to the same commands, none recorded again
        assert engine.update("a2", "nap", ["third", 0], timeout=30) == "third"
        engine.signal("a2", "finish")
        assert run.result(timeout=30) == ["short", "long", "third"]
        after = engine.history("a2")
    assert [(e.seq, e.kind) for e in after[: len(before)]] == [(e.seq, e.kind) for e in before]
    assert [e.kind for e in after].count("TimerStarted") == 3
    assert _completed(after) == ["short", "long", "third"]


@pytest.mark.timeout(60)
def test_a_run_that_ends_under_a_running_handler_fails_that_update_naming_why(
    engine: Engine,
) -> None:
    run = engine.start(uf.ends_under_a_handler, workflow_id="a3")
    with ThreadPoolExecutor(1) as pool:
        nap = pool.submit(engine.update, "a3", "nap", 30, timeout=30)
        accepted = lambda: "UpdateAccepted" in [e.kind for e in engine.history("a3")]  # noqa: E731
        wait_until(accepted, 10, "the update's acceptance")
        engine.signal("a3", "stop")
        assert run.result(timeout=30) == "stopped"
        with pytest.raises(UpdateFailed, match="the workflow ended first"):
            nap.result(timeout=30)
    kinds = [e.kind for e in engine.history("a3")]
    assert kinds[-2:] == ["UpdateCompleted", "WorkflowCompleted"]


@pytest.mark.timeout(60)
def test_a_caller_waiting_on_a_handler_when_its_run_crashes_gets_the_next_incarnations_answer(
    engine: Engine,
) -> None:
    engine.start(uf.crashes_under_a_handler, workflow_id="c1")
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(engine.update, "c1", "hold", None, timeout=30)
        wait_until(lambda: "UpdateAccepted" in [e.kind for e in engine.history("c1")], 30)
        engine.signal("c1", "crash")
        wait_until(lambda: engine.describe("c1").restarts == 1, 30, "the run to restart")
        engine.signal("c1", "release")
        assert answer.result(timeout=30) == "released"
    assert _completed(engine.history("c1")) == ["released"]


@pytest.mark.timeout(60)
def test_callers_waiting_on_a_run_when_the_engine_closes_are_told_engine_closed(
    data_dir: Path,
) -> None:
    engine = Engine.open(data_dir, workers=1)
    engine.register(*uf.ALL)
    handle = engine.start(uf.crashes_under_a_handler, workflow_id="c2")
    with ThreadPoolExecutor(3) as pool:
        waits = [
            pool.submit(engine.update, "c2", "hold", None, timeout=None),
            pool.submit(handle.result),
            pool.submit(engine.result, "c2"),
        ]
        wait_until(lambda: "UpdateAccepted" in [e.kind for e in engine.history("c2")], 30)
        engine.close()
        for waiting in waits:
            with pytest.raises(EngineClosed):
                waiting.result(timeout=10)
    with pytest.raises(EngineClosed):
        handle.result(timeout=5)


def test_on_update_still_refuses_an_async_validator(engine: Engine) -> None:
    from aion_actors.runtime.recorded import Outcomes
    from aion_actors.runtime.updates import UpdateRouter

    router = UpdateRouter(Outcomes(), "w", 1, None, 1 << 20)

    async def validator(payload: object) -> None: ...

    with pytest.raises(TypeError, match="validator"):
        router.set_handler("x", print, validator)
    with pytest.raises(TypeError, match="handler"):
        router.set_handler("x", 3, None)  # type: ignore[arg-type]


def _history(data: Path) -> list[ev.Event]:
    try:
        with LmdbStore(data, readonly=True) as store:
            run = store.latest_run("aupd")
            return store.read("aupd", run.run_id) if run else []
    except AionError:  # the engine has not created the directory yet
        return []


@pytest.mark.timeout(120)
def test_a_kill_while_a_handler_awaits_completes_the_update_once_without_rerunning_the_activity(
    tmp_path: Path,
) -> None:
    data, ledger = tmp_path / "data", tmp_path / "ledger"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.async_update_child", str(data), str(ledger)],
        cwd=ROOT,
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    done = lambda: any(isinstance(e, ev.ActivityCompleted) for e in _history(data))  # noqa: E731
    try:
        wait_until(done, 60, "the handler's activity to complete")
    finally:
        kill_engine(child)
    at_kill = [e.kind for e in _history(data)]
    assert "UpdateCompleted" not in at_kill and "TimerStarted" in at_kill
    time.sleep(1.5)  # the handler's timer is overdue when the engine comes back

    with Engine.open(data, workers=1) as engine:
        engine.register(*uf.ALL)
        got = engine.update("aupd", "stamp_then_nap", "x", update_id="u-async", timeout=60)
        assert got == "stamped x"
        engine.signal("aupd", "finish")
        assert engine.result("aupd", timeout=30) == ["stamped x"]
        kinds = [e.kind for e in engine.history("aupd")]
    assert kinds.count("UpdateAccepted") == 1 and kinds.count("UpdateCompleted") == 1
    assert kinds.count("ActivityScheduled") == 1 and kinds.count("ActivityCompleted") == 1
    assert ledger.read_text().splitlines() == ["x"]
