"""Heartbeats, heartbeat timeouts and the cancellation of running activities."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import Engine, WorkflowCancelled
from aion_actors.core import events as ev
from tests.runtime import heartbeat_flows as hb
from tests.workers.helpers import is_running, wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with Engine.open(tmp_path / "data", workers=2) as engine:
        engine.register(*hb.ALL)
        yield engine


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    return str(tmp_path / "ledger")


def _kinds(engine: Engine, workflow_id: str) -> list[str]:
    return [e.kind for e in engine.history(workflow_id)]


def _started(ledger: str) -> None:
    wait_until(lambda: any(n[0] == "started" for n in hb.notes(ledger)), 30, "the activity")


@pytest.mark.parametrize("name", ["details_in_process", "details_in_thread"])
def test_the_last_heartbeat_details_reach_the_next_attempt(
    engine: Engine, ledger: str, name: str
) -> None:
    engine.start(hb.awaits, name, ledger, workflow_id="w")
    # attempt 1 beat [1, 0], [1, 1], [1, 2] within the throttle: the last one is kept
    assert engine.result("w", timeout=30) == [1, 2]
    history = engine.history("w")
    beats = [e for e in history if isinstance(e, ev.ActivityHeartbeat)]
    # throttled: the first at once, the held-back last with the attempt's failure
    assert [(b.attempt, b.details) for b in beats] == [(1, [1, 0]), (1, [1, 2])]
    failed = next(i for i, e in enumerate(history) if isinstance(e, ev.ActivityAttemptFailed))
    assert history.index(beats[-1]) == failed - 1


@pytest.mark.parametrize("name", ["stalls_in_process", "stalls_in_thread"])
def test_an_attempt_whose_heartbeats_stop_fails_and_is_retried(
    engine: Engine, ledger: str, name: str
) -> None:
    engine.start(hb.awaits, name, ledger, workflow_id="w")
    assert engine.result("w", timeout=30) == "done"
    failures = [e for e in engine.history("w") if isinstance(e, ev.ActivityAttemptFailed)]
    assert [f.error["type"] for f in failures] == ["ActivityHeartbeatTimeout"]
    assert "0.5 s" in failures[0].error["message"]
    attempts = [n for n in hb.notes(ledger) if n[0] == "attempt"]
    assert [a[1] for a in attempts] == ["1", "2"]
    if name == "stalls_in_process":  # the stuck worker was killed and replaced
        wait_until(lambda: not is_running(int(attempts[0][2])), 10, "the stuck worker to die")
        assert engine.stats()["activity_timeouts"] == 1


def test_heartbeats_more_often_than_the_timeout_keep_an_attempt_alive(
    engine: Engine, ledger: str
) -> None:
    engine.start(hb.awaits, "beats_steadily", ledger, workflow_id="w")
    assert engine.result("w", timeout=30) == "steady"
    assert "ActivityAttemptFailed" not in _kinds(engine, "w")


def _cancel_while_running(engine: Engine, ledger: str, name: str) -> list[ev.Event]:
    engine.start(hb.awaits, name, ledger, workflow_id="w")
    _started(ledger)
    engine.cancel("w", "stop")
    with pytest.raises(WorkflowCancelled):
        engine.result("w", timeout=30)
    return engine.history("w")


@pytest.mark.parametrize("name", ["cancel_wait", "cancel_wait_thread"])
def test_cancel_wait_raises_cancelled_only_once_the_attempt_acknowledged(
    engine: Engine, ledger: str, name: str
) -> None:
    history = _cancel_while_running(engine, ledger, name)
    kinds = [e.kind for e in history]
    tail = kinds[kinds.index("WorkflowCancelRequested") :]
    assert tail == [
        "WorkflowCancelRequested",
        "ActivityCancelRequested",
        "ActivityAttemptFailed",
        "ActivityFailed",
        "WorkflowCancelled",
    ]
    failed = next(e for e in history if isinstance(e, ev.ActivityFailed))
    assert failed.error["type"] == "ActivityCancelled"
    # acknowledged (after its 0.3 s cleanup) before the workflow's Cancelled was raised
    assert history[-1].recorded_at - failed.recorded_at >= 0
    assert failed.recorded_at - history[kinds.index("ActivityCancelRequested")].recorded_at > 2e8
    assert [n[0] for n in hb.notes(ledger)] == ["started", "acknowledged"]  # never retried


def test_cancel_try_raises_cancelled_at_once_and_tells_the_attempt(
    engine: Engine, ledger: str
) -> None:
    history = _cancel_while_running(engine, ledger, "cancel_try")
    kinds = [e.kind for e in history]
    assert kinds[kinds.index("WorkflowCancelRequested") :] == [
        "WorkflowCancelRequested",
        "ActivityCancelRequested",
        "WorkflowCancelled",
    ]
    wait_until(lambda: ["acknowledged", "1"] in hb.notes(ledger), 10, "the attempt to hear it")


def test_cancel_abandon_neither_records_nor_tells_the_attempt(engine: Engine, ledger: str) -> None:
    history = _cancel_while_running(engine, ledger, "cancel_abandon")
    kinds = [e.kind for e in history]
    assert kinds[kinds.index("WorkflowCancelRequested") :] == [
        "WorkflowCancelRequested",
        "WorkflowCancelled",
    ]
    wait_until(lambda: ["finished", "1"] in hb.notes(ledger), 10, "the attempt to finish")
    assert "acknowledged" not in [n[0] for n in hb.notes(ledger)]


def test_an_attempt_ignoring_its_cancellation_is_killed_after_the_grace(
    engine: Engine, ledger: str
) -> None:
    history = _cancel_while_running(engine, ledger, "ignores_cancel")
    failed = next(e for e in history if isinstance(e, ev.ActivityFailed))
    assert failed.error["type"] == "ActivityCancelled"
    assert "did not stop within 0.5 s" in failed.error["message"]
    requested = next(e for e in history if isinstance(e, ev.ActivityCancelRequested))
    assert failed.recorded_at - requested.recorded_at >= 5e8
    notes = hb.notes(ledger)
    assert ["ignored", "1"] in notes  # it was told, and chose to go on
    pid = int(next(n for n in notes if n[0] == "started")[2])
    wait_until(lambda: not is_running(pid), 10, "the worker that ignored it to die")
    assert [n[0] for n in notes].count("started") == 1


def test_bad_heartbeat_and_cancel_settings_are_refused_naming_them() -> None:
    from aion_actors import ConfigError, activity

    def work() -> None: ...

    with pytest.raises(ConfigError, match="activity 'work': cancel must be one of"):
        activity(cancel="never", executor="thread")(work)  # type: ignore[call-overload]
    with pytest.raises(ConfigError, match="heartbeat_timeout must be a number of seconds > 0"):
        activity(heartbeat_timeout=0, executor="thread")(work)
    with pytest.raises(ConfigError, match="cancel_grace must be a finite number of seconds >= 0"):
        activity(cancel_grace=-1, executor="thread")(work)


@pytest.mark.parametrize("name", ["cancel_try", "cancel_wait_thread", "cancel_abandon"])
def test_wait_first_asks_its_losing_activity_to_cancel_as_its_mode_says(
    engine: Engine, ledger: str, name: str
) -> None:
    engine.start(hb.races_a_timer, name, ledger, workflow_id="race")
    assert engine.result("race", timeout=30) == [1, "the activity lost"]
    requests = [e for e in engine.history("race") if isinstance(e, ev.ActivityCancelRequested)]
    if name == "cancel_abandon":
        assert requests == []
        return
    assert [r.mode for r in requests] == [name.split("_")[1]]
    wait_until(lambda: ["acknowledged", "1"] in hb.notes(ledger), 10, "the acknowledgement")


@pytest.mark.parametrize("name", ["cancel_try", "cancel_wait_thread"])
def test_the_loser_of_a_wait_first_is_told_it_lost_never_that_its_workflow_was_cancelled(
    engine: Engine, ledger: str, name: str
) -> None:
    engine.start(hb.races_a_timer, name, ledger, workflow_id="race")
    assert engine.result("race", timeout=30) == [1, "the activity lost"]
    [request] = [e for e in engine.history("race") if isinstance(e, ev.ActivityCancelRequested)]
    assert request.reason == "lost_wait_first"
    wait_until(lambda: hb.heard(ledger), 10, "the attempt to hear it")
    [(reason, message)] = hb.heard(ledger)
    assert reason == "lost_wait_first"
    assert f"activity '{name}' was cancelled: its await lost a ctx.wait_first" in message
    assert "workflow awaiting it was cancelled" not in message


@pytest.mark.parametrize("name", ["cancel_try", "cancel_wait_thread"])
def test_an_attempt_of_a_cancelled_workflow_is_told_its_workflow_was_cancelled(
    engine: Engine, ledger: str, name: str
) -> None:
    history = _cancel_while_running(engine, ledger, name)
    [request] = [e for e in history if isinstance(e, ev.ActivityCancelRequested)]
    assert request.reason == "workflow_cancelled"
    wait_until(lambda: hb.heard(ledger), 10, "the attempt to hear it")
    [(reason, message)] = hb.heard(ledger)
    assert reason == "workflow_cancelled"
    assert f"activity '{name}' was cancelled: the workflow awaiting it was cancelled" in message


def test_a_heartbeat_after_its_heartbeat_timeout_says_so_not_that_its_workflow_was_cancelled(
    engine: Engine, ledger: str
) -> None:
    engine.start(hb.awaits, "stalls_in_thread", ledger, workflow_id="w")
    assert engine.result("w", timeout=30) == "done"
    wait_until(lambda: hb.heard(ledger), 10, "the late heartbeat")
    [(reason, message)] = hb.heard(ledger)
    assert reason == "heartbeat_timed_out"
    assert "sent no heartbeat within its heartbeat_timeout" in message
    assert "this attempt already ended; stop it" in message
    assert "workflow awaiting it was cancelled" not in message
