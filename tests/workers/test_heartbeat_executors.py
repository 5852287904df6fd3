"""Heartbeats and cancellation as each executor handles them, without an engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors.workers import CancelReason, Executor, Task
from aion_actors.workers.heartbeats import Throttle, forward_interval, record_interval
from tests.workers.helpers import WAIT, Collector, attempt, run_one

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("kind", ["pool", "threads"])
def test_a_cancelled_attempt_that_has_not_started_ends_unrun(
    request: pytest.FixtureRequest, kind: str, tmp_path: Path
) -> None:
    executor: Executor = request.getfixturevalue(kind)
    collector = Collector()
    busy = 2 if kind == "pool" else 4  # every worker busy: the next attempt queues
    for i in range(busy):
        executor.submit(Task("sleep", [1.0], attempt(f"busy{i}")), collector.callback(f"b{i}"))
    marker = tmp_path / "ran"
    queued = attempt("queued")
    executor.submit(Task("sleep", [0, str(marker)], queued), collector.callback("queued"))
    executor.cancel(queued.key, 5.0, CancelReason.WORKFLOW_CANCELLED)
    outcome = collector.wait_for(1, WAIT)["queued"]  # at once, before the busy ones end
    assert outcome.error is not None and outcome.error["type"] == "ActivityCancelled"
    assert "before it ran" in outcome.error["message"]
    collector.wait_for(busy + 1, WAIT)
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["pool", "threads"])
def test_heartbeat_details_over_the_payload_limit_are_refused_naming_the_activity(
    request: pytest.FixtureRequest, kind: str
) -> None:
    outcome = run_one(request.getfixturevalue(kind), "beat_big")
    assert outcome.error is not None and outcome.error["type"] == "PayloadError"
    assert "heartbeat details of activity 'beat_big'" in outcome.error["message"]


def test_the_throttle_lets_one_through_per_interval_and_keeps_the_last_held_back() -> None:
    throttle = Throttle(60.0)
    assert throttle.offer(1) == (True, 1)
    assert throttle.offer(2) == (False, None)
    assert throttle.offer(None) == (False, None)  # no details: the held ones stay
    assert throttle.offer(3) == (False, None)
    assert throttle.take_held() == 3
    assert throttle.take_held() is None
    passing = Throttle(0.0)
    assert passing.offer(None) == (True, None)


def test_intervals_follow_the_heartbeat_timeout() -> None:
    assert record_interval(None) == 1.0 and record_interval(0.4) == 1.0
    assert record_interval(10) == 5.0
    assert forward_interval(0.4) == 0.2 and forward_interval(None) == 1.0
