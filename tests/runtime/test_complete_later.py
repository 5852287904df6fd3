"""Async completion: an attempt raises `CompleteLater`, stays open (recorded as
`ActivityHandedOff`, never run again), and `engine.complete_activity` /
`fail_activity` close it exactly once — from any thread, after an engine kill too."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from aion_actors import ActivityAlreadyClosed, AionError, Engine, PayloadError, WorkflowNotFound
from aion_actors.core import ActivityToken
from aion_actors.core import events as ev
from aion_actors.store import LmdbStore
from tests.crashes import kill_engine
from tests.runtime import handoffs
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
EXECUTORS = ["thread", "process"]


@pytest.fixture
def engine(engine: Engine) -> Engine:
    engine.register(*handoffs.ALL)
    return engine


def _handed_off(history: list[ev.Event], attempt: int) -> bool:
    return any(isinstance(e, ev.ActivityHandedOff) and e.attempt == attempt for e in history)


def _token(engine: Engine, path: Path, attempt: int = 1) -> str:
    """The token of `attempt`, once its hand-off is recorded."""
    wait_until(lambda: _handed_off(engine.history("later"), attempt), 60, "the hand-off")
    token = path.read_text()
    assert ActivityToken.parse(token).attempt == attempt
    return token


def _ran(path: Path) -> list[str]:
    return Path(f"{path}.ran").read_text().splitlines()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("executor", EXECUTORS)
def test_complete_activity_from_another_thread_is_the_awaited_result(
    engine: Engine, tmp_path: Path, executor: str
) -> None:
    path = tmp_path / "token"
    run = engine.start(handoffs.awaits_handoff, str(path), executor, workflow_id="later")
    token = _token(engine, path)
    caller = threading.Thread(target=engine.complete_activity, args=(token, {"paid": (1, 2)}))
    caller.start()
    caller.join(30)
    assert run.result(timeout=30) == {"paid": [1, 2]}  # as a worker's result would be
    kinds = [e.kind for e in engine.history("later")]
    assert kinds == [
        "WorkflowStarted",
        "ActivityScheduled",
        "ActivityHandedOff",
        "ActivityCompleted",
        "WorkflowCompleted",
    ]
    assert _ran(path) == ["1"]
    [handoff] = [e for e in engine.history("later") if isinstance(e, ev.ActivityHandedOff)]
    assert handoff.timeout_at is None  # no `@activity(timeout=)`: nothing times it out


@pytest.mark.timeout(60)
def test_a_second_completion_raises_and_records_nothing(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "token"
    run = engine.start(handoffs.awaits_handoff, str(path), "thread", workflow_id="later")
    token = _token(engine, path)
    engine.complete_activity(token, "first")
    with pytest.raises(ActivityAlreadyClosed, match=r"activity #1 attempt 1 of workflow 'later'"):
        engine.complete_activity(token, "second")
    with pytest.raises(ActivityAlreadyClosed, match="nothing was recorded"):
        engine.fail_activity(token, RuntimeError("late"))
    assert run.result(timeout=30) == "first"
    kinds = [e.kind for e in engine.history("later")]
    assert kinds.count("ActivityCompleted") == 1 and "ActivityAttemptFailed" not in kinds


@pytest.mark.timeout(60)
def test_a_token_for_an_activity_the_run_never_had_says_so_and_records_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "token"
    run = engine.start(handoffs.awaits_handoff, str(path), "thread", workflow_id="later")
    token = ActivityToken.parse(_token(engine, path))
    unknown = str(dataclasses.replace(token, activity_id="7"))
    with pytest.raises(ActivityAlreadyClosed, match="is not open: the run has no activity #7;"):
        engine.complete_activity(unknown, "x")
    with pytest.raises(ActivityAlreadyClosed, match="the run has no activity #7"):
        engine.fail_activity(unknown, RuntimeError("x"))
    engine.complete_activity(str(token), "done")
    assert run.result(timeout=30) == "done"
    assert [e.kind for e in engine.history("later")].count("ActivityCompleted") == 1


@pytest.mark.timeout(90)
@pytest.mark.parametrize("executor", EXECUTORS)
def test_fail_activity_is_a_failed_attempt_retried_per_the_policy(
    engine: Engine, tmp_path: Path, executor: str
) -> None:
    path = tmp_path / "token"
    run = engine.start(handoffs.awaits_handoff, str(path), executor, workflow_id="later")
    first = _token(engine, path)
    engine.fail_activity(first, RuntimeError("the clerk said no"))
    second = _token(engine, path, attempt=2)
    with pytest.raises(ActivityAlreadyClosed, match="superseded by attempt 2"):
        engine.complete_activity(first, "stale")
    engine.complete_activity(second, "approved")
    assert run.result(timeout=30) == "approved"
    history = engine.history("later")
    [failed] = [e for e in history if isinstance(e, ev.ActivityAttemptFailed)]
    assert failed.error["type"] == "RuntimeError" and failed.retry_at is not None
    assert _ran(path) == ["1", "2"]


@pytest.mark.timeout(60)
def test_the_activity_deadline_still_ends_a_handed_off_attempt(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "token"
    run = engine.start(handoffs.awaits_handoff, str(path), "thread", 0.5, workflow_id="later")
    token = _token(engine, path)
    assert run.result(timeout=30) == {"failed": "ActivityTimeout"}
    with pytest.raises(ActivityAlreadyClosed, match="its run has ended"):
        engine.complete_activity(token, "too late")
    assert [e.kind for e in engine.history("later")].count("ActivityCompleted") == 0


@pytest.mark.timeout(60)
def test_a_result_that_cannot_be_recorded_is_refused_and_the_attempt_stays_open(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "token"
    run = engine.start(handoffs.awaits_handoff, str(path), "thread", workflow_id="later")
    token = _token(engine, path)
    with pytest.raises(PayloadError, match="result"):
        engine.complete_activity(token, {"when": object()})
    with pytest.raises(TypeError, match="error must be an exception"):
        engine.fail_activity(token, "no")  # type: ignore[arg-type]
    engine.complete_activity(token, "fine")
    assert run.result(timeout=30) == "fine"


@pytest.mark.timeout(60)
def test_a_handed_off_run_leaves_memory_and_its_completion_brings_it_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "token"
    with Engine.open(tmp_path / "data", workers=1, idle_evict_after=0.05) as engine:
        engine.register(*handoffs.ALL)
        run = engine.start(handoffs.awaits_handoff, str(path), "thread", workflow_id="later")
        token = _token(engine, path)
        wait_until(lambda: engine.describe("later").residency == "evicted", 30, "eviction")
        engine.complete_activity(token, "back")
        assert run.result(timeout=30) == "back"
    assert _ran(path) == ["1"]


def test_a_bad_token_is_refused_saying_what_is_wrong(engine: Engine) -> None:
    with pytest.raises(ValueError, match="is not an activity token"):
        engine.complete_activity("not-a-token", 1)
    with pytest.raises(ValueError, match="is not an activity token: its body does not decode"):
        engine.complete_activity("aion-activity:%%%", 1)
    unknown = str(ActivityToken("nobody", "r-1", "1", 1))
    with pytest.raises(WorkflowNotFound):
        engine.complete_activity(unknown, 1)


def test_a_token_travels_as_a_string_and_names_its_attempt() -> None:
    token = ActivityToken("order/42", "run-7", "3", 2)
    assert ActivityToken.parse(str(token)) == token
    assert str(token).startswith("aion-activity:")


def _history(data: Path) -> list[ev.Event]:
    try:
        with LmdbStore(data, readonly=True) as store:
            run = store.latest_run("later")
            return store.read("later", run.run_id) if run else []
    except AionError:  # the engine has not created the directory yet
        return []


@pytest.mark.timeout(120)
@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("completed", ["registered", "before_registration"])
def test_a_handed_off_attempt_survives_an_engine_kill_and_is_never_run_again(
    tmp_path: Path, executor: str, completed: str
) -> None:
    data, path = tmp_path / "data", tmp_path / "token"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.handoff_child", str(data), str(path), executor],
        cwd=ROOT,
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _handed_off(_history(data), 1), 60, "the hand-off to be recorded")
    finally:
        kill_engine(child)
    token = path.read_text()

    with Engine.open(data, workers=1) as engine:
        if completed == "registered":
            engine.register(*handoffs.ALL)
        # before registration, the engine records it on the run's behalf, from its history
        engine.complete_activity(token, "done after the crash")
        engine.register(*handoffs.ALL)
        assert engine.result("later", timeout=60) == "done after the crash"
        with pytest.raises(ActivityAlreadyClosed):
            engine.complete_activity(token, "again")
        history = engine.history("later")
    assert [e.attempt for e in history if isinstance(e, ev.ActivityScheduled)] == [1]
    assert [e.kind for e in history].count("ActivityCompleted") == 1
    assert _ran(path) == ["1"]  # recovery did not run the handed-off attempt again
