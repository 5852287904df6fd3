"""`Engine.close()` from a signal handler that interrupted the same thread's own store read
(`list_runs`, `describe`, `history`): the store closes as that read ends, instead of
waiting for it for ever."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from aion_actors import Engine, EngineClosed, WorkflowContext, workflow
from aion_actors.store import _search
from tests.workers.helpers import wait_until

ON_POSTGRES = True  # every test that takes `data_dir` runs on Postgres too

pytestmark = pytest.mark.timeout(60)


@workflow
async def quick(ctx: WorkflowContext, n: int) -> int:
    return n


@pytest.fixture
def on_sigusr1() -> Iterator[list[Any]]:
    """SIGUSR1 calls each callable put in the list; the handler before is put back."""
    calls: list[Any] = []
    before = signal.signal(signal.SIGUSR1, lambda signum, frame: [call() for call in calls])
    yield calls
    signal.signal(signal.SIGUSR1, before)


def test_a_close_from_a_signal_handler_during_a_store_read_of_its_thread_closes_the_store(
    data_dir: Any, monkeypatch: pytest.MonkeyPatch, on_sigusr1: list[Any]
) -> None:
    threads = set(threading.enumerate())
    engine = Engine.open(data_dir, workers=1)
    engine.register(quick)
    for handle in engine.start_many(quick, [(i,) for i in range(3)]):
        handle.result(timeout=30)
    closed: list[float] = []
    on_sigusr1.append(lambda: closed.append(engine.close()))  # "close on SIGTERM"
    reading = _search.page

    def interrupted(query: Any, ordered: Iterable[Any]) -> Any:
        """The listing's read, in its transaction, when the signal comes."""
        signal.raise_signal(signal.SIGUSR1)  # its handler runs here, in this thread
        return reading(query, ordered)

    monkeypatch.setattr(_search, "page", interrupted)
    listed = engine.list_runs()  # (before: close() waited for this read for ever)

    assert closed == [None]  # the handler's close returned
    assert len(listed) == 3  # the read it interrupted finished
    with pytest.raises(EngineClosed):
        engine.list_runs()
    engine.close()  # idempotent
    wait_until(lambda: set(threading.enumerate()) <= threads, 10, "engine threads to end")
    monkeypatch.undo()
    with Engine.open(data_dir, workers=1) as again:  # the store was closed and released
        assert len(again.list_runs()) == 3
