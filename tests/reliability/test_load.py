"""Load from many threads at once: a signal flood to one run, and a stampede of starts."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

from aion_actors import Engine, WorkflowAlreadyStarted
from aion_actors.core import events as ev
from tests.reliability import flows


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _in_threads(count: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run `work(i)` in `count` threads released together; the exceptions they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.parametrize(
    ("total", "senders"),
    [
        pytest.param(4_000, 8, marks=pytest.mark.timeout(120)),
        pytest.param(100_000, 16, marks=[pytest.mark.slow, pytest.mark.timeout(900)]),
    ],
)
def test_a_signal_flood_is_delivered_in_order_in_bounded_memory(
    engine: Engine, total: int, senders: int
) -> None:
    each = total // senders
    run = engine.start(flows.collects, senders, each, workflow_id="sink")
    before = _rss()

    def send(sender: int) -> None:
        for i in range(each):
            engine.signal("sink", "item", [sender, i])

    assert _in_threads(senders, send) == []
    assert run.result(timeout=300) == {"last": [each - 1] * senders, "disorder": 0}
    grown = _rss() - before
    received = [e.payload for e in engine.history("sink") if isinstance(e, ev.SignalReceived)]
    assert len(received) == senders * each
    for sender in range(senders):
        assert [i for s, i in received if s == sender] == list(range(each))
    print(f"\n{total} signals from {senders} threads: RSS grew {grown / 2**20:.1f} MiB")
    assert grown < 64 * 2**20 + total * 1024, f"RSS grew {grown / 2**20:.0f} MiB"


def test_a_thousand_concurrent_starts_of_one_workflow_id_make_one_run(engine: Engine) -> None:
    started: list[str] = []
    refused: list[WorkflowAlreadyStarted] = []

    def start(_: int) -> None:
        for _attempt in range(20):
            try:
                started.append(engine.start(flows.waits, workflow_id="once").run_id)
            except WorkflowAlreadyStarted as exc:
                refused.append(exc)

    assert _in_threads(50, start) == []
    assert len(started) == 1 and len(refused) == 999
    assert {(e.workflow_id, e.run_id) for e in refused} == {("once", started[0])}
    runs: list[Any] = engine.list_runs()
    assert [(r.workflow_id, r.run_id) for r in runs] == [("once", started[0])]
    assert [e.kind for e in engine.history("once")] == ["WorkflowStarted"]
    engine.signal("once", "go", "only")
    assert engine.result("once", timeout=30) == "only"
