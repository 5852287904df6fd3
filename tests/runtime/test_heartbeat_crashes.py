"""SIGKILL the engine while an activity heartbeats, or right after its cancel was recorded."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from aion_actors import AionError, Engine, WorkflowCancelled
from aion_actors.core import events as ev
from aion_actors.store import LmdbStore
from tests.crashes import kill_engine
from tests.runtime import heartbeat_flows as hb
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)


def _history(data: Path) -> list[ev.Event]:
    try:
        with LmdbStore(data, readonly=True) as store:
            run = store.latest_run("hb")
            return store.read("hb", run.run_id) if run else []
    except AionError:  # the engine has not created the directory yet
        return []


def _run_until(
    tmp_path: Path, scenario: str, ready: Callable[[list[ev.Event]], bool]
) -> tuple[Path, str, list[ev.Event]]:
    data, ledger = tmp_path / "data", str(tmp_path / "ledger")
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.heartbeat_child", str(data), scenario, ledger],
        cwd=ROOT,
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: ready(_history(data)), 60, f"{scenario} to reach its step")
    finally:
        kill_engine(child)
    return data, ledger, _history(data)


def _beat_with_details(history: list[ev.Event]) -> bool:
    return any(isinstance(e, ev.ActivityHeartbeat) and e.details for e in history)


def test_the_last_recorded_heartbeat_details_survive_a_kill_of_the_engine(
    tmp_path: Path,
) -> None:
    data, ledger, at_kill = _run_until(tmp_path, "details", _beat_with_details)
    last = [e.details for e in at_kill if isinstance(e, ev.ActivityHeartbeat)][-1]

    with Engine.open(data, workers=1) as engine:
        engine.register(*hb.ALL)
        # the attempt cut short runs again, from the details last recorded before the kill
        assert engine.result("hb", timeout=60) == ["resumed from", last]
    assert [n for n in hb.notes(ledger) if n[0] == "attempt"] == [
        ["attempt", "1", "None"],
        ["attempt", "1", str(last)],
    ]


def test_a_kill_after_the_cancel_request_is_recorded_ends_the_same_without_a_rerun(
    tmp_path: Path,
) -> None:
    def requested(history: list[ev.Event]) -> bool:
        return any(isinstance(e, ev.ActivityCancelRequested) for e in history)

    data, ledger, at_kill = _run_until(tmp_path, "cancel", requested)
    assert not any(isinstance(e, ev.ActivityFailed) for e in at_kill)  # it ignored the cancel

    with Engine.open(data, workers=1) as engine:
        engine.register(*hb.ALL)
        with pytest.raises(WorkflowCancelled):
            engine.result("hb", timeout=60)
        history = engine.history("hb")
    kinds = [e.kind for e in history]
    assert kinds.count("ActivityScheduled") == 1 and kinds.count("ActivityCancelRequested") == 1
    failed = next(e for e in history if isinstance(e, ev.ActivityFailed))
    assert failed.error["type"] == "ActivityCancelled"
    assert "not run again" in failed.error["message"]
    assert kinds[-1] == "WorkflowCancelled"
    assert [n[0] for n in hb.notes(ledger)].count("started") == 1  # the activity never re-ran
