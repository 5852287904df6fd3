"""The pruner in a database outage: one warning naming the store, no traceback, and it
prunes again once the database is back."""

from __future__ import annotations

import logging
import time

import pytest

from aion_actors import Engine, StoreUnavailable
from aion_actors.store.postgres import PostgresStore
from aion_actors.testing.postgres import ThrowawayServer
from tests.retention import flows
from tests.retention.conftest import watch
from tests.workers.helpers import wait_until


def _pruner_said(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "the pruner" in r.getMessage()]


@pytest.mark.timeout(90)
def test_a_pruner_that_cannot_reach_the_database_says_so_in_one_line_and_prunes_after(
    pg_url: str, pg_server: ThrowawayServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aion_actors")
    store = PostgresStore(pg_url, retry_for=1.0)
    store._pool.timeout = 1.0  # noqa: SLF001 - psycopg_pool's: 30 s by default
    with Engine(store, workers=1) as engine:
        engine.register(flows.kept)
        engine.start(flows.kept, 1, workflow_id="kept").result(timeout=30)
        with pg_server.outage():
            engine.register(flows.brief)  # a shorter retention: the pruner looks now
            wait_until(lambda: _pruner_said(caplog), 30, "the pruner's warning")
        said = _pruner_said(caplog)[0]
        assert all(r.levelno == logging.WARNING and not r.exc_info for r in _pruner_said(caplog))
        assert "cannot reach the store" in said.getMessage(), said.getMessage()
        assert "postgresql://" in said.getMessage(), said.getMessage()
        pruned = watch(engine)
        deadline = time.monotonic() + 60
        while True:  # (the pool reconnects at its own pace; each try waits out 1 s)
            try:
                run = engine.start(flows.brief, 2, workflow_id="brief")
                break
            except StoreUnavailable:  # (it recorded nothing: safe to repeat)
                assert time.monotonic() < deadline
        assert run.result(timeout=60) == 2
        pruned.wait_for("brief")  # a run closed after the outage wakes it
