"""Waking the callers of a run that closed: the dispatcher itself when idle, else the wake lane."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from aion_actors import Engine
from aion_actors.core import RunKey
from aion_actors.core import events as ev
from aion_actors.runtime.lane import Lane
from aion_actors.runtime.runs.wakes import Wakes
from supervisor import Latch
from tests.runtime import flows

KEY = RunKey("wf", "run")
CLOSING = ev.WorkflowCompleted(result=1)


@pytest.fixture
def lane() -> Iterator[Lane]:
    lane = Lane("test-wake")
    yield lane
    lane.close()


def test_a_busy_dispatcher_hands_the_wake_ups_to_the_lane_waiters_first(lane: Lane) -> None:
    seen: list[tuple[str, str, bool]] = []
    latch = Latch()
    done = threading.Event()

    def callback(closing: ev.Event) -> None:
        assert closing is CLOSING
        seen.append(("callback", threading.current_thread().name, latch.is_set()))
        done.set()

    Wakes(lane, idle=lambda: False).closed(KEY, CLOSING, [latch], [callback])
    assert done.wait(10)
    assert latch.wait(0)
    assert seen == [("callback", "test-wake", True)]  # on the lane, after the waiter


def test_an_idle_dispatcher_wakes_them_itself(lane: Lane) -> None:
    called: list[str] = []
    latch = Latch()
    Wakes(lane, idle=lambda: True).closed(
        KEY, CLOSING, [latch], [lambda _: called.append(threading.current_thread().name)]
    )
    assert latch.is_set()
    assert called == [threading.current_thread().name]  # before closed() returned


def test_once_the_lane_has_stopped_they_are_woken_here(lane: Lane) -> None:
    lane.close()
    latch = Latch()
    Wakes(lane, idle=lambda: False).closed(KEY, CLOSING, [latch], [])
    assert latch.is_set()


def test_a_callback_that_raises_is_logged_and_the_others_still_run(
    lane: Lane, caplog: pytest.LogCaptureFixture
) -> None:
    called: list[int] = []

    def bad(_: ev.Event) -> None:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="aion_actors.runtime"):
        Wakes(lane, idle=lambda: True).closed(KEY, CLOSING, [], [bad, lambda _: called.append(1)])
    assert called == [1]
    assert "a done-callback of run run raised" in caplog.text


def test_many_request_threads_each_hear_of_their_own_runs_end(engine: Engine) -> None:
    ended: dict[int, threading.Event] = {i: threading.Event() for i in range(48)}
    results: dict[int, int] = {}

    def client(value: int) -> None:
        handle = engine.start(flows.three_steps, value)
        handle.add_done_callback(ended[value].set)
        results[value] = handle.result(timeout=60)

    threads = [threading.Thread(target=client, args=(i,)) for i in ended]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == {i: i + 111 for i in ended}
    assert all(event.wait(10) for event in ended.values())
