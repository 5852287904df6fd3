"""`_lmdb_gate.Gate`: a close from a signal handler waits for no read or write of its own
thread (it is put off until that ends), and waits for other threads' as before."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aion_actors.store import LmdbStore
from aion_actors.store._lmdb_gate import Gate

pytestmark = pytest.mark.timeout(30)


def test_an_action_put_off_by_a_thread_inside_is_done_as_it_leaves_its_last_hold() -> None:
    gate, done = Gate(), []
    assert not gate.when_out(lambda: done.append("now"))  # outside: do it yourself
    with gate, gate.writing():
        with gate:
            assert gate.when_out(lambda: done.append("read"))
        assert done == []  # still inside
    assert done == ["read"]
    with gate.writing():
        assert gate.when_out(lambda: done.append("write"))
    assert done == ["read", "write"]


def test_an_action_put_off_is_done_when_the_hold_ends_by_an_exception() -> None:
    gate, done = Gate(), []
    with pytest.raises(KeyError), gate.writing():
        gate.when_out(lambda: done.append("after"))
        raise KeyError("the write failed")
    assert done == ["after"]


def test_another_threads_close_still_waits_for_the_read_under_way() -> None:
    gate, order = Gate(), []
    reading, closing = threading.Event(), threading.Event()

    def read() -> None:
        with gate:
            reading.set()
            closing.wait(10)
            order.append("read ends")

    reader = threading.Thread(target=read)
    reader.start()
    reading.wait(10)
    assert not gate.when_out(lambda: None)  # this thread is not inside
    closing.set()
    with gate.exclusive():
        order.append("exclusive")
    reader.join()
    assert order == ["read ends", "exclusive"]


@pytest.fixture
def on_sigusr1() -> Iterator[list[Any]]:
    calls: list[Any] = []
    before = signal.signal(signal.SIGUSR1, lambda signum, frame: [call() for call in calls])
    yield calls
    signal.signal(signal.SIGUSR1, before)


def test_a_store_closed_by_a_signal_handler_inside_its_own_write_closes_after_it(
    tmp_path: Path, on_sigusr1: list[Any]
) -> None:
    store = LmdbStore(tmp_path / "data")
    on_sigusr1.append(store.close)
    with store._gate.writing():  # noqa: SLF001 (a write under way in this thread)
        signal.raise_signal(signal.SIGUSR1)
        assert not repr(store).endswith("closed)")  # put off: (before: waited for itself for ever)
    assert repr(store).endswith("closed)")
    LmdbStore(tmp_path / "data").close()  # released
