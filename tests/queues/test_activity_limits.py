"""`@activity(concurrency=, rate=)`: bounds on an activity's calls across all of an
engine's runs, read back from what the calls themselves noted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest

from aion_actors import ActivityTimeout, ConfigError, Engine, WorkflowFailed, activity
from tests.queues import limit_flows
from tests.queues.history import most_at_once, most_in_window
from tests.workers.helpers import wait_until

SECOND = 1_000_000_000


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    threads_before = set(threading.enumerate())
    engine = Engine.open(tmp_path / "data", workers=8)
    engine.register(*limit_flows.ALL)
    yield engine
    engine.close()
    assert pykka.ActorRegistry.get_all() == []
    wait_until(lambda: set(threading.enumerate()) <= threads_before, 10, "engine threads to end")


@pytest.mark.timeout(120)
def test_concurrency_five_is_never_exceeded_across_runs_on_the_process_executor(
    engine: Engine, tmp_path: Path
) -> None:
    ledger = str(tmp_path / "ledger")
    handles = [engine.start(limit_flows.fan_out, ledger, 6, workflow_id=f"f{i}") for i in range(4)]
    for handle in handles:
        assert len(handle.result(timeout=60)) == 6
    spans = limit_flows.spans(ledger)
    assert len(spans) == 24
    assert most_at_once(spans) == 5  # 8 workers, 24 calls: the bound is what held them


@pytest.mark.timeout(60)
def test_a_rate_of_5_a_second_holds_in_every_second_across_runs(
    engine: Engine, tmp_path: Path
) -> None:
    ledger = str(tmp_path / "ledger")
    handles = [
        engine.start(limit_flows.metered_calls, ledger, 5, workflow_id=f"m{i}") for i in range(3)
    ]
    for handle in handles:
        assert len(handle.result(timeout=30)) == 5
    starts = [at for _, at in limit_flows.calls(ledger)["start"]]
    assert len(starts) == 15
    # the window holds at the hand-off to the executor; a call starts a little later
    # (its thread picking it up), so allow 50 ms of that in the check
    assert most_in_window(starts, SECOND - 50_000_000) <= 5
    assert max(starts) - min(starts) >= 2 * SECOND - 50_000_000  # 15 at 5/s: 3 windows


@pytest.mark.timeout(60)
def test_a_wait_for_the_limit_does_not_eat_the_attempts_own_start_to_close_timeout(
    engine: Engine, tmp_path: Path
) -> None:
    ledger = str(tmp_path / "ledger")
    handles = [
        engine.start(limit_flows.single_call, ledger, 0.3, workflow_id=f"s{i}") for i in range(4)
    ]
    # one at a time, 0.3 s each: the last waits ~0.9 s, longer than its 0.5 s timeout
    assert [h.result(timeout=30) for h in handles] == [f"s{i}" for i in range(4)]
    assert most_at_once(limit_flows.spans(ledger)) == 1


@pytest.mark.timeout(60)
def test_an_attempt_whose_schedule_to_close_deadline_passed_while_it_waited_never_runs(
    engine: Engine, tmp_path: Path
) -> None:
    ledger = str(tmp_path / "ledger")
    holder = engine.start(limit_flows.single_call, ledger, 0.45, workflow_id="holder")
    wait_until(lambda: limit_flows.calls(ledger)["start"], 10, "the holder's call to start")
    late = engine.start(limit_flows.single_call, ledger, 0.1, 0.2, workflow_id="late")
    with pytest.raises(WorkflowFailed) as failed:
        late.result(timeout=10)
    assert isinstance(failed.value.__cause__, ActivityTimeout) or "deadline" in str(failed.value)
    assert holder.result(timeout=10) == "holder"
    after = engine.start(limit_flows.single_call, ledger, 0.0, workflow_id="after")
    assert after.result(timeout=10) == "after"  # the slot went on, past the dropped one
    assert [call for call, _ in limit_flows.calls(ledger)["start"]] == ["holder", "after"]


@pytest.mark.timeout(60)
def test_a_cancelled_run_ends_its_waiting_attempt_unrun(engine: Engine, tmp_path: Path) -> None:
    ledger = str(tmp_path / "ledger")
    holder = engine.start(limit_flows.single_call, ledger, 0.45, workflow_id="holder")
    wait_until(lambda: limit_flows.calls(ledger)["start"], 10, "the holder's call to start")
    waiting = engine.start(limit_flows.single_call, ledger, 0.1, workflow_id="waiting")
    engine.cancel("waiting", "not needed")
    with pytest.raises(WorkflowFailed):
        waiting.result(timeout=10)
    assert holder.result(timeout=10) == "holder"
    assert engine.stats()["activity_limited"] == 0
    assert [call for call, _ in limit_flows.calls(ledger)["start"]] == ["holder"]


def test_bad_limits_are_refused_naming_the_activity_setting() -> None:
    def work() -> None: ...

    with pytest.raises(ConfigError, match=r"activity 'work': concurrency=0 must be an int >= 1"):
        activity(concurrency=0, executor="thread")(work)
    with pytest.raises(ConfigError, match=r"activity 'work': rate=\(20, 0\) must be \(limit, sec"):
        activity(rate=(20, 0), executor="thread")(work)  # type: ignore[arg-type]
