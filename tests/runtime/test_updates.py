"""Validated updates on a real engine: validator, exactly once per id, replay, errors."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from aion_actors import (
    Engine,
    UpdateFailed,
    UpdateRejected,
    WorkflowClosed,
    WorkflowNotFound,
)
from aion_actors.store import LmdbStore
from tests.crashes import kill_engine
from tests.runtime import update_flows as uf
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def engine(engine: Engine) -> Engine:
    engine.register(*uf.ALL)
    return engine


def _kinds(engine: Engine, workflow_id: str) -> list[str]:
    return [e.kind for e in engine.history(workflow_id)]


def test_a_rejecting_validator_raises_update_rejected_and_records_nothing(engine: Engine) -> None:
    engine.start(uf.cart, workflow_id="rej")
    before = _kinds(engine, "rej")
    with pytest.raises(UpdateRejected, match="an item needs a name"):
        engine.update("rej", "add_item", "")
    assert _kinds(engine, "rej") == before
    assert uf.CALLS.get("rej", 0) == 0


def test_an_accepted_update_returns_its_result_and_records_both_events_once(
    engine: Engine,
) -> None:
    run = engine.start(uf.cart, workflow_id="acc")
    assert engine.update("acc", "add_item", "apple") == 1
    assert engine.update("acc", "add_item", "pear") == 2
    kinds = _kinds(engine, "acc")
    assert kinds.count("UpdateAccepted") == 2
    assert kinds.count("UpdateCompleted") == 2
    completed = [e for e in engine.history("acc") if e.kind == "UpdateCompleted"]
    assert [e.result for e in completed] == [1, 2]  # type: ignore[attr-defined]
    engine.signal("acc", "checkout")
    assert run.result(timeout=30) == ["apple", "pear"]


def test_a_retry_with_the_same_update_id_returns_the_first_result_without_running_again(
    engine: Engine,
) -> None:
    engine.start(uf.cart, workflow_id="dup")
    assert engine.update("dup", "add_item", "apple", update_id="u-1") == 1
    calls = uf.CALLS["dup"]
    assert engine.update("dup", "add_item", "apple", update_id="u-1") == 1
    assert uf.CALLS["dup"] == calls
    assert _kinds(engine, "dup").count("UpdateAccepted") == 1
    assert engine.query("dup", "items") == ["apple"]


def test_concurrent_calls_with_one_update_id_run_the_handler_once_and_all_get_its_result(
    engine: Engine,
) -> None:
    engine.start(uf.cart, workflow_id="race")
    with ThreadPoolExecutor(8) as pool:
        calls = [
            pool.submit(engine.update, "race", "add_item", "apple", update_id="same")
            for _ in range(8)
        ]
        assert [call.result(timeout=30) for call in calls] == [1] * 8
    assert _kinds(engine, "race").count("UpdateCompleted") == 1
    assert engine.query("race", "items") == ["apple"]


def test_an_update_to_an_unknown_workflow_raises_workflow_not_found(engine: Engine) -> None:
    with pytest.raises(WorkflowNotFound):
        engine.update("nobody", "add_item", "x")


def test_a_retry_after_the_run_closed_is_answered_from_history(engine: Engine) -> None:
    run = engine.start(uf.cart, workflow_id="late")
    assert engine.update("late", "add_item", "apple", update_id="u-late") == 1
    engine.signal("late", "checkout")
    run.result(timeout=30)
    assert engine.update("late", "add_item", "apple", update_id="u-late") == 1
    with pytest.raises(WorkflowClosed, match="update 'add_item'"):
        engine.update("late", "add_item", "pear", update_id="u-new")


def test_a_query_and_a_condition_see_the_handlers_effect(engine: Engine) -> None:
    engine.start(uf.cart, workflow_id="q")
    engine.update("q", "add_item", "apple")
    assert engine.query("q", "items") == ["apple"]
    run = engine.start(uf.waits_for_items, 2, workflow_id="cond")
    engine.update("cond", "add_item", "a")
    engine.update("cond", "add_item", "b")
    assert run.result(timeout=30) == ["a", "b"]


def test_an_unknown_update_name_is_rejected_naming_the_known_ones(engine: Engine) -> None:
    engine.start(uf.cart, workflow_id="unk")
    with pytest.raises(UpdateRejected, match=r"no update 'remove_item'.*add_item"):
        engine.update("unk", "remove_item", "x")
    assert "UpdateAccepted" not in _kinds(engine, "unk")


def test_a_handler_that_raises_fails_the_update_naming_it_and_the_run_goes_on(
    engine: Engine,
) -> None:
    run = engine.start(uf.cart, workflow_id="boom")
    with pytest.raises(UpdateFailed, match=r"update 'add_item'.*the shelf is empty"):
        engine.update("boom", "add_item", "boom", update_id="b-1")
    with pytest.raises(UpdateFailed):  # the recorded failure is the answer to a retry
        engine.update("boom", "add_item", "boom", update_id="b-1")
    assert engine.update("boom", "add_item", "kiwi") == 1
    engine.signal("boom", "checkout")
    assert run.result(timeout=30) == ["kiwi"]


def test_accepted_updates_are_replayed_in_order_after_eviction(data_dir: Path) -> None:
    with Engine.open(data_dir, workers=1, idle_evict_after=0.2) as engine:
        engine.register(*uf.ALL)
        run = engine.start(uf.cart, workflow_id="ev")
        engine.update("ev", "add_item", "a")
        engine.update("ev", "add_item", "b")
        evicted = lambda: engine.describe("ev").residency == "evicted"  # noqa: E731
        wait_until(evicted, 10, "eviction")
        assert engine.update("ev", "add_item", "c") == 3  # rebuilt by replay, then run
        engine.signal("ev", "checkout")
        assert run.result(timeout=30) == ["a", "b", "c"]
        assert _kinds(engine, "ev").count("UpdateCompleted") == 3


@pytest.mark.timeout(120)
def test_a_kill_between_accepted_and_completed_completes_the_update_once_on_reopen(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "AION_FAULTS": "update.accepted:1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.update_child", str(data)],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        with contextlib.suppress(ProcessLookupError):  # its group may be gone with it
            kill_engine(child)
    with LmdbStore(data, readonly=True) as store:
        run = store.latest_run("upd")
        assert run is not None
        at_kill = [e.kind for e in store.read("upd", run.run_id)]
    assert "UpdateAccepted" in at_kill and "UpdateCompleted" not in at_kill

    with Engine.open(data, workers=1) as engine:
        engine.register(*uf.ALL)
        assert engine.update("upd", "add_item", "apple", update_id="u-crash") == 1
        assert engine.query("upd", "items") == ["apple"]
        engine.signal("upd", "checkout")
        assert engine.result("upd", timeout=30) == ["apple"]
        kinds = _kinds(engine, "upd")
    assert kinds.count("UpdateAccepted") == 1
    assert kinds.count("UpdateCompleted") == 1
