"""The Postgres server restarts (`pg_ctl restart -m fast`) under 100 runs in flight: the
engine retries with backoff and goes on; every run completes, nothing is lost or doubled."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from aion_actors import Engine
from aion_actors.core import events as ev
from aion_actors.testing.postgres import ThrowawayServer
from tests.runtime import flows
from tests.workers.helpers import wait_until

RUNS = 100


@pytest.mark.timeout(240)
def test_a_server_restart_mid_flight_loses_no_run_and_records_no_event_twice(
    pg_server: ThrowawayServer, pg_url: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    with Engine.open(pg_url, workers=2) as engine:
        engine.register(*flows.ALL)
        ids = [f"run-{i}" for i in range(RUNS)]
        for i, workflow_id in enumerate(ids):
            engine.start(flows.five_steps, str(ledger), i, workflow_id=workflow_id)
        wait_until(
            lambda: ledger.exists() and len(ledger.read_text().splitlines()) >= RUNS // 2,
            60,
            "the first activities to run",
        )
        done_before = len(ledger.read_text().splitlines())
        pg_server.restart()
        results = [engine.result(workflow_id, timeout=120) for workflow_id in ids]
        histories = {workflow_id: engine.history(workflow_id) for workflow_id in ids}
    assert done_before < RUNS * 5, "the restart must land while runs are in flight"
    assert results == [flows.five_steps_expected(i) for i in range(RUNS)]
    for workflow_id, history in histories.items():
        assert [e.seq for e in history] == list(range(1, len(history) + 1)), workflow_id
        kinds = Counter(type(e) for e in history)
        assert kinds[ev.WorkflowStarted] == 1 and kinds[ev.WorkflowCompleted] == 1, workflow_id
        completed = Counter(e.activity_id for e in history if isinstance(e, ev.ActivityCompleted))
        assert sorted(completed.values()) == [1] * 5, f"{workflow_id}: {completed}"
