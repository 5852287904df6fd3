"""The Recorder: one writer thread, group commit, per-caller outcomes, cached heads."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, wait

import pytest

from aion_actors.core import AionError, EngineClosed, Event, SequenceConflict, StoreUnavailable
from aion_actors.core import events as ev
from aion_actors.store import AppendRequest, EventStore, Recorder
from tests.store.conftest import WAIT
from tests.store.helpers import seqs, signals, started


class HeldStore:
    """The real store behind a gate, so a test can decide what one batch holds."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.entered = threading.Event()
        self.release = threading.Event()
        self.batches: list[int] = []
        self.failures: dict[int, BaseException] = {}  # batch number -> what it raises

    def append_batch(self, requests: Sequence[AppendRequest]) -> list[list[Event] | AionError]:
        self.entered.set()
        assert self.release.wait(WAIT)
        self.batches.append(len(requests))
        if len(self.batches) in self.failures:
            raise self.failures[len(self.batches)]
        return self.store.append_batch(requests)

    def head(self, workflow_id: str, run_id: str) -> int:
        return self.store.head(workflow_id, run_id)

    def check_writable(self) -> None:
        self.store.check_writable()


@pytest.fixture
def recorder(store: EventStore) -> Iterator[Recorder]:
    with Recorder(store) as rec:
        yield rec


@pytest.fixture
def held(store: EventStore) -> Iterator[tuple[HeldStore, Recorder]]:
    gate = HeldStore(store)
    rec = Recorder(gate)  # type: ignore[arg-type]
    yield gate, rec
    gate.release.set()
    rec.close()


def test_submit_resolves_with_stamped_events_after_the_commit(
    store: EventStore, recorder: Recorder
) -> None:
    seen: list[list[Event]] = []
    called = threading.Event()

    def callback(done: Future[list[Event]]) -> None:
        seen.append(store.read("w", "r1"))
        called.set()

    future = recorder.submit("w", "r1", [started(), *signals(2)], 0)
    future.add_done_callback(callback)
    events = future.result(WAIT)
    assert seqs(events) == [1, 2, 3] and all(e.recorded_at for e in events)
    assert called.wait(WAIT)
    assert seen == [events]  # the callback already found them in the store
    assert recorder.append("w", "r1", signals(1), 3) == store.read("w", "r1", 4)


def test_requests_for_one_run_chain_inside_one_batch(held: tuple[HeldStore, Recorder]) -> None:
    gate, rec = held
    first = rec.submit("w", "other", signals(1), 0)
    assert gate.entered.wait(WAIT)  # the writer holds batch 1; the next ones queue up
    futures = [rec.submit("w", "r1", signals(2, batch=i), 2 * i) for i in range(10)]
    stale = rec.submit("w", "r1", signals(1), 4)
    gate.release.set()
    assert seqs(first.result(WAIT)) == [1]
    assert [seqs(f.result(WAIT)) for f in futures] == [[2 * i + 1, 2 * i + 2] for i in range(10)]
    with pytest.raises(SequenceConflict) as info:
        stale.result(WAIT)
    assert info.value.found == 20
    assert gate.batches == [1, 11]
    assert rec.head("w", "r1") == 20


def test_a_conflict_fails_only_its_caller(store: EventStore, recorder: Recorder) -> None:
    store.append("w", "b", signals(1), 0)
    outcomes = [
        recorder.submit("w", "a", signals(1), 0),
        recorder.submit("w", "b", signals(1), 0),
        recorder.submit("w", "c", signals(1), 0),
    ]
    wait(outcomes, WAIT)
    assert isinstance(outcomes[1].exception(), SequenceConflict)
    assert outcomes[0].exception() is None and outcomes[2].exception() is None
    with pytest.raises(SequenceConflict):
        recorder.append("w", "b", signals(1), 0)
    assert store.head("w", "a") == store.head("w", "c") == store.head("w", "b") == 1


def test_a_failing_batch_fails_all_its_callers_and_the_writer_carries_on(
    held: tuple[HeldStore, Recorder],
) -> None:
    gate, rec = held
    gate.failures[2] = OSError(5, "Input/output error")
    rec.submit("w", "first", signals(1), 0)
    assert gate.entered.wait(WAIT)
    doomed = [rec.submit("w", f"r{i}", signals(1), 0) for i in range(3)]
    gate.release.set()
    for future in doomed:
        assert isinstance(future.exception(WAIT), OSError)
    assert gate.batches == [1, 3]
    assert seqs(rec.append("w", "r0", signals(2), 0, timeout=WAIT)) == [1, 2]


def test_a_future_cancelled_while_queued_is_not_written(
    store: EventStore, held: tuple[HeldStore, Recorder]
) -> None:
    gate, rec = held
    rec.submit("w", "first", signals(1), 0)
    assert gate.entered.wait(WAIT)
    withdrawn = rec.submit("w", "r1", signals(1), 0)
    kept = rec.submit("w", "r2", signals(1), 0)
    assert withdrawn.cancel()
    gate.release.set()
    assert seqs(kept.result(WAIT)) == [1]
    assert store.read("w", "r1") == []


