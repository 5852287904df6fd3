"""First-hour mistakes get errors that name the fix (issue 14, items 11 and 12)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import DataDirLocked, Engine, WorkflowFailed, WorkflowStatus
from aion_actors.core import events as ev
from tests.runtime import advice_flows as flows
from tests.workers.helpers import wait_until


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        yield engine


def _foreign_message(engine: Engine, workflow: object) -> str:
    run = engine.start(workflow)  # type: ignore[arg-type]
    with pytest.raises(WorkflowFailed) as failed:
        run.result(timeout=30)
    assert failed.value.error["type"] == "ForeignAwaitError"
    return str(failed.value.error["message"])


def test_awaiting_asyncio_gather_names_ctx_gather_not_ctx_sleep(engine: Engine) -> None:
    message = _foreign_message(engine, flows.awaits_asyncio_gather)
    assert "asyncio.gather" in message and "ctx.gather" in message
    assert "use ctx.sleep" not in message


def test_awaiting_asyncio_sleep_names_ctx_sleep(engine: Engine) -> None:
    for workflow in (flows.awaits_asyncio_sleep, flows.awaits_asyncio_sleep_zero):
        message = _foreign_message(engine, workflow)
        assert "instead of asyncio.sleep, use ctx.sleep" in message


def test_awaiting_asyncio_wait_for_names_the_timeout_arguments(engine: Engine) -> None:
    message = _foreign_message(engine, flows.awaits_asyncio_wait_for)
    assert "asyncio.wait_for" in message and "timeout=" in message
    assert "use ctx.sleep" not in message


def test_awaiting_an_asyncio_event_names_ctx_wait_signal(engine: Engine) -> None:
    message = _foreign_message(engine, flows.awaits_asyncio_event)
    assert "ctx.wait_signal" in message and "use ctx.sleep" not in message


def test_a_replay_divergence_names_ctx_now_random_and_uuid4_as_likely_causes(
    data_dir: Path,
) -> None:
    flows.CUTOFF["at"] = float("inf")
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        engine.start(flows.reads_the_clock, workflow_id="clock")
        wait_until(lambda: len(engine.history("clock")) >= 5, 30, "both activities")
    flows.CUTOFF["at"] = 0.0  # "time has passed": the replay takes the other branch
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        # the signal rehydrates the run and its replay parks it: the signal is recorded
        # all the same, for the parked run to apply once it is resumed
        engine.signal("clock", "go")
        wait_until(lambda: engine.describe("clock").status == WorkflowStatus.PARKED, 30, "park")
        history = engine.history("clock")
    [parked] = [event for event in history if isinstance(event, ev.RunParked)]
    assert [e.kind for e in history if isinstance(e, ev.SignalReceived)] == ["SignalReceived"]
    assert "non-determinism" in parked.reason
    for cause in ("ctx.now()", "ctx.random()", "ctx.uuid4()", "time.time()"):
        assert cause in parked.reason


def test_a_second_engine_on_a_directory_open_in_this_process_says_close_or_reuse(
    data_dir: Path,
) -> None:
    with Engine.open(data_dir, workers=1), pytest.raises(DataDirLocked) as locked:
        Engine.open(data_dir, workers=1)
    message = str(locked.value)
    assert "already open by another Engine in this process" in message
    assert f"process {os.getpid()}" not in message
    assert "close" in message and "reuse" in message
    assert locked.value.in_this_process and locked.value.holder_pid == os.getpid()
