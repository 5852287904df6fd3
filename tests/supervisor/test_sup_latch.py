"""Latch: the one-shot event every child incarnation and pooled actor carries."""

from __future__ import annotations

import threading

from supervisor._latch import Latch
from tests.supervisor.helpers import TIMEOUT


def test_wait_times_out_until_set_then_returns_at_once() -> None:
    latch = Latch()
    assert not latch.is_set()
    assert latch.wait(0.01) is False
    assert latch.wait(0) is False
    latch.set()
    assert latch.is_set() and latch.wait(0) and latch.wait(None)


def test_set_releases_every_waiter_and_setting_twice_is_harmless() -> None:
    latch = Latch()
    woke: list[bool] = []
    waiters = [threading.Thread(target=lambda: woke.append(latch.wait(TIMEOUT))) for _ in range(8)]
    for thread in waiters:
        thread.start()
    setters = [threading.Thread(target=latch.set) for _ in range(4)]
    for thread in setters:
        thread.start()
    for thread in waiters + setters:
        thread.join(TIMEOUT)
    latch.set()
    assert woke == [True] * 8
    assert latch.wait(0.01) and latch.wait(0.01)  # the lock was handed on, not kept
