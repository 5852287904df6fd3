"""`Service`: the loop is woken by `close`, its thread joined, and `close` from the loop
itself only asks (it cannot join itself)."""

from __future__ import annotations

import threading

import pytest

from aion_actors.runtime.service import Service

pytestmark = pytest.mark.timeout(10)


class _Waiter(Service):
    def __init__(self) -> None:
        super().__init__("test-service")
        self.stopping_called = 0

    def _stopping(self) -> None:
        self.stopping_called += 1

    def _serve(self) -> None:
        with self._cond:
            while not self._stopped:
                self._cond.wait()


class _ClosesItself(Service):
    def _serve(self) -> None:
        self.close()


def test_close_wakes_the_loop_and_joins_its_thread() -> None:
    service = _Waiter()
    service.start()
    service.close()
    assert not service._thread.is_alive()  # noqa: SLF001 (the thread under test)
    assert service.stopping_called == 1


def test_close_before_start_starts_nothing() -> None:
    service = _Waiter()
    service.close()
    assert not service.launched


def test_close_from_the_loop_itself_returns() -> None:
    service = _ClosesItself("test-self-close")
    service.start()
    service._thread.join(5)  # noqa: SLF001 (the thread under test)
    assert not service._thread.is_alive()  # noqa: SLF001
    assert all(t.name != "test-self-close" for t in threading.enumerate())
