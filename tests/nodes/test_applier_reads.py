"""The owner's request reader: a read of the pending requests made while one of them was
being applied may still list it (its row went after the read began); it is not applied
again. (It was: a forwarded update or signal to a continue-as-new chain then ran twice,
in two runs, since an update id and a signal's request id are known per run.)"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from aion_actors.nodes.applier import Applier
from aion_actors.nodes.calls import NodeCall

ROW = ("r1", 0, NodeCall("signal", "w", name="go", payload=None).encode())


class _Rows:
    """`pending_requests` as a test scripts it: read 1 lists the row; read 2 waits until
    the row's application is over, then lists it still (it began before the row went)."""

    def __init__(self, applied: threading.Event) -> None:
        self._applied = applied
        self.reads = 0
        self.second_read = threading.Event()
        self.third_read = threading.Event()

    def pending_requests(self, partitions: list[int]) -> list[tuple[str, int, bytes]]:
        self.reads += 1
        if self.reads == 1:
            return [ROW]
        if self.reads == 2:
            self.second_read.set()
            assert self._applied.wait(10)
            return [ROW]
        self.third_read.set()
        return []


@pytest.mark.timeout(30)
def test_a_row_a_read_lists_after_it_was_applied_is_not_applied_again() -> None:
    applied, entered, release = threading.Event(), threading.Event(), threading.Event()
    rows = _Rows(applied)
    nothing: Any = None
    store: Any = rows
    applier = Applier(store, lambda p: True, lambda: [0], *[nothing] * 5)
    settled: list[str] = []

    def settle(request_id: str, call: NodeCall, partition: int) -> bool:
        settled.append(request_id)
        entered.set()
        assert release.wait(10)
        return True  # its row answered: gone

    apply = applier._apply  # noqa: SLF001 - the read races the end of this

    def applying(request_id: str, partition: int, data: bytes) -> None:
        apply(request_id, partition, data)
        applied.set()

    applier._settle = settle  # type: ignore[method-assign]  # noqa: SLF001
    applier._apply = applying  # type: ignore[method-assign]  # noqa: SLF001
    applier.start()
    try:
        applier.wake({0})
        assert entered.wait(10)
        applier.wake({0})  # read 2 begins while the row is applied
        assert rows.second_read.wait(10)
        release.set()
        assert applied.wait(10)
        applier.wake({0})  # read 3 begins once read 2's rows are handed out
        assert rows.third_read.wait(10)
        with applier._cond:  # noqa: SLF001
            handed_again = "r1" in applier._inflight  # noqa: SLF001
        assert (settled, handed_again) == (["r1"], False)
    finally:
        applier.close()
        applier.join(10)
