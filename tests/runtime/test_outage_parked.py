"""A request to a parked run (written on its behalf: it has no actor) in a database
outage, whose caller gave up waiting: kept, and recorded once the store writes again."""

from __future__ import annotations

import contextlib
import logging

import pytest

from aion_actors import Engine, WorkflowStatus
from aion_actors.core import events as ev
from aion_actors.store.postgres import PostgresStore
from aion_actors.testing.postgres import ThrowawayServer
from tests.runtime import flows
from tests.workers.helpers import wait_until


def _notes(engine: Engine) -> list[object]:
    try:
        return [e.payload for e in engine.history("parked") if isinstance(e, ev.SignalReceived)]
    except Exception:  # (the pool reconnects at its own pace)
        return []


@pytest.mark.timeout(90)
def test_a_signal_to_a_parked_run_whose_caller_gave_up_in_an_outage_is_recorded_after_it(
    pg_url: str, pg_server: ThrowawayServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aion_actors")
    flows.FAULTS["crashes"] = 0
    store = PostgresStore(pg_url, retry_for=1.0)
    store._pool.timeout = 1.0  # noqa: SLF001 - psycopg_pool's: 30 s by default
    with Engine(store, workers=1) as engine, contextlib.ExitStack() as down:
        engine.register(*flows.ALL)
        engine.start(flows.crashy_park, workflow_id="parked")
        parked = lambda: engine.describe("parked").status is WorkflowStatus.PARKED  # noqa: E731
        wait_until(parked, 30, "the run parked")
        down.enter_context(pg_server.outage())
        with pytest.raises(TimeoutError, match="it is not lost"):
            engine.signal("parked", "note", "x", timeout=0.5)
        wait_until(lambda: "cannot write" in caplog.text, 30, "the store refusing the write")
        down.close()  # the server is back
        wait_until(lambda: _notes(engine) == ["x"], 60, "the signal recorded")
    assert not [r for r in caplog.records if "was lost" in r.getMessage()]
    with Engine.open(pg_url, workers=1) as again:
        assert [e.payload for e in again.history("parked") if isinstance(e, ev.SignalReceived)] == [
            "x"
        ]
