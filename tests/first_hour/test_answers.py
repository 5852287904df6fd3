"""What a new user meets in the first hour: clear answers, never a silent wait."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from aion_actors import (
    ConfigError,
    Engine,
    QueryError,
    WorkflowCancelled,
    WorkflowClosed,
    WorkflowFailed,
    WorkflowParked,
    WorkflowStatus,
)
from aion_actors.aio import AsyncEngine
from aion_actors.core import events as ev
from tests.first_hour import flows
from tests.workers.helpers import wait_until

ALL = [flows.note, flows.counts_signals, flows.compensates, flows.breaks, flows.waits]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(*ALL)
        yield engine


def test_two_functions_under_one_name_are_refused_naming_both(engine: Engine) -> None:
    with pytest.raises(ConfigError) as refused:
        engine.register(flows.waits_too)
    message = str(refused.value)
    assert "tests.first_hour.flows:waits" in message
    assert "tests.first_hour.flows:waits_too" in message
    engine.register(flows.waits)  # the very same function again: fine
    engine.register(flows.waits_too, replace=True)  # said on purpose: fine


def test_a_query_on_a_completed_run_answers_from_its_final_state(engine: Engine) -> None:
    run = engine.start(flows.counts_signals, workflow_id="counted")
    engine.signal("counted", "tick")
    engine.signal("counted", "tick")
    assert run.result(timeout=10) == 2
    assert engine.query("counted", "seen") == 2
    assert engine.query("counted", "final") == "saw 2"


def test_a_signal_to_a_closed_run_says_it_is_closed_and_when(engine: Engine) -> None:
    engine.start(flows.waits, workflow_id="done")
    engine.signal("done", "go", 1)
    assert engine.result("done", timeout=10) == 1
    ended = engine.describe("done").ended_at
    assert ended is not None
    with pytest.raises(WorkflowClosed) as closed:
        engine.signal("done", "go", 2)
    message = str(closed.value)
    assert "is closed" in message and "completed" in message
    assert ended.isoformat(timespec="seconds") in message
    assert "start a new run" not in message


def test_result_of_a_parked_run_raises_at_once_unless_asked_to_wait(engine: Engine) -> None:
    run = engine.start(flows.breaks, workflow_id="broken")
    with pytest.raises(WorkflowParked) as parked:
        run.result(timeout=10)
    assert "a bug in workflow code" in str(parked.value)
    with pytest.raises(TimeoutError, match=r"\(it is parked: .*a bug in workflow code"):
        run.result(timeout=0.3, raise_on_park=False)


def test_a_parked_runs_error_gives_its_advice_once(engine: Engine) -> None:
    run = engine.start(flows.breaks, workflow_id="advised")
    with pytest.raises(WorkflowParked) as parked:
        run.result(timeout=10)
    message = str(parked.value)
    assert message.count("engine.resume()") == 1, message
    assert message.endswith(
        "fix the code and call engine.resume(); or wait with result(raise_on_park=False)"
    )
    bare = WorkflowParked("w", "r", "paused by hand")  # a reason without advice gets it
    assert str(bare).endswith(
        "fix the cause and call engine.resume(), or wait with result(raise_on_park=False)"
    )


def test_a_cancelled_run_raises_workflow_cancelled_a_workflow_failed(engine: Engine) -> None:
    run = engine.start(flows.compensates, workflow_id="cancelled")
    engine.cancel("cancelled", "customer changed their mind")
    with pytest.raises(WorkflowCancelled) as cancelled:
        run.result(timeout=10)
    assert isinstance(cancelled.value, WorkflowFailed)
    assert cancelled.value.status == "cancelled"


def test_describe_gives_datetimes_and_how_the_run_ended(engine: Engine) -> None:
    engine.start(flows.waits, workflow_id="described")
    running = engine.describe("described")
    assert isinstance(running.started_at, datetime) and running.started_at.tzinfo is not None
    assert running.ended_at is None and running.outcome is None
    engine.signal("described", "go", {"by": "ops"})
    engine.result("described", timeout=10)
    ended = engine.describe("described")
    assert isinstance(ended.ended_at, datetime) and ended.ended_at >= ended.started_at
    assert isinstance(ended.outcome, ev.WorkflowCompleted)
    assert ended.outcome.result == {"by": "ops"}


def test_a_run_of_an_unregistered_type_takes_signals_at_once_and_says_what_it_waits_for(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    with Engine.open(data, workers=1) as engine:
        engine.register(*ALL)
        engine.start(flows.counts_signals, workflow_id="waiting")
    with caplog.at_level(logging.INFO, logger="aion_actors"), Engine.open(data) as engine:
        assert any("counts_signals (1)" in r.getMessage() for r in caplog.records)
        engine.signal("waiting", "tick", timeout=5)  # recorded now, not after 30 s
        kinds = [e.kind for e in engine.history("waiting")]
        assert kinds[-1] == "SignalReceived"
        waiting = "waiting for workflow type 'counts_signals' to be registered"
        assert engine.describe("waiting").waiting_for == waiting
        with pytest.raises(QueryError, match=waiting):
            engine.query("waiting", "seen")
        with pytest.raises(TimeoutError, match=rf"within 0.2 s \(it is running, {waiting}\)"):
            engine.result("waiting", timeout=0.2)
        engine.register(*ALL)
        wait_until(lambda: engine.query("waiting", "seen") == 1, 10, "the signal to apply")
        engine.signal("waiting", "tick")
        assert engine.result("waiting", timeout=10) == 2
        assert engine.describe("waiting").status == WorkflowStatus.COMPLETED


def test_a_result_that_times_out_says_what_the_run_waits_for(engine: Engine) -> None:
    """A wait for a run held up by something only its user can fix says what (as describe
    does), sync and async alike, rather than only that time ran out."""
    engine.register(flows.calls_a_renamed_activity)
    run = engine.start(flows.calls_a_renamed_activity, workflow_id="renamed")
    waiting = "waiting for activity 'note_renamed' to be registered"
    wait_until(lambda: engine.describe("renamed").waiting_for == waiting, 10, "waiting_for")
    with pytest.raises(TimeoutError, match=rf"0.2 s \(it is running, {waiting}\)$"):
        run.result(timeout=0.2)

    engine.start(flows.waits, workflow_id="plain")  # waits for its signal: nothing to say
    with pytest.raises(TimeoutError, match=r"within 0.2 s \(it is running\)$"):
        engine.result("plain", timeout=0.2)


def test_an_async_result_that_times_out_says_what_the_run_waits_for(tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncEngine.open(tmp_path / "data", workers=1) as engine:
            await engine.register(flows.calls_a_renamed_activity)
            run = await engine.start(flows.calls_a_renamed_activity, workflow_id="renamed")
            waiting = "waiting for activity 'note_renamed' to be registered"
            with pytest.raises(TimeoutError, match=rf"within 0.5 s \(it is {waiting}\)$"):
                await run.result(timeout=0.5)

    asyncio.run(main())


def test_config_tables_naming_nothing_registered_are_warned_at_the_first_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "aion.toml"
    config.write_text("[restart.count_signals]\nmax_restarts = 1\n[activity.nte]\ntimeout = 5\n")
    with (
        caplog.at_level(logging.WARNING, logger="aion_actors"),
        Engine.open(tmp_path / "data", workers=1, config=config) as engine,
    ):
        engine.register(*ALL)
        assert not caplog.records
        engine.start(flows.waits)
        warned = "\n".join(r.getMessage() for r in caplog.records)
    assert "[restart.count_signals]" in warned and "counts_signals" in warned
    assert "[activity.nte]" in warned and "note" in warned


def test_a_data_directory_given_as_a_home_path_opens_under_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    with Engine.open("~/orders", workers=1) as engine:
        assert Path(engine.store.path) == tmp_path / "home" / "orders"
    assert (tmp_path / "home" / "orders" / "data.mdb").exists()
    assert not (tmp_path / "~").exists()  # not a directory named "~" here
