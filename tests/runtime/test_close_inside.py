"""`close()` from the engine's own threads. From one of its activities it is refused with a
clear error and the engine stays open: the activity's outcome could not be recorded, so it
would run again, and close the engine again, at every reopening. From a run's turn (workflow
code, or a done callback called there) it cannot wait for that turn: it closes in a thread of
its own and returns at once. A second `close()` from the program waits for the first."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pykka
import pytest

from aion_actors import Engine, RetryPolicy, WorkflowContext, activity, workflow
from aion_actors.aio import AsyncEngine
from tests.workers.helpers import wait_until

pytestmark = pytest.mark.timeout(60)

ONCE = RetryPolicy(max_attempts=1)

#: what the activities and workflows below close: set by each test
TARGET: dict[str, Any] = {}
#: which of the activities below ran, in order
RAN: list[str] = []
#: how long each close() called from workflow code or a done callback took (s)
TOOK: list[float] = []
#: lets `wait_for_release` return
RELEASE = threading.Event()
#: far below the 5 s a run actor's supervisor gives it to stop: a close that waited for
#: the very turn it runs in would take that long
_AT_ONCE = 2.5


def _close_refused(close: Any) -> str:
    try:
        close()
    except RuntimeError as exc:
        return str(exc)
    return "closed"


@activity(executor="thread", retry=ONCE)
def close_from_activity(drain: float) -> str:
    RAN.append("close_from_activity")
    return _close_refused(lambda: TARGET["engine"].close(drain=drain))


@workflow
async def calls_closing_activity(ctx: WorkflowContext, drain: float) -> str:
    result: str = await ctx.activity(close_from_activity, drain)
    return result


@activity(executor="thread", retry=ONCE)
def wait_for_release() -> None:
    RAN.append("wait_for_release")
    RELEASE.wait(30)


@workflow
async def closes_in_its_code(ctx: WorkflowContext) -> str:
    await ctx.activity(wait_for_release)
    began = time.monotonic()
    result = _close_refused(TARGET["engine"].close)
    TOOK.append(time.monotonic() - began)
    return result


@activity(executor="thread", retry=ONCE)
async def aclose_from_async_activity() -> str:
    try:
        await TARGET["async_engine"].aclose(drain=30)
    except RuntimeError as exc:
        return str(exc)
    return "closed"


@workflow
async def waits(ctx: WorkflowContext) -> None:
    await ctx.activity(wait_for_release)


@workflow
async def calls_async_closing_activity(ctx: WorkflowContext) -> str:
    result: str = await ctx.activity(aclose_from_async_activity)
    return result


ALL = (
    close_from_activity,
    wait_for_release,
    calls_closing_activity,
    closes_in_its_code,
    aclose_from_async_activity,
    calls_async_closing_activity,
    waits,
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    threads = set(threading.enumerate())
    RAN.clear(), TOOK.clear()
    RELEASE.set()
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(*ALL)
        TARGET["engine"] = engine
        yield engine
    TARGET.clear()
    assert pykka.ActorRegistry.get_all() == []
    assert {t for t in threading.enumerate() if t.is_alive()} <= threads | {
        threading.current_thread()
    }


def _still_open(engine: Engine) -> None:
    """The refused engine runs workflows as before."""
    assert engine.start(waits).result(timeout=30) is None


@pytest.mark.parametrize("drain", [0.0, 30.0])
def test_close_from_inside_an_activity_is_refused_at_once_and_the_engine_stays_open(
    engine: Engine, drain: float
) -> None:
    """With a drain too: it would otherwise wait all 30 s for the calling attempt itself."""
    said = engine.start(calls_closing_activity, drain, workflow_id="closer").result(timeout=20)
    assert "close() was called from inside an activity (workflow 'closer'" in said
    assert "the engine stays open" in said and "close the engine again" in said
    assert RAN == ["close_from_activity"]
    _still_open(engine)


def _reopened_result(data: Path, workflow_id: str) -> Any:
    with Engine.open(data, workers=1) as engine:  # (no DataDirLocked: the close is over)
        engine.register(*ALL)
        return engine.result(workflow_id, timeout=30)


def test_close_from_workflow_code_returns_at_once_and_closes_in_its_own_thread(
    tmp_path: Path,
) -> None:
    threads = set(threading.enumerate())
    RAN.clear(), TOOK.clear()
    RELEASE.set()
    engine = Engine.open(tmp_path / "data", workers=1)
    engine.register(*ALL)
    TARGET["engine"] = engine
    engine.start(closes_in_its_code, workflow_id="closer")
    wait_until(lambda: bool(TOOK), 30, "the workflow's code to call close()")
    engine.close()  # waits for the close the workflow began
    assert {t for t in threading.enumerate() if t.is_alive()} <= threads
    assert _reopened_result(tmp_path / "data", "closer") == "closed"
    assert TOOK and TOOK[0] < _AT_ONCE, TOOK
    assert RAN == ["wait_for_release"]  # recorded before the close: not run again


def test_close_from_a_done_callback_returns_at_once_and_the_engine_closes(
    tmp_path: Path,
) -> None:
    threads = set(threading.enumerate())
    engine = Engine.open(tmp_path / "data", workers=1)
    engine.register(*ALL)
    called = threading.Event()

    def close_when_done() -> None:
        began = time.monotonic()
        engine.close()
        TOOK.append(time.monotonic() - began)
        called.set()

    TOOK.clear()
    engine.start(waits, workflow_id="ends").add_done_callback(close_when_done)
    assert called.wait(30)
    engine.close()  # returns once the callback's close has finished
    assert {t for t in threading.enumerate() if t.is_alive()} <= threads
    assert TOOK[0] < _AT_ONCE, TOOK
    assert _reopened_result(tmp_path / "data", "ends") is None


def test_a_second_close_waits_until_the_first_has_finished(tmp_path: Path) -> None:
    """A program that closes from two threads may reopen the store after either returns."""
    RELEASE.clear()
    RAN.clear()
    engine = Engine.open(tmp_path / "data", workers=1)
    engine.register(*ALL)
    try:
        engine.start(waits, workflow_id="waits")
        wait_until(lambda: "wait_for_release" in RAN, 10, "the activity to run")
        first = threading.Thread(target=engine.close, kwargs={"drain": 30})
        first.start()  # drains: waits for the activity, which waits for RELEASE
        wait_until(lambda: repr(engine).endswith("(closed)>"), 10, "the first close to begin")
        threading.Timer(0.2, RELEASE.set).start()
        engine.close()  # the second: returns only once the drain and the close are over
    finally:
        RELEASE.set()
    assert _reopened_result(tmp_path / "data", "waits") is None
    first.join(10)
    assert RAN == ["wait_for_release"]  # drained: its outcome recorded, not run again


def test_aclose_from_inside_an_async_activity_is_refused_and_the_engine_stays_open(
    tmp_path: Path,
) -> None:
    async def main() -> str:
        async with AsyncEngine.open(tmp_path / "data", workers=1) as async_engine:
            await async_engine.register(*ALL)
            TARGET["async_engine"] = async_engine
            handle = await async_engine.start(calls_async_closing_activity)
            said: str = await handle.result(timeout=20)
            again = await async_engine.start(calls_async_closing_activity)
            assert (await again.result(timeout=20)).startswith("<Engine")  # still open
            return said

    try:
        said = asyncio.run(main())
    finally:
        TARGET.clear()
    assert "close() was called from inside an activity (workflow" in said


def test_an_activity_may_close_another_engine(engine: Engine, tmp_path: Path) -> None:
    """The refusal is about the engine's own work, not about activity threads at large."""
    other = Engine.open(tmp_path / "other", workers=1)
    TARGET["engine"] = other
    said = engine.start(calls_closing_activity, 0.0).result(timeout=20)
    assert said == "closed"
    assert repr(other).endswith("(closed)>")
