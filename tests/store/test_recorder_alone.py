"""`Recorder.append_then(alone=True)`: a lone append commits in its caller's thread,
and only while the writer is idle with nothing queued; order and close are kept."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from aion_actors.core import Event
from aion_actors.store import EventStore, Recorder
from aion_actors.store.recorder import Then
from tests.store.conftest import WAIT
from tests.store.helpers import seqs, signals, started
from tests.store.test_recorder import HeldStore

Call = tuple[list[int] | None, str]


def _then(calls: list[Call]) -> Then:
    def then(events: list[Event] | None, error: BaseException | None) -> None:
        calls.append((None if events is None else seqs(events), threading.current_thread().name))

    return then


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


@pytest.mark.timeout(60)
def test_a_lone_append_is_committed_and_called_back_in_the_callers_thread_before_returning(
    store: EventStore, recorder: Recorder
) -> None:
    calls: list[Call] = []
    commit = recorder.append_then("w", "r1", [started(), *signals(1)], 0, _then(calls), alone=True)
    assert calls == [([1, 2], threading.current_thread().name)]  # done before returning
    assert seqs(commit.wait(0)) == [1, 2]
    assert seqs(store.read("w", "r1")) == [1, 2]
    assert recorder.head("w", "r1") == 2


@pytest.mark.timeout(60)
def test_an_append_alone_goes_to_the_writer_while_the_writer_commits_another_batch(
    held: tuple[HeldStore, Recorder],
) -> None:
    gate, rec = held
    first = rec.submit("w", "a", [started(run_id="a")], 0)
    assert gate.entered.wait(WAIT)  # the writer is inside its commit
    calls: list[Call] = []
    second = rec.append_then("w", "b", [started(run_id="b")], 0, _then(calls), alone=True)
    assert calls == []  # queued, not committed beside the writer's batch
    gate.release.set()
    assert seqs(first.result(WAIT)) == [1]
    assert seqs(second.wait(WAIT)) == [1]
    assert calls == [([1], "aion-recorder")]
    assert gate.batches == [1, 1]


@pytest.mark.timeout(60)
def test_what_is_submitted_during_a_lone_commit_waits_and_the_writer_commits_it_after(
    held: tuple[HeldStore, Recorder],
) -> None:
    gate, rec = held
    calls: list[Call] = []
    lone = threading.Thread(
        target=rec.append_then,
        args=("w", "r1", [started(), *signals(1)], 0, _then(calls)),
        kwargs={"alone": True},
        name="lone",
    )
    lone.start()
    assert gate.entered.wait(WAIT)  # the lone caller is inside its own commit
    gate.entered.clear()
    later = rec.submit("w", "r1", signals(1), 2)  # chains on the lone commit's head
    assert not gate.entered.wait(0.05)  # the writer does not commit beside it
    gate.release.set()
    lone.join(WAIT)
    assert seqs(later.result(WAIT)) == [3]
    assert calls == [([1, 2], "lone")]
    assert gate.batches == [1, 1]


@pytest.mark.timeout(60)
def test_close_waits_for_a_lone_commit_in_flight_then_refuses(
    store: EventStore, held: tuple[HeldStore, Recorder]
) -> None:
    gate, rec = held
    calls: list[Call] = []
    lone = threading.Thread(
        target=rec.append_then,
        args=("w", "r1", [started()], 0, _then(calls)),
        kwargs={"alone": True},
    )
    lone.start()
    assert gate.entered.wait(WAIT)
    closer = threading.Thread(target=rec.close)
    closer.start()
    closer.join(0.05)
    assert closer.is_alive()  # the store may not close under the lone commit
    gate.release.set()
    closer.join(WAIT)
    lone.join(WAIT)
    assert not closer.is_alive() and calls == [([1], lone.name)]
    assert seqs(store.read("w", "r1")) == [1]
