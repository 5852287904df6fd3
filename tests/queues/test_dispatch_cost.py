"""What a queue costs a run that finds a free slot: nothing beyond its enqueue's commit —
its closing gives the slot back without a dispatch, since no run waits for it."""

from __future__ import annotations

import pytest

from aion_actors import Engine, Queue
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
