"""Activities that no worker process can run: refused when declared, or failed on their own.

A lambda or a closure is refused by `@activity` (and by `register` or a
config file that moves it to the process executor). One that passes and
still cannot be resolved fails its own run's attempt at once, naming itself,
and never the other runs' activities. Whatever a thread activity raises (SystemExit,
KeyboardInterrupt, any BaseException, an exception whose `str()` raises) is its attempt's
recorded failure, retried by its policy. Real engine, LMDB, worker processes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pykka
import pytest

from aion_actors import ConfigError, Engine, WorkflowFailed, activity
from aion_actors.core import events as ev
from tests.workers import activities, flows, refuses_workers, unresolvable
from tests.workers.helpers import WAIT, wait_until

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    threads_before = set(threading.enumerate())
    engine = Engine.open(tmp_path / "data", workers=1)
    yield engine
    engine.close()
    assert pykka.ActorRegistry.get_all() == []
    wait_until(lambda: set(threading.enumerate()) <= threads_before, WAIT, "engine threads to end")


def _lambda() -> Callable[..., Any]:
    return lambda x: x


def _closure() -> Callable[..., Any]:
    def inner(x: int) -> int:
        return x

    return inner


@pytest.mark.parametrize(
    ("make", "executor", "reason"),
    [
        (_lambda, None, "is a lambda"),
        (_lambda, "process", "is a lambda"),
        (_closure, None, "is defined inside a function"),
        (_closure, "process", "is defined inside a function"),
    ],
)
def test_a_lambda_or_closure_on_the_process_executor_is_refused_at_the_decorator(
    make: Callable[[], Callable[..., Any]], executor: Any, reason: str
) -> None:
    fn = make()
    with pytest.raises(ConfigError) as error:
        activity(name="step", executor=executor)(fn)
    message = str(error.value)
    assert f"activity 'step' ({__name__}:{fn.__qualname__}) {reason}" in message
    assert "define it at module level" in message
    assert 'run it with executor="thread"' in message


def test_a_closure_on_the_thread_executor_is_accepted_and_runs(engine: Engine) -> None:
    offset = 40

    @activity(executor="thread")
    def add(x: int) -> int:
        return x + offset

    engine.register(flows.call, add)
    assert engine.start(flows.call, "add", 2).result(timeout=WAIT) == 42


def test_register_refuses_moving_a_closure_to_the_process_executor(engine: Engine) -> None:
    @activity(executor="thread")
    def local() -> None:
        return None

    with pytest.raises(ConfigError, match=r'is defined inside a function.*executor="thread"'):
        engine.register(local, executor="process")


def _attempt_errors(engine: Engine, workflow_id: str) -> list[dict[str, Any]]:
    events = engine.history(workflow_id)
    return [e.error for e in events if e.kind == "ActivityAttemptFailed"]  # type: ignore[attr-defined]


def test_a_run_whose_activity_cannot_be_resolved_fails_at_once_naming_it(engine: Engine) -> None:
    engine.register(flows.call, unresolvable.RENAMED)
    run = engine.start(flows.call, "renamed", workflow_id="renamed")

    with pytest.raises(WorkflowFailed) as failed:
        run.result(timeout=WAIT)

    message = str(failed.value)
    assert "ActivityUnavailable" in message
    assert "activity 'renamed' cannot run in a worker process" in message
    assert "resolving 'tests.workers.unresolvable:renamed' raised AttributeError" in message
    # One attempt: another would meet the same error, whatever the retry policy allows.
    assert [e["type"] for e in _attempt_errors(engine, "renamed")] == ["ActivityUnavailable"]
    assert engine.describe("renamed").restarts == 0


def test_each_run_reports_its_own_activitys_failure_and_the_others_run(engine: Engine) -> None:
    engine.register(flows.call, flows.double, unresolvable.RENAMED, refuses_workers.refused)
    runs = {
        name: engine.start(flows.call, name, *args, workflow_id=name)
        for name, args in (("renamed", ()), ("refused", ()), ("double", (21,)))
    }

    assert runs["double"].result(timeout=WAIT) == 42
    for name, expected in (
        ("renamed", "raised AttributeError"),
        ("refused", "RuntimeError: this module refuses to load in a worker process"),
    ):
        with pytest.raises(WorkflowFailed) as failed:
            runs[name].result(timeout=WAIT)
        message = str(failed.value)
        assert f"activity {name!r} cannot run in a worker process" in message, message
        assert expected in message
        other = "refused" if name == "renamed" else "renamed"
        assert repr(other) not in message
        assert [e["type"] for e in _attempt_errors(engine, name)] == ["ActivityUnavailable"]
    # Later runs of the good activity still run on the same pool.
    assert engine.start(flows.call, "double", 5).result(timeout=WAIT) == 10


@pytest.mark.parametrize("name", ["odd", "odd_async"])
@pytest.mark.parametrize("kind", sorted(activities.ODD))
def test_whatever_a_thread_activity_raises_is_a_recorded_failure_retried_by_its_policy(
    engine: Engine, name: str, kind: str
) -> None:
    """Each attempt is recorded failed with the exception's type and message, the second
    ends the activity (two attempts), and the next thread activities run at once."""
    engine.register(flows.call, flows.odd_on_thread, flows.odd_async_on_thread)
    engine.register(flows.echo_on_thread, flows.echo_async_on_thread)
    handle = engine.start(flows.call, name, kind)
    with pytest.raises(WorkflowFailed, match=f"{kind}: "):
        handle.result(timeout=WAIT)

    history = engine.history(handle.workflow_id)
    attempts = [e for e in history if isinstance(e, ev.ActivityAttemptFailed)]
    ended = [e for e in history if isinstance(e, ev.ActivityFailed)]
    message = activities.ODD[kind]
    assert [(e.attempt, e.error["type"], e.error["message"]) for e in attempts] == [
        (1, kind, message),
        (2, kind, message),
    ]
    assert [(e.error["type"], e.error["message"]) for e in ended] == [(kind, message)]
    for echo in ("echo", "echo_async"):  # neither a thread nor the loop was lost
        assert engine.start(flows.call, echo, 1).result(timeout=5) == [1]
