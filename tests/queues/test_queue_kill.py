"""A queue's limit holds across an engine SIGKILL: read back from the runs' histories."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import Engine
from tests.queues import flows
from tests.queues.history import interval, most_at_once
from tests.queues.queue_child import enqueuing

RUNS = 200


@pytest.mark.timeout(180)
def test_concurrency_three_is_never_exceeded_across_an_engine_kill_and_every_run_completes(
    tmp_path: Path,
) -> None:
    data, ledger = tmp_path / "data", str(tmp_path / "ledger")
    with enqueuing(data, ledger, RUNS):
        pass
    done_before = len(flows.noted(ledger))
    assert done_before < RUNS - 10, "the kill came too late to leave runs queued"

    with Engine.open(data, workers=1) as engine:
        engine.register(*flows.ALL, flows.PACED_QUEUE)
        ids = [f"run-{i:03d}" for i in range(RUNS)]
        assert [engine.result(w, timeout=60) for w in ids] == ids
        histories = [engine.history(w) for w in ids]
    spans = [interval(h) for h in histories]
    assert all(span is not None for span in spans)
    assert most_at_once([s for s in spans if s is not None]) <= 3
    assert all(sum(e.kind == "RunDequeued" for e in h) == 1 for h in histories)
    assert set(flows.noted(ledger)) == set(ids)  # every run's step ran (once, or again if
    # the kill cut it short: an activity is at-least-once)
