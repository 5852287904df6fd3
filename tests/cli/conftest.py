"""A data directory holding completed, crashed-and-restarted, failed and open runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import Engine, WorkflowFailed, WorkflowStatus
from tests.cli import flows
from tests.workers.helpers import wait_until

WAIT = 30.0


@pytest.fixture(scope="package")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("cli") / "data"
    fill(data)
    return data


def fill(data: Path | str) -> None:
    """Leave completed, crashed-and-restarted, failed and open runs in the store `data`."""
    flows.reset()
    with Engine.open(data, workers=1) as engine:
        engine.register(*flows.ALL)
        assert engine.start(flows.hello, "ada", workflow_id="greeting").result(WAIT) == "hello ada"
        engine.start(flows.hello, "bob", workflow_id="greeting").result(WAIT)  # a second run
        assert engine.start(flows.crash_once, workflow_id="crashy").result(WAIT) == "recovered"
        with pytest.raises(WorkflowFailed):
            engine.start(flows.refuse, workflow_id="refused").result(WAIT)
        engine.start(flows.awaits_approval, workflow_id="waiting")
        wait_until(
            lambda: any(e.kind == "TimerStarted" for e in engine.history("waiting")),
            WAIT,
            "the run to wait for its signal",
        )
        assert engine.describe("waiting").status == WorkflowStatus.RUNNING
