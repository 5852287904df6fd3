"""A queue's limits hold across nodes: its home (the owner of the partition its name falls
in) alone gives its slots and keeps its rate window, whichever node enqueues a run and
whichever node the run lives on; a new home rebuilds both from the store when the old one
is killed. Checked from the recorded histories."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import pytest

from aion_actors import Engine, Queue, QueueDuplicate, WorkflowStatus
from aion_actors.core import events as ev
from aion_actors.nodes.calls import home_key
from aion_actors.store.postgres import partition_of
from tests.crashes import kill_engine
from tests.nodes import flows
from tests.nodes.node_child import LEASE
from tests.nodes.queue_child import CHAIN
from tests.nodes.test_calls_between_nodes import _until
from tests.queues.history import interval, most_at_once, most_in_window

ROOT = Path(__file__).resolve().parents[2]
SECOND = 1_000_000_000


def _owns(engine: Engine, workflow_id: str) -> bool:
    node = engine._parts.node  # noqa: SLF001 - which partitions it owns
    assert node is not None
    return node.owns(workflow_id)


def _homed_on(engine: Engine, prefix: str) -> str:
    """A queue name whose home is `engine`."""
    node = engine._parts.node  # noqa: SLF001 - which partitions it owns
    assert node is not None
    partitions = engine.store.partitions  # type: ignore[attr-defined]
    return next(
        f"{prefix}{i}"
        for i in range(10_000)
        if node.serves(partition_of(home_key(f"{prefix}{i}"), partitions))
    )


def _closed(engine: Engine, ids: list[str]) -> bool:
    return all(engine.describe(w).status.is_terminal for w in ids)


def _dequeued(events: list[ev.Event]) -> list[int]:
    return [e.recorded_at for e in events if isinstance(e, ev.RunDequeued)]


@pytest.mark.timeout(120)
def test_concurrency_3_is_never_exceeded_across_two_nodes_enqueueing_runs_of_both(
    pair: tuple[Engine, Engine], tmp_path: Path
) -> None:
    a, b = pair
    name = _homed_on(a, "shared")
    for engine in (a, b):
        engine.register(Queue(name, concurrency=3))
    ids = [f"c{i}" for i in range(24)]
    assert any(_owns(a, w) for w in ids) and any(_owns(b, w) for w in ids)
    ledger = str(tmp_path / "ledger")
    for i, wid in enumerate(ids):  # each node enqueues half, of runs on both nodes
        (a if i % 2 else b).enqueue(name, flows.chain, ledger, 0.1, 0.05, workflow_id=wid)
    assert b.stats()["queue_running"] == 0  # b is not the home: it holds no slots
    _until(lambda: _closed(b, ids), timeout=90)
    histories = [b.history(w) for w in ids]
    assert all(isinstance(h[-1], ev.WorkflowCompleted) for h in histories)
    assert all(len(_dequeued(h)) == 1 for h in histories)  # each started once
    intervals = [i for h in histories if (i := interval(h)) is not None]
    assert len(intervals) == len(ids)
    assert most_at_once(intervals) <= 3
    assert a.stats()["queue_running"] == a.stats()["queued"] == 0


@pytest.mark.timeout(120)
def test_a_rate_window_is_never_exceeded_across_two_nodes(pair: tuple[Engine, Engine]) -> None:
    a, b = pair
    name = _homed_on(b, "paced")
    for engine in (a, b):
        engine.register(Queue(name, rate=(4, 1.0)))
    ids = [f"p{i}" for i in range(16)]
    for i, wid in enumerate(ids):
        (a if i % 2 else b).enqueue(name, flows.waiter, 0, workflow_id=wid)
    _until(lambda: _closed(a, ids), timeout=60)
    starts = [at for w in ids for at in _dequeued(a.history(w))]
    assert len(starts) == len(ids)
    assert most_in_window(starts, SECOND) <= 4
    assert max(starts) - min(starts) >= 2 * SECOND  # 16 at 4 a second: three windows on


@pytest.mark.timeout(60)
def test_an_enqueue_on_a_node_away_from_the_home_dedups_and_raises_as_the_home_does(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    name = _homed_on(a, "dedup")
    for engine in (a, b):
        engine.register(Queue(name, concurrency=1))
    first = b.enqueue(name, flows.waiter, 1, workflow_id="d1", dedup_id="order-7")
    again = b.enqueue(name, flows.waiter, 1, workflow_id="d2", dedup_id="order-7")
    assert (again.workflow_id, again.run_id) == (first.workflow_id, first.run_id)
    with pytest.raises(QueueDuplicate) as caught:
        b.enqueue(name, flows.waiter, 1, workflow_id="d3", dedup_id="order-7", on_duplicate="raise")
    assert caught.value.workflow_id == "d1" and caught.value.dedup_id == "order-7"
    b.signal("d1", "item", "x")
    _until(lambda: _closed(a, ["d1"]))


@pytest.mark.timeout(60)
def test_a_queued_run_on_a_node_away_from_the_home_is_cancelled_unrun_and_frees_its_place(
    pair: tuple[Engine, Engine],
) -> None:
    a, b = pair
    name = _homed_on(a, "cancels")
    for engine in (a, b):
        engine.register(Queue(name, concurrency=1))
    first, second, third = [w for w in (f"x{i}" for i in range(1000)) if _owns(b, w)][:3]
    for wid in (first, second, third):
        b.enqueue(name, flows.waiter, 1, workflow_id=wid)
    assert b.describe(second).status is WorkflowStatus.QUEUED
    a.cancel(second)  # made on the home, for a run b holds
    _until(lambda: b.describe(second).status is WorkflowStatus.CANCELLED)
    assert not any(isinstance(e, ev.RunDequeued) for e in b.history(second))
    b.signal(first, "item", "go")
    _until(lambda: b.describe(third).status is WorkflowStatus.RUNNING)  # its turn came
    b.signal(third, "item", "go")
    _until(lambda: _closed(b, [first, second, third]))


def _spawn(url: str, node_id: str, log: Path):  # type: ignore[no-untyped-def]
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.nodes.queue_child", url, node_id],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        start_new_session=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "READY"
    return child


def _order(child, line: str) -> None:  # type: ignore[no-untyped-def]
    child.stdin.write(line + "\n")
    child.stdin.flush()
    answer = child.stdout.readline().strip()
    assert answer == f"DONE {line}", answer


@pytest.mark.timeout(180)
def test_the_queue_survives_the_sigkill_of_its_home_and_concurrency_holds_throughout(
    pg_url: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    home = _spawn(pg_url, "home", tmp_path / "home.log")
    try:
        with Engine.open(pg_url, workers=1, node_id="b", **LEASE) as b:  # type: ignore[arg-type]
            b.register(*flows.ALL)
            _until(lambda: b.stats()["partitions"] == 32)  # the child gave half up
            name = next(
                f"q{i}"
                for i in range(10_000)
                if not b._parts.node.serves(partition_of(home_key(f"q{i}"), 64))  # type: ignore[union-attr]  # noqa: SLF001
            )
            _order(home, f"queue {name} 3")
            b.register(Queue(name, concurrency=3))
            ids = [f"k{i}" for i in range(30)]
            for i, wid in enumerate(ids):
                if i % 2:
                    _order(home, f"enqueue {name} {wid} {ledger}")
                else:
                    b.enqueue(name, flows.chain, str(ledger), *CHAIN, workflow_id=wid)
            _until(lambda: sum(b.describe(w).status.is_terminal for w in ids) >= 6, 60)
            queued = [w for w in ids if b.describe(w).status is WorkflowStatus.QUEUED]
            kill_engine(home)  # the queue's home dies with slots given and runs waiting
            assert queued  # (some still waited for a slot when it died)
            _until(lambda: b.stats()["partitions"] == 64)  # its leases expired: b took them
            _until(lambda: _closed(b, ids), timeout=120)
            histories = [b.history(w) for w in ids]
            assert all(isinstance(h[-1], ev.WorkflowCompleted) for h in histories)
            assert all(len(_dequeued(h)) == 1 for h in histories)
            intervals = [i for h in histories if (i := interval(h)) is not None]
            assert most_at_once(intervals) <= 3
            lines = ledger.read_text().splitlines()
            for h in histories:  # no activity ran again after its completion was recorded
                for value in h[-1].result:  # type: ignore[attr-defined]
                    step, token = value.split("@", 1)
                    done = lines.index(f"done {step} {token}")
                    assert not [ln for ln in lines[done + 1 :] if ln.startswith(f"start {step} ")]
    finally:
        with contextlib.suppress(ProcessLookupError):
            if home.poll() is None:
                kill_engine(home)
