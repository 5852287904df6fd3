"""Conformance: appends are ordered, all or nothing, and guarded by `expected_seq`."""

from __future__ import annotations

import threading
import time

import pytest

from aion_actors.core import EngineClosed, PayloadError, SequenceConflict, WorkflowClosed
from aion_actors.core import events as ev
from aion_actors.store import AppendRequest, EventStore
from tests.store.helpers import seqs, signals, started


def test_reads_return_events_in_order_stamped(store: EventStore) -> None:
    before = time.time_ns()
    head = store.append("w", "r1", [started(), *signals(4)], 0)
    events = store.read("w", "r1")
    assert head == 5 and store.head("w", "r1") == 5
    assert seqs(events) == [1, 2, 3, 4, 5]
    assert [e.payload["i"] for e in events[1:]] == [0, 1, 2, 3]  # type: ignore[attr-defined]
    assert all(before <= e.recorded_at <= time.time_ns() for e in events)
    assert [e.recorded_at for e in events] == sorted(e.recorded_at for e in events)


def test_a_given_recorded_at_is_kept(store: EventStore) -> None:
    store.append("w", "r1", [ev.SignalReceived(name="s", recorded_at=123)], 0)
    assert store.read("w", "r1")[0].recorded_at == 123


def test_suffix_reads_and_reads_past_the_head(store: EventStore) -> None:
    store.append("w", "r1", signals(10), 0)
    assert seqs(store.read("w", "r1", from_seq=7)) == [7, 8, 9, 10]
    assert seqs(store.read("w", "r1", from_seq=10)) == [10]
    assert store.read("w", "r1", from_seq=11) == []
    assert store.read("w", "r1", from_seq=2**70) == []
    assert seqs(store.read("w", "r1", from_seq=0)) == list(range(1, 11))


def test_ranged_reads_stop_at_until_or_the_head(store: EventStore) -> None:
    store.append("w", "r1", signals(10), 0)
    assert seqs(store.read("w", "r1", until=1)) == [1]
    assert seqs(store.read("w", "r1", from_seq=3, until=5)) == [3, 4, 5]
    assert seqs(store.read("w", "r1", from_seq=9, until=2**70)) == [9, 10]
    assert store.read("w", "r1", from_seq=6, until=5) == []
    assert store.read("w", "r1", until=0) == []
    assert store.read("nobody", "r1", until=1) == []


def test_unknown_runs_read_empty(store: EventStore) -> None:
    store.append("w", "r1", signals(2), 0)
    assert store.read("w", "r2") == []
    assert store.read("w2", "r1") == []
    assert store.read("w", "r") == []  # a prefix of another run's key is another run
    assert store.head("nobody", "r1") == 0
    assert store.get_run("nobody", "r1") is None


def test_runs_are_independent(store: EventStore) -> None:
    store.append("w", "r1", signals(3), 0)
    store.append("w", "r10", signals(2), 0)
    store.append("w1", "r", signals(1), 0)
    assert seqs(store.read("w", "r1")) == [1, 2, 3]
    assert seqs(store.read("w", "r10")) == [1, 2]
    assert seqs(store.read("w1", "r")) == [1]


def test_five_batches_of_25_give_seq_1_to_125(store: EventStore) -> None:
    head = 0
    for batch in range(5):
        head = store.append("w", "r1", signals(25, batch=batch), head)
    events = store.read("w", "r1")
    assert seqs(events) == list(range(1, 126))
    assert [e.payload["batch"] for e in events] == [i // 25 for i in range(125)]  # type: ignore[attr-defined]


def test_stale_expected_seq_conflicts_and_writes_nothing(store: EventStore) -> None:
    store.append("w", "r1", signals(3), 0)
    for stale in (0, 2, 4):
        with pytest.raises(SequenceConflict) as info:
            store.append("w", "r1", signals(5, batch=9), stale)
        assert (info.value.expected, info.value.found) == (stale, 3)
        assert info.value.workflow_id == "w" and info.value.run_id == "r1"
    assert store.head("w", "r1") == 3
    assert seqs(store.read("w", "r1")) == [1, 2, 3]


def test_an_append_with_a_bad_payload_writes_none_of_its_events(store: EventStore) -> None:
    store.append("w", "r1", signals(2), 0)
    bad = [*signals(2), ev.SignalReceived(name="s", payload={"items": [1, {2}]}), *signals(1)]
    with pytest.raises(PayloadError, match=r'SignalReceived\.payload\["items"\]\[1\]: set'):
        store.append("w", "r1", bad, 2)
    assert store.head("w", "r1") == 2 and len(store.read("w", "r1")) == 2


def test_invalid_ids_are_refused(store: EventStore) -> None:
    with pytest.raises(PayloadError, match="workflow_id: must not contain NUL"):
        store.append("w\x00x", "r1", signals(1), 0)
    with pytest.raises(PayloadError, match="run_id: must not be empty"):
        store.read("w", "")
    with pytest.raises(PayloadError, match="events"):
        store.append("w", "r1", ["not an event"], 0)  # type: ignore[list-item]
    assert store.runs() == []


def test_an_empty_append_checks_the_head_and_writes_nothing(store: EventStore) -> None:
    assert store.append("w", "r1", [], 0) == 0
    assert store.get_run("w", "r1") is None
    store.append("w", "r1", signals(1), 0)
    with pytest.raises(SequenceConflict):
        store.append("w", "r1", [], 0)


def _race(store: EventStore, run: str, writers: int) -> list[object]:
    """`writers` threads append to `run` at once, all expecting head 2."""
    barrier = threading.Barrier(writers)
    outcomes: list[object] = []

    def writer(batch: int) -> None:
        barrier.wait()
        try:
            outcomes.append(store.append("w", run, signals(3, batch=batch), 2))
        except SequenceConflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=writer, args=(b,)) for b in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_appends_at_one_expected_seq_exactly_one_wins(store: EventStore) -> None:
    for attempt in range(10):
        run = f"r{attempt}"
        store.append("w", run, signals(2), 0)
        outcomes = _race(store, run, 4)
        assert outcomes.count(5) == 1
        assert sum(isinstance(o, SequenceConflict) for o in outcomes) == 3
        events = store.read("w", run)
        assert seqs(events) == [1, 2, 3, 4, 5]
        assert len({e.payload["batch"] for e in events[2:]}) == 1  # type: ignore[attr-defined]


