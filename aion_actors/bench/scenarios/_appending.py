"""What the store scenario measures on either backend: durable appends through a
`Recorder` from many writer threads, and timing a read."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from aion_actors.core import Event
from aion_actors.core import events as ev
from aion_actors.store import EventStore, Recorder

_WARMUP_S = 0.3


def event(i: int) -> Event:
    """A typical small event (~130 bytes encoded)."""
    return ev.ActivityCompleted(activity_id=f"act-{i}", result={"ok": "x" * 64, "n": i})


def durable_events_per_s(
    open_store: Callable[[], AbstractContextManager[EventStore]],
    writers: int,
    batch: int,
    seconds: float,
) -> float:
    """Events per second committed by `writers` threads appending through one Recorder
    to a fresh store `open_store()` opens."""
    with open_store() as store, Recorder(store) as recorder:
        appended = [0] * writers
        start, stop = threading.Barrier(writers + 1), threading.Event()

        def write(index: int) -> None:
            events = tuple(event(i) for i in range(batch))
            workflow_id, head = f"bench-{index}", 0
            start.wait()
            while not stop.is_set():
                head = recorder.append(workflow_id, "run", events, head)[-1].seq
                appended[index] += 1

        threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
        for thread in threads:
            thread.start()
        start.wait()
        time.sleep(_WARMUP_S)
        before, began = sum(appended), time.perf_counter()
        time.sleep(seconds)
        after, elapsed = sum(appended), time.perf_counter() - began
        stop.set()
        for thread in threads:
            thread.join()
    return (after - before) * batch / elapsed


def rate_of(read: object, expected: int) -> float:
    began = time.perf_counter()
    count = read()  # type: ignore[operator]
    elapsed = time.perf_counter() - began
    if count != expected:
        raise AssertionError(f"replay read {count} events, expected {expected}")
    return float(count / elapsed)
