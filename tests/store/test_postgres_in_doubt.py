"""A Postgres group commit whose answer was lost after its COMMIT went out: the store
asks the server how the transaction ended before it writes anything else, and answers a
batch only with that batch's own results."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from aion_actors import Engine, StoreUnavailable
from aion_actors.core import events as ev
from aion_actors.store.postgres import PostgresStore, _appends
from aion_actors.store.protocol import AppendRequest
from aion_actors.testing.postgres import ThrowawayServer
from tests.nodes import flows
from tests.store.helpers import seqs, signals, started
from tests.workers.helpers import wait_until


def _answer_lost_after_commit(
    monkeypatch: pytest.MonkeyPatch, outage: Callable[[], object] | None = None
) -> list[int]:
    """The next group commit lands on the server, and its connection breaks before the
    answer comes back (`outage`, called then: the server goes down too). Returns the count
    of commits tried, kept up to date."""
    commit, calls = _appends.commit, [0]

    def losing(conn: Any, *args: Any, **kwargs: Any) -> None:
        calls[0] += 1
        commit(conn, *args, **kwargs)
        if calls[0] == 1:
            if outage is not None:
                outage()
            raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(_appends, "commit", losing)  # (fault injection on a real server)
    return calls


def _events(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM aion.events").fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.timeout(60)
def test_a_commit_whose_answer_was_lost_is_answered_by_its_retry_and_applied_once(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with PostgresStore(pg_url, retry_for=10.0) as store:
        store.append("w", "r", [started()], 0)
        calls = _answer_lost_after_commit(monkeypatch)
        [result] = store.append_batch([AppendRequest("w", "r", tuple(signals(2)), 1)])
        assert calls[0] == 1  # the retry asked the server, and wrote nothing again
        assert isinstance(result, list) and seqs(result) == [2, 3]
        assert seqs(store.read("w", "r")) == [1, 2, 3]
    assert _events(pg_url) == 3


@pytest.mark.timeout(90)
def test_a_commit_in_doubt_when_the_store_gives_up_may_be_recorded_and_answers_no_other_batch(
    pg_url: str, pg_server: ThrowawayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PostgresStore(pg_url, retry_for=1.0)
    store._pool.timeout = 1.0  # noqa: SLF001 - psycopg_pool's: 30 s by default
    with store, contextlib.ExitStack() as down:
        store.append("a", "r", [started()], 0)
        store.append("b", "r", [started()], 0)
        _answer_lost_after_commit(monkeypatch, lambda: down.enter_context(pg_server.outage()))
        with pytest.raises(StoreUnavailable, match="this call may have been recorded"):
            store.append_batch([AppendRequest("a", "r", tuple(signals(2)), 1)])
        monkeypatch.undo()
        down.close()  # the server is back
        later = AppendRequest("b", "r", tuple(signals(1, batch=7)), 1)
        deadline = time.monotonic() + 60
        while True:  # (the pool reconnects at its own pace; each try waits out 1 s)
            try:
                [result] = store.append_batch([later])
                break
            except StoreUnavailable:  # (this one never reached the server: safe to repeat)
                assert time.monotonic() < deadline
        assert isinstance(result, list) and [e.payload for e in result] == [{"batch": 7, "i": 0}]
        assert seqs(result) == [2]  # its own events, not the doubted batch's
        assert seqs(store.read("a", "r")) == [1, 2, 3]  # the doubted batch did commit, once
        assert seqs(store.read("b", "r")) == [1, 2]
    assert _events(pg_url) == 5


@pytest.mark.timeout(90)
def test_a_signal_whose_caller_gave_up_in_a_commit_left_in_doubt_is_recorded_once(
    pg_url: str,
    pg_server: ThrowawayServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The caller was told "it is not lost"; the commit carrying its signal did land, but
    its answer was lost and the store gave up: the run, replayed once the store writes
    again, finds the signal in its history and does not record it a second time."""
    caplog.set_level(logging.ERROR, logger="aion_actors")
    store = PostgresStore(pg_url, retry_for=1.0)
    store._pool.timeout = 1.0  # noqa: SLF001 - psycopg_pool's: 30 s by default
    with Engine(store, workers=1, idle_evict_after=None) as engine, contextlib.ExitStack() as down:
        engine.register(flows.waiter)
        engine.start(flows.waiter, 2, workflow_id="w")
        _answer_lost_after_commit(monkeypatch, lambda: down.enter_context(pg_server.outage()))
        with pytest.raises(TimeoutError, match="it is not lost"):
            engine.signal("w", "item", "x", timeout=0.3)
        wait_until(lambda: "may have been recorded" in caplog.text, 30, "the store giving up")
        monkeypatch.undo()
        down.close()  # the server is back: the run comes back by replay
        wait_until(lambda: _signalled(engine) == ["x"], 60, "the signal in the history")
        deadline = time.monotonic() + 60
        while True:  # (refused at once until the store is seen writing again)
            try:
                engine.signal("w", "item", "y", timeout=30)
                break
            except StoreUnavailable as exc:  # (it recorded nothing: safe to repeat)
                assert "recorded nothing" in str(exc) and time.monotonic() < deadline
                time.sleep(0.2)
        assert engine.result("w", timeout=30) == ["x", "y"]
        assert _signalled(engine) == ["x", "y"]  # "x" once


def _signalled(engine: Engine) -> list[object]:
    try:
        return [e.payload for e in engine.history("w") if isinstance(e, ev.SignalReceived)]
    except StoreUnavailable:  # (the pool reconnects at its own pace)
        return []
