"""An activity's rate window across an engine kill: the calls of the engine's last life
still count (read back from history), so a restart grants no fresh window."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from aion_actors import Engine
from aion_actors.core import events as ev
from aion_actors.core import stamp
from aion_actors.runtime.limit_history import latest_starts
from aion_actors.store import LmdbStore
from tests.crashes import kill_engine
from tests.queues import limit_flows
from tests.queues.history import most_in_window
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
SECOND = 1_000_000_000


def _history(data: Path, workflow_id: str) -> list[ev.Event]:
    try:
        with LmdbStore(data, readonly=True) as store:
            run = store.latest_run(workflow_id)
            return store.read(workflow_id, run.run_id) if run else []
    except Exception:  # not created yet
        return []


def _b_waits_for_the_window(data: Path) -> bool:
    events = _history(data, "b")
    scheduled = [e for e in events if isinstance(e, ev.ActivityScheduled)]
    completed = [e for e in events if isinstance(e, ev.ActivityCompleted)]
    return len(scheduled) == 2 and len(completed) == 1


@pytest.mark.timeout(120)
def test_a_killed_engines_calls_still_fill_the_activity_rate_window_after_restart(
    tmp_path: Path,
) -> None:
    data, ledger = tmp_path / "data", str(tmp_path / "ledger")
    rate = limit_flows.sparse.rate
    assert rate is not None
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.queues.limit_child", str(data), ledger],
        cwd=ROOT,
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    try:  # a's call and b's first ran; b's second waits for the window: kill then
        wait_until(lambda: _b_waits_for_the_window(data), 60, "b to wait for the rate")
    finally:
        kill_engine(child)

    with Engine.open(data, workers=1) as engine:
        engine.register(*limit_flows.ALL)
        reopened = time.time_ns()
        assert sorted(engine.result("b", timeout=60)) == ["b-0", "b-1"]
    starts = limit_flows.calls(ledger)["start"]
    first = min(at for _, at in starts)
    assert reopened < first + rate.per_ns - SECOND, "reopened too late for a fresh window"
    assert [call for call, _ in starts].count("b-0") == 1  # recorded complete: never again
    assert most_in_window([at for _, at in starts], rate.per_ns) <= rate.limit


def test_each_attempt_counts_at_the_latest_instant_its_hand_off_may_have_happened() -> None:
    def scheduled(aid: str, attempt: int, at: int, name: str = "api") -> ev.Event:
        event = ev.ActivityScheduled(activity_id=aid, name=name, input=[], attempt=attempt)
        return stamp(event, 0, at)

    failed = ev.ActivityAttemptFailed(activity_id="retried", attempt=1, error={"type": "X"})

    born = 1000
    events = [
        scheduled("done", 1, 10),
        scheduled("other", 1, 11, name="elsewhere"),  # another activity: not counted
        scheduled("retried", 1, 12),
        scheduled("flying", 1, 13),
        stamp(ev.ActivityCompleted(activity_id="done"), 0, 20),
        stamp(failed, 0, 30),
        scheduled("retried", 2, 40),
        scheduled("late", 1, 1500),  # this engine's own: its hand-off is counted live
        stamp(ev.ActivityCompleted(activity_id="retried"), 0, 1600),  # ended after born
    ]
    # done at its end; retried #1 at its failure, #2 no later than born; flying (no end): born
    assert sorted(latest_starts(events, "api", born)) == [20, 30, born, born]
    closed = [*events[:4], stamp(ev.WorkflowCompleted(result=None), 0, 50)]
    assert sorted(latest_starts(closed, "api", born)) == [50, 50, 50]  # its run closed at 50
