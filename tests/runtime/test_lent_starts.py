"""A lone `start` from a request thread runs its run's first turn in that thread (it
would only sleep until the opening is committed): no hand-off to a dispatcher thread.
Only where the caller's state cannot leak into workflow code: never the main thread,
never a thread running an event loop, and always in a fresh `contextvars.Context`."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aion_actors import Engine, WorkflowContext, activity, workflow
from aion_actors.runtime.runs.lending import may_lend_here
from aion_actors.store import LmdbStore
from tests.runtime.watched_store import Watched

#: (thread name, what the caller's context variable read) where workflow code first ran
_FIRST: list[tuple[str, str]] = []
_CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="unset")


@activity(executor="thread")
def add_one(value: int) -> int:
    return value + 1


@workflow
async def noted(ctx: WorkflowContext, value: int) -> int:
    _FIRST.append((threading.current_thread().name, _CALLER.get()))
    return await ctx.activity(add_one, value)


def _in_thread(call: Callable[[], Any]) -> Any:
    """`call()` in a thread of its own (a service's request thread), its result or error."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(call())
        except BaseException as exc:  # handed back to the test's thread
            out.append(exc)

    thread = threading.Thread(target=run, name="request-1")
    thread.start()
    thread.join(60)
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]


def _engine(tmp_path: Path) -> tuple[Engine, Watched, LmdbStore]:
    store = LmdbStore(tmp_path / "data")
    watched = Watched(store)
    engine = Engine(watched, workers=1)
    engine.register(noted, add_one)
    _FIRST.clear()
    return engine, watched, store


@pytest.mark.timeout(60)
def test_a_lone_start_from_a_request_thread_commits_its_opening_there_before_returning(
    tmp_path: Path,
) -> None:
    engine, watched, store = _engine(tmp_path)
    try:

        def start() -> list[str]:
            _CALLER.set("request")
            engine.start(noted, 1, workflow_id="w")
            # back from start: the opening is committed (by this thread) and in the store
            run = store.latest_run("w")
            assert run is not None
            return [e.kind for e in store.read("w", run.run_id)][:2]

        assert _in_thread(start) == ["WorkflowStarted", "ActivityScheduled"]
        assert engine.result("w", timeout=30) == 2
    finally:
        engine.close()
        store.close()
    assert watched.commits[0] == ("request-1", ["WorkflowStarted", "ActivityScheduled"])
    # workflow code ran there, but did not see the caller's context variables
    assert _FIRST == [("request-1", "unset")]


@pytest.mark.timeout(60)
def test_workflow_code_never_runs_in_the_main_thread_nor_beside_a_running_event_loop(
    tmp_path: Path,
) -> None:
    engine, watched, store = _engine(tmp_path)
    try:
        engine.start(noted, 1, workflow_id="main").result(timeout=30)

        async def from_a_coroutine() -> Any:  # a blocking call inside a loop: still safe
            return engine.start(noted, 2, workflow_id="loop").result(timeout=30)

        assert _in_thread(lambda: asyncio.run(from_a_coroutine())) == 3
    finally:
        engine.close()
        store.close()
    assert len(_FIRST) == 2 and all(name.startswith("aion-run") for name, _ in _FIRST), _FIRST
    openings = [thread for thread, kinds in watched.commits if "WorkflowStarted" in kinds]
    assert len(openings) == 2 and all(t.startswith("aion-run") for t in openings), openings


@pytest.mark.timeout(60)
def test_runs_started_together_are_not_lent_and_share_their_opening_commit(
    tmp_path: Path,
) -> None:
    engine, watched, store = _engine(tmp_path)
    try:
        handles = _in_thread(lambda: engine.start_many(noted, [(1,), (2,), (3,)]))
        assert [h.result(timeout=30) for h in handles] == [2, 3, 4]
    finally:
        engine.close()
        store.close()
    openings = [(t, k) for t, k in watched.commits if "WorkflowStarted" in k]
    assert all(thread != "request-1" for thread, _ in openings), openings
    assert sum(kinds.count("WorkflowStarted") for _, kinds in openings) == 3
    assert len(openings) < 3, openings  # (at least two shared a commit)


def test_may_lend_here_refuses_the_main_thread_and_a_thread_running_an_event_loop() -> None:
    assert threading.current_thread() is threading.main_thread()
    assert not may_lend_here()
    assert _in_thread(may_lend_here) is True

    async def inside() -> bool:
        return may_lend_here()

    assert _in_thread(lambda: asyncio.run(inside())) is False
