"""Recovered activity attempts go out in waves, however many there are."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aion_actors.core import events as ev
from aion_actors.runtime import activity
from aion_actors.runtime.attempts import RECOVERY_WAVE, Attempts
from aion_actors.runtime.catalog import Catalog
from aion_actors.workers import Outcome, Task

pytestmark = pytest.mark.timeout(30)


@activity(executor="thread")
def step(value: int) -> int:
    return value + 1


class HeldExecutors:
    """Takes attempts and holds them until the test finishes them."""

    def __init__(self) -> None:
        self.held: list[tuple[Task, Callable[[Outcome], None]]] = []

    def submit(
        self,
        definition: Any,
        task: Task,
        done: Callable[[Outcome], None],
        beat: Any = None,
        deadline: int | None = None,
    ) -> None:
        self.held.append((task, done))


def _attempts(catalog: Catalog) -> tuple[Attempts, HeldExecutors, list[tuple[str, object]]]:
    executors = HeldExecutors()
    delivered: list[tuple[str, object]] = []

    def deliver(workflow_id: str, run_id: str, message: object, then: Callable[[], None]) -> None:
        delivered.append((workflow_id, message))
        then()

    attempts = Attempts(catalog, executors, deliver)  # type: ignore[arg-type]
    return attempts, executors, delivered


def _running(n: int) -> list[tuple[str, str, ev.ActivityScheduled]]:
    scheduled = ev.ActivityScheduled(activity_id="1", name=step.name, input=[0], attempt=1)
    return [(f"run-{i}", f"{i:032x}", scheduled) for i in range(n)]


def test_recovered_attempts_go_out_a_wave_at_a_time() -> None:
    catalog = Catalog()
    catalog.register(step)
    attempts, executors, delivered = _attempts(catalog)
    attempts.recovered(_running(1000))
    assert len(executors.held) == RECOVERY_WAVE
    for _task, done in executors.held[:10]:
        done(Outcome(ok=True, result=1))
    assert len(executors.held) == RECOVERY_WAVE + 10
    assert [w for w, _m in delivered] == [f"run-{i}" for i in range(10)]


def test_thousands_of_attempts_can_wait_for_their_activity_to_be_registered() -> None:
    catalog = Catalog()
    attempts, executors, _delivered = _attempts(catalog)
    attempts.recovered(_running(5000))
    assert executors.held == []
    assert attempts.waiting_for("run-4999", f"{4999:032x}") == step.name
    catalog.register(step)
    attempts.registered([step.name])
    assert len(executors.held) == RECOVERY_WAVE
    assert attempts.waiting_for("run-4999", f"{4999:032x}") is None
