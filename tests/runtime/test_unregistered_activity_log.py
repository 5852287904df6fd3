"""What the log says of an activity that is not registered: a warning when a run needs it,
none when the engine opens on attempts in flight before the program registered it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from aion_actors import Engine, WorkflowContext, activity, workflow
from tests.crashes import kill_at_ready
from tests.runtime import flows

_SAID = "is not registered: run"


def _said(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level and _SAID in r.message]


@pytest.mark.timeout(120)
def test_an_engine_opened_on_attempts_in_flight_logs_no_warning_before_they_are_registered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, ledger = tmp_path / "data", tmp_path / "ledger"
    kill_at_ready("tests.runtime.gated_child", data, ledger, 3)
    Path(str(ledger) + ".gate").touch()
    caplog.set_level(logging.INFO, logger="aion_actors")
    with Engine.open(data, workers=1) as engine:  # open, then register: the documented order
        engine.register(flows.gated_pair, flows.gated_step)
        assert [engine.result(f"gated-{i}", timeout=60) for i in range(3)] == [2, 3, 4]
    assert _said(caplog, logging.WARNING) == []
    assert len(_said(caplog, logging.INFO)) <= 1  # said once, as info, if the race showed it


@activity(executor="thread")
def never_registered(value: int) -> int:
    return value


@workflow
async def needs_it(ctx: WorkflowContext, value: int) -> int:
    return await ctx.activity(never_registered, value)


def test_a_run_that_needs_an_activity_not_registered_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(needs_it)
        run = engine.start(needs_it, 1)
        with pytest.raises(TimeoutError, match="never_registered"):
            run.result(timeout=0.5)
    [said] = _said(caplog, logging.WARNING)
    assert "'never_registered'" in said and run.run_id in said
