"""What a queue costs a run that finds a free slot: nothing beyond its enqueue's commit —
its closing gives the slot back without a dispatch, since no run waits for it."""

from __future__ import annotations

from typing import Any

import pytest

from aion_actors import Engine, Queue
from aion_actors.core import RunKey
from aion_actors.queues.order import Queued, QueueState
from aion_actors.queues.service import Queues
from tests.queues import flows


@pytest.mark.timeout(60)
def test_a_closing_run_dispatches_only_when_a_run_waits_for_its_slot(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    dispatched: list[str] = []
    real = Queues.dispatch

    def counted(self: Queues, state: object) -> None:
        dispatched.append(state.queue.name)  # type: ignore[attr-defined]
        real(self, state)  # type: ignore[arg-type]

    engine.register(Queue("roomy", concurrency=10), Queue("narrow", concurrency=1))
    monkeypatch.setattr(Queues, "dispatch", counted)
    roomy = [engine.enqueue("roomy", flows.quick, i) for i in range(5)]
    assert [h.result(timeout=20) for h in roomy] == list(range(5))
    assert dispatched == []  # each started in its enqueue's commit; no close had anyone to wake

    first = engine.enqueue("narrow", flows.held, workflow_id="first")
    second = engine.enqueue("narrow", flows.quick, 7)  # waits for first's slot
    before = dispatched.count("narrow")
    engine.signal("first", "go", "done")
    assert first.result(timeout=20) == "done" and second.result(timeout=20) == 7
    assert dispatched.count("narrow") > before  # a close with a run waiting gives its slot on


@pytest.mark.timeout(60)
def test_an_enqueue_into_a_full_queue_waits_without_a_dispatch_and_still_gets_its_slot(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No slot can be free for it (the queue is full, or its key is at its bound): no
    dispatch could start it, so it looks for none; the closing that frees a slot gives it."""
    dispatched: list[str] = []
    real = Queues.dispatch

    def counted(self: Queues, state: object) -> None:
        dispatched.append(state.queue.name)  # type: ignore[attr-defined]
        real(self, state)  # type: ignore[arg-type]

    engine.register(Queue("narrow", concurrency=1), Queue("keyed", concurrency=5, per_key=1))
    first = engine.enqueue("narrow", flows.held, workflow_id="first")
    keyed = engine.enqueue("keyed", flows.held, workflow_id="keyed", key="k")
    monkeypatch.setattr(Queues, "dispatch", counted)
    waiting = [engine.enqueue("narrow", flows.quick, i) for i in range(3)]
    same_key = engine.enqueue("keyed", flows.quick, 9, key="k")
    assert dispatched == []
    other_key = engine.enqueue("keyed", flows.quick, 8, key="j")  # (a free slot: started at once)
    assert other_key.result(timeout=20) == 8
    engine.signal("first", "go", "done")
    engine.signal("keyed", "go", "done")
    assert first.result(timeout=20) == "done" and keyed.result(timeout=20) == "done"
    assert [h.result(timeout=20) for h in waiting] == [0, 1, 2]
    assert same_key.result(timeout=20) == 9


class _Walked(dict[str, RunKey]):
    """A dedup map that counts the walks over it."""

    walks = 0

    def items(self) -> Any:
        self.walks += 1
        return super().items()


def test_a_closing_run_frees_its_dedup_id_without_walking_every_other_runs() -> None:
    """With a dedup_id on each of thousands of waiting runs, a walk per close made a drain
    quadratic; the close finds its run's dedup_id by the run, and frees only that one."""
    state = QueueState(Queue("q", concurrency=10))
    state.dedup = walked = _Walked()
    runs = [RunKey(f"w{i}", "r") for i in range(100)]
    for i, run in enumerate(runs):
        state.add(Queued(run, None, 0, f"d{i}", (i, i)))
    taken = state.take(0)
    assert [item.run for item in taken] == runs[:10]
    assert state.closed(runs[5]) and state.closed(runs[50]) is False  # (one waited: no slot)
    assert "d5" not in walked and "d50" not in walked and len(walked) == 98
    assert walked["d6"] == runs[6] and walked["d51"] == runs[51]
    assert walked.walks == 0
