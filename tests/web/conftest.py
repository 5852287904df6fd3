"""A data directory with completed, crashed-and-restarted, parked and running runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import Engine, WorkflowStatus
from tests.web import flows
from tests.workers.helpers import wait_until

WAIT = 30.0

pytest.importorskip(
    "starlette", reason="the dashboard needs the web extra: pip install -e '.[web]'"
)
pytest.importorskip("jinja2", reason="the dashboard needs the web extra: pip install -e '.[web]'")


def fill(data: Path) -> None:
    """Leave in `data`: orders completed (one with a retried activity, a timer, a signal
    and a child), a run that crashed and was restarted, a parked run, a running run, and
    more completed runs than one page holds."""
    flows.reset()
    with Engine.open(data, workers=1) as engine:
        engine.register(*flows.ALL)
        run = engine.start(flows.order, "ada", workflow_id="order-ada")
        wait_until(
            lambda: (
                engine.describe("order-ada").waiting_for is None
                and any(e.kind == "TimerFired" for e in engine.history("order-ada"))
            ),
            WAIT,
            "the sleep",
        )
        engine.signal("order-ada", "approve", "ok")
        assert run.result(WAIT) == "ok: reserved box for ada"
        assert engine.start(flows.crash_once, workflow_id="crashy").result(WAIT) == "recovered"
        engine.start(flows.always_broken, workflow_id="broken")
        wait_until(
            lambda: engine.describe("broken").status == WorkflowStatus.PARKED, WAIT, "the park"
        )
        engine.start(flows.awaits_approval, workflow_id="waiting")
        wait_until(
            lambda: any(e.kind == "TimerStarted" for e in engine.history("waiting")),
            WAIT,
            "the run to wait for its signal",
        )
        handles = engine.start_many(
            flows.awaits_approval,
            [() for _ in range(3)],
            workflow_ids=[f"bulk-{i}" for i in range(3)],
        )
        for handle in handles:
            engine.signal(handle.workflow_id, "approve", "yes")
            handle.result(WAIT)


@pytest.fixture(scope="package")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("web") / "data"
    fill(data)
    return data