def test_append_batch_fails_only_the_requests_that_are_wrong(store: EventStore) -> None:
    store.append("w", "b", signals(1), 0)
    results = store.append_batch(
        [
            AppendRequest("w", "a", tuple(signals(2)), 0),
            AppendRequest("w", "b", tuple(signals(2)), 0),  # stale: b's head is 1
            AppendRequest("w", "c", tuple(signals(1)), 0),
            AppendRequest("w", "d", (ev.SignalReceived(name="s", payload={1j}),), 0),
            AppendRequest("w", "b", tuple(signals(1)), 1),
        ]
    )
    a, b, c, d, b2 = results
    assert isinstance(a, list) and seqs(a) == [1, 2]
    assert isinstance(b, SequenceConflict) and (b.expected, b.found) == (0, 1)
    assert isinstance(c, list) and seqs(c) == [1]
    assert isinstance(d, PayloadError)
    assert isinstance(b2, list) and seqs(b2) == [2]
    assert [store.head("w", r) for r in "abcd"] == [2, 2, 1, 0]
    assert store.read("w", "a") == a and store.read("w", "b")[1:] == b2


def test_append_batch_chains_requests_for_one_run(store: EventStore) -> None:
    results = store.append_batch(
        [
            AppendRequest("w", "r1", tuple(signals(3)), 0),
            AppendRequest("w", "r1", tuple(signals(2, batch=1)), 3),
            AppendRequest("w", "r1", tuple(signals(1, batch=2)), 3),  # stale within the batch
            AppendRequest("w", "r1", tuple(signals(1, batch=3)), 5),
        ]
    )
    first, second, stale, third = results
    assert isinstance(stale, SequenceConflict) and stale.found == 5
    assert [seqs(r) for r in (first, second, third) if isinstance(r, list)] == [
        [1, 2, 3],
        [4, 5],
        [6],
    ]
    assert [e.payload["batch"] for e in store.read("w", "r1")] == [0, 0, 0, 1, 1, 3]  # type: ignore[attr-defined]


def test_returned_events_equal_what_is_read_back(store: EventStore) -> None:
    (result,) = store.append_batch([AppendRequest("w", "r1", (started(), *signals(2)), 0)])
    assert isinstance(result, list)
    assert store.read("w", "r1") == result


def test_a_closed_store_refuses_work(store: EventStore) -> None:
    store.append("w", "r1", signals(1), 0)
    store.close()
    store.close()
    with pytest.raises(EngineClosed):
        store.read("w", "r1")
    with pytest.raises(EngineClosed):
        store.append("w", "r1", signals(1), 1)


def test_nothing_is_ever_appended_after_a_run_closed(store: EventStore) -> None:
    """Every store refuses, in its transaction, an append behind a closing event."""
    store.append("w", "r", [started(), ev.WorkflowTerminated(reason="done")], 0)
    for late in (ev.SignalReceived(name="s", payload=1), ev.RunCrashed(pid=1, error={})):
        [refused] = store.append_batch([AppendRequest("w", "r", (late,), 2)])
        assert isinstance(refused, WorkflowClosed), refused
        assert "terminated" in str(refused)
    assert [e.kind for e in store.read("w", "r")] == ["WorkflowStarted", "WorkflowTerminated"]
