"""A deploy that changes what a workflow accepts under runs in flight: parked, never failed.

History the old code recorded that the new code cannot take — a result that
no longer decodes, arguments it no longer encodes at a recorded place, start
arguments its signature no longer takes — parks the run (`ReplayMismatch`, a
`NonDeterminismError`), so `engine.resume()` rebuilds it once a fix is
deployed. The same errors met live still fail the run, or refuse its start.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import Engine, NonDeterminismError, TypedConverter, WorkflowStatus
from aion_actors.core import events as ev
from aion_actors.runtime.machine import Machine
from aion_actors.runtime.mismatch import ReplayMismatch
from tests.runtime import change_flows as cf
from tests.runtime.test_machine import RUN, History
from tests.workers.helpers import wait_until

TYPED = TypedConverter()


def _quoted() -> History:
    """A run of `quote_v1` waiting for its signal, its price recorded as a `QuoteV1`."""
    history = History("quote", "o-1")
    [scheduled] = history.add(*Machine(cf.quote_v1, "w", RUN, history.events).advance())
    assert isinstance(scheduled, ev.ActivityScheduled)
    history.add(
        ev.ActivityCompleted(
            activity_id=scheduled.activity_id, result={"order_id": "o-1", "total": 100}
        )
    )
    return history


def test_a_recorded_result_the_new_code_cannot_decode_parks_the_run_naming_it() -> None:
    history = _quoted()
    with pytest.raises(NonDeterminismError) as raised:
        Machine(cf.quote_v2, "w", RUN, history.events, converter=TYPED, rebuilt=True).advance()
    error = raised.value
    assert isinstance(error, ReplayMismatch) and error.seq == 3
    message = str(error)
    assert "result of activity 'price': cannot be decoded as QuoteV2" in message
    assert "missing 1 required positional argument: 'currency'" in message
    assert "the run is parked" in message and "engine.resume()" in message
    assert "time.time()" not in message  # not the advice of a divergence
    assert (
        Machine(cf.quote_v3, "w", RUN, history.events, converter=TYPED, rebuilt=True).advance()
        == []
    )


def test_a_result_that_does_not_decode_live_still_fails_the_run() -> None:
    history = _quoted()
    completed = history.events.pop()
    machine = Machine(cf.quote_v2, "w", RUN, history.events, converter=TYPED, rebuilt=True)
    assert machine.advance() == []
    machine.feed([completed])  # recorded by this incarnation, after the code was deployed
    [failed] = machine.advance()
    assert isinstance(failed, ev.WorkflowFailed) and failed.error["type"] == "PayloadError"


def test_a_recorded_input_the_new_code_cannot_decode_parks_but_a_new_one_fails() -> None:
    history = History("takes", {"order_id": "o-1", "total": 100})
    with pytest.raises(ReplayMismatch, match=r"at seq 1: .*input\[0\] \(parameter 'order'"):
        Machine(cf.takes_v2, "w", RUN, history.events, converter=TYPED, rebuilt=True).advance()
    new = Machine(cf.takes_v2, "w", RUN, history.events, converter=TYPED)
    [failed] = new.advance()
    assert isinstance(failed, ev.WorkflowFailed) and failed.error["type"] == "PayloadError"


def test_arguments_the_new_code_cannot_encode_at_a_recorded_place_park_the_run() -> None:
    history = History("sends")
    history.add(*Machine(cf.sends_v1, "w", RUN, history.events).advance())
    with pytest.raises(ReplayMismatch) as raised:
        Machine(cf.sends_v2, "w", RUN, history.events, rebuilt=True).advance()
    assert raised.value.seq == 2 and "activity 'echo'" in str(raised.value)
    assert "set is not serialisable" in str(raised.value)
    [failed] = Machine(cf.sends_v2, "w", RUN, History("sends").events).advance()
    assert isinstance(failed, ev.WorkflowFailed)  # a new run: no recorded place, it fails


def test_a_history_that_ended_failed_by_a_payload_error_replays_so() -> None:
    history = _quoted()
    machine = Machine(cf.quote_v2, "w", RUN, history.events[:-1], converter=TYPED)
    machine.advance()
    machine.feed([history.events[-1]])
    history.add(*machine.advance())  # failed live: a query or a replay check sees it again
    [failed] = Machine(
        cf.quote_v2, "w", RUN, history.events, converter=TYPED, rebuilt=True
    ).advance()
    assert isinstance(failed, ev.WorkflowFailed)


def test_recorded_start_arguments_the_signature_no_longer_takes_park_the_run() -> None:
    history = History("charge", 5)
    with pytest.raises(ReplayMismatch) as raised:
        Machine(cf.charge_v2, "w", RUN, history.events, rebuilt=True).advance()
    message = str(raised.value)
    assert "workflow 'charge' takes (amount: int, currency: str) after ctx" in message
    assert "1 argument (int)" in message and "missing a required argument: 'currency'" in message
    assert raised.value.seq == 1
    with pytest.raises(TypeError, match=r"takes \(amount: int, currency: str\) after ctx, but"):
        Machine(cf.charge_v2, "w", RUN, history.events)  # a new run's start


def _parked(engine: Engine, workflow_id: str) -> str:
    wait_until(lambda: engine.describe(workflow_id).status is WorkflowStatus.PARKED, 30, "the park")
    parked = [e for e in engine.history(workflow_id) if isinstance(e, ev.RunParked)]
    return parked[-1].reason


def test_a_deploy_whose_results_no_longer_decode_parks_runs_and_a_fix_resumes_them(
    data_dir: Path,
) -> None:
    with Engine.open(data_dir, workers=1, converter=TYPED) as engine:
        engine.register(cf.quote_v1, cf.price_v1)
        engine.start(cf.quote_v1, "o-1", workflow_id="q")
        wait_until(lambda: len(engine.history("q")) >= 3, 30, "the price")
    with Engine.open(data_dir, workers=1, converter=TYPED) as engine:
        engine.register(cf.quote_v2, cf.price_v2)
        engine.signal("q", "go", timeout=30)  # rehydrates the run: its replay meets QuoteV1
        reason = _parked(engine, "q")
        assert "cannot be decoded as QuoteV2" in reason
        assert [e.kind for e in engine.history("q")].count("WorkflowFailed") == 0
    with Engine.open(data_dir, workers=1, converter=TYPED) as engine:
        engine.register(cf.quote_v3, cf.price_v3)
        engine.resume("q")
        assert engine.result("q", timeout=30) == "100 EUR"


def test_a_deploy_that_adds_a_parameter_parks_runs_and_refuses_new_starts(
    data_dir: Path,
) -> None:
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(cf.charge_v1)
        engine.start(cf.charge_v1, 5, workflow_id="c")
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(cf.charge_v2)
        engine.signal("c", "go", timeout=30)  # recorded for the parked run
        reason = _parked(engine, "c")
        assert "takes (amount: int, currency: str) after ctx" in reason
        assert engine.stats()["crashes"] == 0  # parked at once, never crash-looped
        with pytest.raises(TypeError, match="but was started with 1 argument"):
            engine.start(cf.charge_v2, 7, workflow_id="new")
        assert [r.workflow_id for r in engine.list_runs()] == ["c"]
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(cf.charge_v3)
        engine.resume("c")
        assert engine.result("c", timeout=30) == "5 EUR"
