"""A handed-off attempt keeps its `@activity(timeout=)`: `ActivityHandedOff.timeout_at`
is when its executor would have ended it, a durable `attempt:<activity_id>` timer; when
it fires first the attempt fails `AttemptTimeout` and is retried per the policy, and
a completion that comes first cancels it. After an engine kill too."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from aion_actors import ActivityAlreadyClosed, AionError, Engine, RetryPolicy
from aion_actors.core import TimerId, TimerKind
from aion_actors.core import events as ev
from aion_actors.runtime.ledger import Ledger
from aion_actors.runtime.outcomes import timer_due
from aion_actors.store import LmdbStore
from tests.crashes import kill_engine
from tests.runtime import handoffs
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
EXECUTORS = ["thread", "process"]
_NS = 1_000_000_000


def _register(engine: Engine, timeout: float, attempts: int = 2, initial: float = 0.01) -> None:
    retry = RetryPolicy(max_attempts=attempts, initial=initial)
    engine.register(*handoffs.ALL, timeout=timeout, retry=retry)


def _handoffs(history: list[ev.Event]) -> list[ev.ActivityHandedOff]:
    return [e for e in history if isinstance(e, ev.ActivityHandedOff)]


def _failures(history: list[ev.Event]) -> list[ev.ActivityAttemptFailed]:
    return [e for e in history if isinstance(e, ev.ActivityAttemptFailed)]


def _token(engine: Engine, path: Path, attempt: int = 1) -> str:
    def handed_off() -> bool:
        return any(h.attempt == attempt for h in _handoffs(engine.history("later")))

    wait_until(handed_off, 60, f"the hand-off of attempt {attempt}")
    return path.read_text()


def _ran(path: Path) -> list[str]:
    return Path(f"{path}.ran").read_text().splitlines()


def _attempt_timers(engine: Engine) -> list[str]:
    timers = engine.store.due_timers(1 << 62, limit=100)
    return [t.timer_id for t in timers if TimerId.parse(t.timer_id).kind is TimerKind.ATTEMPT]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("executor", EXECUTORS)
def test_the_attempt_timeout_fails_and_retries_a_handed_off_attempt(
    engine: Engine, tmp_path: Path, executor: str
) -> None:
    _register(engine, timeout=0.5)
    path = tmp_path / "token"
    run = engine.start(handoffs.awaits_handoff, str(path), executor, workflow_id="later")
    first = _token(engine, path)
    # each attempt (a new one, with a new token) times out in turn: the activity fails
    assert run.result(timeout=60) == {"failed": "AttemptTimeout"}
    with pytest.raises(ActivityAlreadyClosed):
        engine.complete_activity(first, "too late")
    history = engine.history("later")
    handed, failed = _handoffs(history), _failures(history)
    assert [(f.attempt, f.error["type"]) for f in failed] == [
        (1, "AttemptTimeout"),
        (2, "AttemptTimeout"),
    ]
    assert failed[0].retry_at is not None and failed[1].retry_at is None
    assert "handed off (CompleteLater) and not completed in time" in failed[0].error["message"]
    assert [(h.attempt, h.timeout) for h in handed] == [(1, 0.5), (2, 0.5)]
    for handoff, failure in zip(handed, failed, strict=True):
        assert handoff.timeout_at is not None and failure.recorded_at >= handoff.timeout_at
    [ended] = [e for e in history if isinstance(e, ev.ActivityFailed)]
    assert ended.error["type"] == "AttemptTimeout"
    assert "ActivityCompleted" not in [e.kind for e in history]
    assert _ran(path) == ["1", "2"]
    assert _attempt_timers(engine) == []


@pytest.mark.timeout(60)
def test_a_timed_out_attempt_refuses_its_token_saying_it_timed_out_and_its_retry_runs(
    engine: Engine, tmp_path: Path
) -> None:
    _register(engine, timeout=0.3, initial=60.0)  # the retry waits: the message is stable
    path = tmp_path / "token"
    engine.start(handoffs.awaits_handoff, str(path), "thread", workflow_id="later")
    first = _token(engine, path)
    wait_until(lambda: bool(_failures(engine.history("later"))), 30, "the attempt's timeout")
    with pytest.raises(ActivityAlreadyClosed, match="it timed out and waits to retry as attempt 2"):
        engine.complete_activity(first, "late")
    [failed] = _failures(engine.history("later"))
    assert failed.error["type"] == "AttemptTimeout" and failed.retry_at is not None
    assert _ran(path) == ["1"]


@pytest.mark.timeout(60)
def test_a_completion_in_time_wins_and_no_timeout_fires_afterwards(
    engine: Engine, tmp_path: Path
) -> None:
    _register(engine, timeout=1.0)
    path = tmp_path / "token"
    run = engine.start(
        handoffs.awaits_handoff, str(path), "thread", None, 0.0, True, workflow_id="later"
    )
    token = _token(engine, path)
    assert _attempt_timers(engine) == ["attempt:1"]
    engine.complete_activity(token, "in time")
    assert _attempt_timers(engine) == []  # cancelled in the completion's own commit
    [handoff] = _handoffs(engine.history("later"))
    assert handoff.timeout_at is not None
    time.sleep(max(0.0, (handoff.timeout_at - time.time_ns()) / _NS) + 0.5)  # past it
    kinds = [e.kind for e in engine.history("later")]
    assert kinds[1:] == ["ActivityScheduled", "ActivityHandedOff", "ActivityCompleted"]
    engine.signal("later", "done")
    assert run.result(timeout=30) == "in time"
    assert _ran(path) == ["1"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("executor", EXECUTORS)
def test_the_attempts_clock_starts_when_its_function_started_not_at_the_hand_off(
    engine: Engine, tmp_path: Path, executor: str
) -> None:
    _register(engine, timeout=30.0)
    path = tmp_path / "token"
    pause = 0.5  # the function runs this long before it hands off
    engine.start(handoffs.awaits_handoff, str(path), executor, None, pause, workflow_id="later")
    _token(engine, path)
    history = engine.history("later")
    [scheduled] = [e for e in history if isinstance(e, ev.ActivityScheduled)]
    [handoff] = _handoffs(history)
    assert handoff.timeout == 30.0 and handoff.timeout_at is not None
    # the function started after its scheduling, and used `pause` of its 30 s before this
    assert handoff.timeout_at >= scheduled.recorded_at + 30 * _NS
    assert handoff.timeout_at <= handoff.recorded_at + int((30 - pause) * _NS)


def _ledger(*events: ev.Event) -> Ledger:
    scheduled = ev.ActivityScheduled(activity_id="1", name="n", input=None)
    return Ledger([scheduled, *events])


def test_an_attempt_timer_ends_only_the_hand_off_it_was_set_for() -> None:
    timer = TimerId.attempt("1")
    assert str(timer) == "attempt:1" and TimerId.parse("attempt:a:b") == TimerId.attempt("a:b")
    handoff = ev.ActivityHandedOff(activity_id="1", attempt=1, timeout=2.0, timeout_at=500)
    policy = RetryPolicy(max_attempts=3, initial=1.0)

    def due(ledger: Ledger, fire_at: int | None) -> list[ev.Event]:
        return timer_due(ledger, timer, fire_at, lambda name: policy, 1000)

    assert due(_ledger(), 500) == []  # not handed off: a worker runs it
    assert due(_ledger(ev.ActivityHandedOff(activity_id="1", attempt=1)), 500) == []  # no timeout
    assert due(_ledger(handoff), 499) == []  # a late report of another hand-off's timer
    completed = ev.ActivityCompleted(activity_id="1", result=None)
    assert due(_ledger(handoff, completed), 500) == []
    [failed] = due(_ledger(handoff), 500)
    assert isinstance(failed, ev.ActivityAttemptFailed)
    assert (failed.attempt, failed.error["type"]) == (1, "AttemptTimeout")
    assert failed.retry_at == 1000 + _NS  # the policy's first wait, from when it fired
    assert "exceeded its 2 s timeout" in failed.error["message"]


def _history(data: Path) -> list[ev.Event]:
    try:
        with LmdbStore(data, readonly=True) as store:
            run = store.latest_run("later")
            return store.read("later", run.run_id) if run else []
    except AionError:  # the engine has not created the directory yet
        return []


_CRASH_TIMEOUT = 4.0  # long enough to kill the engine first, short enough to wait out


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("executor", "attempts"), [("thread", 2), ("process", 2), ("thread", 1)])
def test_an_engine_killed_after_the_hand_off_times_the_attempt_out_once_when_reopened_late(
    tmp_path: Path, executor: str, attempts: int
) -> None:
    data, path = tmp_path / "data", tmp_path / "token"
    argv = [str(data), str(path), executor, str(_CRASH_TIMEOUT), str(attempts)]
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.handoff_child", *argv],
        cwd=ROOT,
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: bool(_handoffs(_history(data))), 60, "the hand-off to be recorded")
    finally:
        kill_engine(child)
    first = path.read_text()
    before = _history(data)
    [handoff] = _handoffs(before)
    assert handoff.timeout_at is not None and not _failures(before)  # killed before it fired
    time.sleep(max(0.0, (handoff.timeout_at - time.time_ns()) / _NS) + 0.2)  # reopen late

    with Engine.open(data, workers=1) as engine:
        _register(engine, _CRASH_TIMEOUT, attempts)
        if attempts == 2:  # retried: a new attempt with a new token, completed in time
            second = _token(engine, path, attempt=2)
            with pytest.raises(ActivityAlreadyClosed, match="superseded by attempt 2"):
                engine.complete_activity(first, "stale")
            engine.complete_activity(second, "done after the timeout")
            assert engine.result("later", timeout=60) == "done after the timeout"
        else:  # out of attempts: the activity fails with the attempt's timeout
            assert engine.result("later", timeout=60) == {"failed": "AttemptTimeout"}
            with pytest.raises(ActivityAlreadyClosed):
                engine.complete_activity(first, "stale")
        history = engine.history("later")
        assert _attempt_timers(engine) == []
    failed = _failures(history)
    assert [(f.attempt, f.error["type"]) for f in failed] == [(1, "AttemptTimeout")]
    assert failed[0].recorded_at >= handoff.timeout_at
    assert [e.attempt for e in history if isinstance(e, ev.ActivityScheduled)] == list(
        range(1, attempts + 1)
    )
    assert _ran(path) == [str(n) for n in range(1, attempts + 1)]
