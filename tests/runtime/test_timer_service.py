"""The timer service on a real LMDB store: what each look at the timer index reads."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors.runtime.timers import TimerService
from aion_actors.store import DueTimer, LmdbStore

_HOUR = 3600 * 10**9


class _Counting:
    """The real store, counting the rows each `due_timers` call returns."""

    def __init__(self, store: LmdbStore) -> None:
        self.store = store
        self.rows: list[int] = []
        self.read = threading.Condition()

    def due_timers(self, as_of: int, limit: int | None = None) -> list[DueTimer]:
        found = self.store.due_timers(as_of, limit)
        with self.read:
            self.rows.append(len(found))
            self.read.notify_all()
        return found

    def wait_reads(self, count: int) -> None:
        with self.read:
            assert self.read.wait_for(lambda: len(self.rows) >= count, timeout=10)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LmdbStore]:
    with LmdbStore(tmp_path / "data") as opened:
        yield opened


def _fired_by_run(store: LmdbStore, fired: list[DueTimer], all_fired: threading.Event, due: int):
    """What a run does with a reported timer: it records `TimerFired`, which removes it."""

    def fire(timer: DueTimer) -> None:
        store.cancel_timer(timer.workflow_id, timer.run_id, timer.timer_id)
        fired.append(timer)
        if len(fired) == due:
            all_fired.set()

    return fire


def test_a_look_at_the_timer_index_reads_no_more_rows_for_timers_reported_and_fired_earlier(
    store: LmdbStore,
) -> None:
    now = time.time_ns()
    for i in range(300):
        store.schedule_timer(f"due-{i}", "r", "t", now - 10**9)
    for i in range(1000):
        store.schedule_timer(f"later-{i}", "r", "t", now + _HOUR + i)
    counting = _Counting(store)
    fired: list[DueTimer] = []
    all_fired = threading.Event()
    service = TimerService(counting, _fired_by_run(store, fired, all_fired, 300))  # type: ignore[arg-type]
    service.start()
    try:
        assert all_fired.wait(10)
        counting.wait_reads(2)  # the look that reported them has ended
        counting.rows.clear()
        for _ in range(5):  # a new timer recorded wakes the service each time
            before = len(counting.rows)
            service.arm(0)
            counting.wait_reads(before + 2)
        # each look: the due timers (none now) and the next upcoming one, not the
        # 300 reported in the last seconds' worth of upcoming ones
        assert max(counting.rows) <= 1, counting.rows
        assert len(fired) == 300 and len({t.workflow_id for t in fired}) == 300
    finally:
        service.close()


def test_a_reported_timer_its_run_has_not_fired_is_reported_again_only_after_two_seconds(
    store: LmdbStore,
) -> None:
    store.schedule_timer("slow", "r", "t", time.time_ns() - 10**9)
    reported: list[float] = []
    twice = threading.Event()

    def fire(timer: DueTimer) -> None:  # the run does not record it (yet)
        reported.append(time.monotonic())
        if len(reported) == 2:
            twice.set()

    service = TimerService(store, fire)
    service.start()
    try:
        for _ in range(5):  # other timers recorded meanwhile wake the service
            service.arm(0)
        assert twice.wait(10)
        assert reported[1] - reported[0] >= 1.9
    finally:
        service.close()