def test_close_commits_what_was_submitted_then_refuses(store: EventStore) -> None:
    rec = Recorder(store, max_batch=7)
    futures = [rec.submit("w", f"r{i % 5}", signals(1), i // 5) for i in range(100)]
    rec.close()
    assert all(f.done() and f.exception() is None for f in futures)
    assert [store.head("w", f"r{i}") for i in range(5)] == [20] * 5
    with pytest.raises(EngineClosed):
        rec.submit("w", "r0", signals(1), 20)
    with pytest.raises(EngineClosed):
        rec.append("w", "r0", signals(1), 20)
    rec.close()


def test_head_is_cached_loaded_on_a_miss_and_follows_commits(
    store: EventStore, recorder: Recorder
) -> None:
    store.append("w", "r1", signals(4), 0)
    assert recorder.head("w", "r1") == 4
    assert recorder.head("w", "unknown") == 0
    recorder.append("w", "r1", signals(2), 4)
    recorder.append("w", "unknown", signals(3), 0)
    assert recorder.head("w", "r1") == 6 and recorder.head("w", "unknown") == 3
    recorder.append("w", "r1", [ev.WorkflowCompleted()], 6)
    assert recorder.head("w", "r1") == 7


def test_many_threads_own_runs_and_contend_on_shared_ones(
    store: EventStore, recorder: Recorder
) -> None:
    """Owned runs never conflict; contended ones retry from the head and lose nothing."""
    rounds, errors = 40, []

    def own(index: int) -> None:
        head = 0
        for k in range(rounds):
            events = recorder.append(
                "w", f"own{index}", signals(random.randint(1, 4), batch=k), head
            )
            head = events[-1].seq

    def contend(index: int) -> None:
        done = 0
        while done < rounds // 4:
            head = recorder.head("w", "shared")
            try:
                recorder.append("w", "shared", signals(2, batch=index * 1000 + done), head)
            except SequenceConflict:
                continue
            done += 1

    def guarded(target: object, index: int) -> None:
        try:
            target(index)  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(own, i)) for i in range(24)]
    threads += [threading.Thread(target=guarded, args=(contend, i)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert errors == []
    for index in range(24):
        events = store.read("w", f"own{index}")
        assert seqs(events) == list(range(1, len(events) + 1))
        assert sorted({e.payload["batch"] for e in events}) == list(range(rounds))  # type: ignore[attr-defined]
        assert recorder.head("w", f"own{index}") == store.head("w", f"own{index}")
    shared = store.read("w", "shared")
    assert seqs(shared) == list(range(1, 8 * (rounds // 4) * 2 + 1))
    batches = [e.payload["batch"] for e in shared]  # type: ignore[attr-defined]
    assert batches[::2] == batches[1::2]  # every append landed whole
    assert len(set(batches)) == 8 * (rounds // 4)


def test_futures_are_real_futures(recorder: Recorder) -> None:
    future = recorder.submit("w", "r1", signals(1), 0)
    assert isinstance(future, Future)
    assert future.result(WAIT)[0].seq == 1


def test_append_then_calls_back_after_the_commit_with_the_events_or_the_error(
    store: EventStore, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[tuple[list[int] | None, str | None, list[int]]] = []
    done = threading.Event()

    def then(events: list[Event] | None, error: BaseException | None) -> None:
        committed = seqs(store.read("w", "r1"))  # visible to readers by now
        calls.append(
            (
                None if events is None else seqs(events),
                type(error).__name__ if error else None,
                committed,
            )
        )
        if len(calls) == 2:
            done.set()

    first = recorder.append_then("w", "r1", [started(), *signals(1)], 0, then)
    assert seqs(first.wait(WAIT)) == [1, 2]
    stale = recorder.append_then("w", "r1", signals(1), 0, then)
    with pytest.raises(SequenceConflict):
        stale.wait(WAIT)
    assert done.wait(WAIT)
    assert calls == [([1, 2], None, [1, 2]), (None, "SequenceConflict", [1, 2])]

    def broken(events: list[Event] | None, error: BaseException | None) -> None:
        raise RuntimeError("callback bug")

    recorder.append_then("w", "r1", signals(1), 2, broken).wait(WAIT)
    assert seqs(recorder.submit("w", "r1", signals(1), 3).result(WAIT)) == [4]
    assert "commit callback raised" in caplog.text


def test_append_all_commits_together_and_answers_each_request(
    store: EventStore, held: tuple[HeldStore, Recorder]
) -> None:
    gate, rec = held
    gate.release.set()
    store.append("w", "taken", signals(1), 0)
    requests = [AppendRequest("w", run, tuple(signals(2)), 0) for run in ("a", "taken", "b")]
    first, conflict, last = rec.append_all(requests)
    assert isinstance(conflict, SequenceConflict) and conflict.found == 1
    assert isinstance(first, list) and isinstance(last, list)
    assert seqs(first) == seqs(last) == [1, 2]
    assert gate.batches == [3]
    assert store.head("w", "a") == store.head("w", "b") == 2 and store.head("w", "taken") == 1


def test_stats_count_every_commit_and_report_latency_and_batch_size_of_recent_ones(
    store: EventStore, recorder: Recorder
) -> None:
    assert recorder.stats()["commits"] == 0
    for n in range(3):
        recorder.append(f"s{n}", "r1", [started()], 0, WAIT)
    stats = recorder.stats()
    assert stats["commits"] == 3 and stats["commit_batch_p50"] == 1
    assert 0 <= stats["commit_p50_us"] <= stats["commit_p99_us"]


def test_a_lone_append_the_store_refuses_has_the_writer_try_the_store_until_it_writes_again(
    store: EventStore,
) -> None:
    """Committed in the caller's thread (`alone`) while the writer slept with nothing due:
    the refusal wakes the writer, whose small writes find the store writable again and
    say so — so the runs that wait for it come back (before: nobody tried, nor told)."""
    gate = HeldStore(store)
    gate.release.set()
    gate.failures[1] = StoreUnavailable("the test's store", "it refused a write")
    back = threading.Event()
    with Recorder(gate) as rec:  # type: ignore[arg-type]
        rec.when_available(back.set)
        heard: list[BaseException | None] = []
        rec.append_then("w", "r1", [started()], 0, lambda _, e: heard.append(e), alone=True)
        assert [type(e) for e in heard] == [StoreUnavailable]  # (in this thread)
        assert back.wait(WAIT)
        assert rec.unavailable is None
