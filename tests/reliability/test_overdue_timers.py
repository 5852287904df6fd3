"""Timers that fell due while the engine was down fire as soon as their run can run
(issue 16, item 4): no fixed resend delay between a registration and a timer."""

from __future__ import annotations

import time
from pathlib import Path

from aion_actors import Engine, WorkflowContext, workflow
from aion_actors.core import events as ev
from tests.workers.helpers import wait_until


@workflow
async def naps(ctx: WorkflowContext) -> str:
    await ctx.sleep(0.2)
    return "rested"


def test_an_overdue_timer_fires_at_once_when_its_workflow_type_is_registered(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with Engine.open(data, workers=1) as engine:
        engine.register(naps)
        engine.start(naps, workflow_id="nap")
    time.sleep(0.4)  # the timer falls due while no engine runs
    with Engine.open(data, workers=1) as engine:
        time.sleep(0.3)  # the timer service reports it before the type is registered
        registered = time.time_ns()
        engine.register(naps)
        assert engine.result("nap", timeout=10) == "rested"
        [fired] = [e for e in engine.history("nap") if isinstance(e, ev.TimerFired)]
    late = (fired.recorded_at - registered) / 1e9
    assert late < 0.25, f"the overdue timer fired {late:.3f} s after registration"


def test_engines_killed_faster_than_any_resend_hold_still_make_timer_progress(
    tmp_path: Path,
) -> None:
    """Each short-lived engine fires what is due: a chain of sleeps moves on every time."""
    data = tmp_path / "data"
    with Engine.open(data, workers=1) as engine:
        engine.register(naps)
        engine.start(naps, workflow_id="nap")
    for _ in range(5):
        time.sleep(0.25)
        with Engine.open(data, workers=1) as engine:
            engine.register(naps)
            wait_until(lambda: engine.describe("nap").status.is_terminal, 1.5, "the nap's end")
            assert engine.result("nap", timeout=1) == "rested"
            engine.start(naps, workflow_id="nap")
