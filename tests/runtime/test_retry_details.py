"""Retry details: unlimited attempts, a `non_retryable` predicate, `RetryAfter(seconds)`,
on both executors; the waits are read from history (the recorded retry time against
the failure's own record time), never from the wall clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import AttemptFailure, Engine, RetryAfter, RetryPolicy
from aion_actors.config import Config
from aion_actors.core import ConfigError
from aion_actors.core import events as ev
from aion_actors.runtime.outcomes import PREDICATE_ERROR
from tests.runtime import retries

EXECUTORS = ["thread", "process"]


@pytest.fixture
def engine(engine: Engine) -> Engine:
    engine.register(*retries.ALL)
    return engine


def _run(engine: Engine, name: str, timeout: float | None = None) -> tuple[object, list[ev.Event]]:
    result = engine.start(retries.calls, name, timeout, workflow_id=name).result(timeout=60)
    return result, engine.history(name)


def _attempts(history: list[ev.Event]) -> list[int]:
    return [e.attempt for e in history if isinstance(e, ev.ActivityScheduled)]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("executor", EXECUTORS)
def test_unlimited_attempts_go_past_the_default_maximum_until_success(
    engine: Engine, executor: str
) -> None:
    result, history = _run(engine, f"unlimited_{executor}")
    assert result == retries.SUCCEEDS_ON > RetryPolicy().max_attempts
    assert _attempts(history) == list(range(1, retries.SUCCEEDS_ON + 1))


@pytest.mark.timeout(90)
@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_non_retryable_predicate_stops_unlimited_retries_on_the_failure_it_names(
    engine: Engine, executor: str
) -> None:
    result, history = _run(engine, f"predicate_{executor}")
    assert isinstance(result, dict)
    assert result["failed"]["message"] == "permanent: card closed"
    assert _attempts(history) == [1, 2, 3]
    failed = [e for e in history if isinstance(e, ev.ActivityAttemptFailed)]
    assert [e.retry_at is None for e in failed] == [False, False, True]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("executor", EXECUTORS)
def test_retry_after_sets_the_recorded_wait_before_the_next_attempt(
    engine: Engine, executor: str
) -> None:
    result, history = _run(engine, f"pause_{executor}")
    assert result == 2
    [failure] = [e for e in history if isinstance(e, ev.ActivityAttemptFailed)]
    assert failure.error["type"] == "RetryAfter"
    assert failure.error["message"] == "rate limited"
    assert failure.error["retry_after"] == 0.3  # crossed the process boundary as a field
    assert failure.retry_at is not None
    planned_ms = (failure.retry_at - failure.recorded_at) / 1e6
    assert planned_ms == pytest.approx(300, abs=20)  # not the policy's 10 s
    [retry] = [e for e in history if isinstance(e, ev.ActivityScheduled) and e.attempt == 2]
    assert retry.recorded_at >= failure.retry_at


@pytest.mark.timeout(90)
@pytest.mark.parametrize("executor", EXECUTORS)
def test_retry_after_counts_as_a_failed_attempt_against_max_attempts(
    engine: Engine, executor: str
) -> None:
    result, history = _run(engine, f"pause_limit_{executor}")
    assert isinstance(result, dict) and result["failed"]["type"] == "RetryAfter"
    assert _attempts(history) == [1, 2]
    assert isinstance(history[-2], ev.ActivityFailed)


@pytest.mark.timeout(60)
def test_retry_after_is_still_bounded_by_the_activity_deadline(engine: Engine) -> None:
    result, history = _run(engine, "long_pause_thread", timeout=0.5)
    assert isinstance(result, dict) and result["failed"]["type"] == "ActivityTimeout"
    assert _attempts(history) == [1]  # the 60 s wait never ended


@pytest.mark.timeout(60)
def test_a_raising_predicate_stops_the_retries_and_the_error_says_why(engine: Engine) -> None:
    result, history = _run(engine, "broken_predicate_thread")
    assert isinstance(result, dict)
    assert result["failed"]["type"] == "RuntimeError"
    assert result["failed"][PREDICATE_ERROR] == "KeyError: 'no luck'"
    assert _attempts(history) == [1]


def test_a_policy_refuses_bad_max_attempts_and_non_retryable_values() -> None:
    for bad in (0, True, 2.5, "3"):
        with pytest.raises(ConfigError, match="max_attempts must be an int >= 1, or None"):
            RetryPolicy(max_attempts=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="'nope' is not an exception type"):
        RetryPolicy(non_retryable=("nope",))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="tuple of exception types or a predicate"):
        RetryPolicy(non_retryable=3)  # type: ignore[arg-type]


def test_a_single_exception_class_is_a_type_list_not_a_predicate() -> None:
    policy = RetryPolicy(non_retryable=ValueError)  # type: ignore[arg-type]
    assert policy.non_retryable == (ValueError,)
    assert not policy.retryable(AttemptFailure("a", 1, "ValueError", "x"))
    assert policy.retryable(AttemptFailure("a", 1, "KeyError", "x"))


def test_the_wait_of_an_unlimited_policy_stays_at_its_cap_however_many_attempts() -> None:
    policy = RetryPolicy(max_attempts=None, initial=1.0, multiplier=2.0, max_interval=7.0)
    assert policy.delay(100_000) == 7.0
    assert policy.attempts_left(10**9)
    assert RetryPolicy(initial=0.0, multiplier=3.0).delay(5000) == 0.0


def test_retry_after_refuses_a_wait_that_is_no_duration() -> None:
    for bad in (-1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="finite number >= 0"):
            RetryAfter(bad)
    with pytest.raises(TypeError, match="expected a number"):
        RetryAfter("5")  # type: ignore[arg-type]


def test_aion_toml_says_unlimited_for_retries_without_limit(tmp_path: Path) -> None:
    path = tmp_path / "aion.toml"
    path.write_text('[activity.poll]\nretry_max_attempts = "unlimited"\n')
    table = Config.load(path).activities["poll"]
    assert table.retry is not None and table.retry.max_attempts is None
    path.write_text('[activity.poll]\nretry_max_attempts = "forever"\n')
    with pytest.raises(ConfigError, match='an integer >= 1, or "unlimited"'):
        Config.load(path)
