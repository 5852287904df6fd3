"""`Dispatcher.lend`: a thread outside the dispatcher runs the turn it made due, when quiet."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pykka
import pytest

from supervisor import Dispatcher, PooledActor
from tests.supervisor.helpers import TIMEOUT, wait_until

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def dispatcher() -> Iterator[Dispatcher]:
    pool = Dispatcher(2, name="lend-pool", throughput=4)
    yield pool
    Threads.made.clear()
    pykka.ActorRegistry.stop_all(timeout=TIMEOUT)
    pool.close(TIMEOUT)


class Threads(PooledActor):
    """Notes which thread ran each message; "block" waits for `release` on a dispatcher thread."""

    made: ClassVar[list[Threads]] = []

    def __init__(self, dispatcher: Dispatcher) -> None:
        super().__init__(dispatcher)
        Threads.made.append(self)
        self.ran: list[tuple[Any, str]] = []
        self.blocking = threading.Event()
        self.release = threading.Event()
        self.done = threading.Event()
        self.busy = self.overlapped = False

    def on_receive(self, message: Any) -> Any:
        self.overlapped = self.overlapped or self.busy
        self.busy = True
        time.sleep(0)  # a chance for another thread to run this actor at once, were it let
        self.busy = False
        if message == "block":
            self.blocking.set()
            self.release.wait(TIMEOUT)
        self.ran.append((message, threading.current_thread().name))
        if message == "last":
            self.done.set()


def _proxy(ref: pykka.ActorRef[Any]) -> Threads:
    (actor,) = [a for a in Threads.made if a.actor_ref is ref or a.actor_urn == ref.actor_urn]
    return actor


def _started(dispatcher: Dispatcher) -> tuple[Any, Any]:
    """A `Threads` actor on `dispatcher`, idle after its start: its ref and its proxy."""
    ref = Threads.start(dispatcher)
    actor = _proxy(ref)
    wait_until(lambda: not actor.actor_inbox.busy, "the actor to start")
    return ref, actor


def _in_thread(fn: Any) -> str:
    """Run `fn` in a fresh thread named "lender"; its name."""
    thread = threading.Thread(target=fn, name="lender")
    thread.start()
    thread.join(TIMEOUT)
    return thread.name


def test_a_turn_made_due_in_a_lending_window_runs_in_that_thread_once_it_closes(
    dispatcher: Dispatcher,
) -> None:
    ref, actor = _started(dispatcher)
    inside: list[list[Any]] = []

    def lend() -> None:
        with dispatcher.lend():
            ref.tell("one")
            ref.tell("last")
            inside.append(list(actor.ran))  # held: nothing ran before the window closed

    _in_thread(lend)
    assert inside == [[]]
    assert actor.ran == [("one", "lender"), ("last", "lender")]


def test_a_busy_dispatcher_runs_what_a_lending_window_makes_due_on_its_own_threads(
    dispatcher: Dispatcher,
) -> None:
    busy, ref = Threads.start(dispatcher), Threads.start(dispatcher)
    blocker, actor = _proxy(busy), _proxy(ref)
    wait_until(lambda: not actor.actor_inbox.busy, "the actor to start")
    busy.tell("block")
    assert blocker.blocking.wait(TIMEOUT)

    def lend() -> None:
        with dispatcher.lend():
            ref.tell("last")

    _in_thread(lend)
    blocker.release.set()
    assert actor.done.wait(TIMEOUT)
    assert actor.ran[0][1].startswith("lend-pool")


def test_without_a_window_a_tell_never_runs_in_the_senders_thread(
    dispatcher: Dispatcher,
) -> None:
    ref, actor = _started(dispatcher)
    _in_thread(lambda: ref.tell("last"))
    assert actor.done.wait(TIMEOUT)
    assert actor.ran[0][1].startswith("lend-pool")


def test_a_lent_turn_keeps_messages_in_order_and_one_at_a_time(
    dispatcher: Dispatcher,
) -> None:
    ref, actor = _started(dispatcher)

    def lend(first: int) -> None:
        for n in range(first, first + 50):
            with dispatcher.lend():
                ref.tell(n)

    senders = [threading.Thread(target=lend, args=(k * 1000,)) for k in range(4)]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join(TIMEOUT)
    ref.tell("last")
    assert actor.done.wait(TIMEOUT)
    got = [m for m, _ in actor.ran if m != "last"]
    assert len(got) == 200
    assert not actor.overlapped
    for k in range(4):  # each sender's messages in the order it sent them
        assert [m for m in got if k * 1000 <= m < k * 1000 + 50] == list(
            range(k * 1000, k * 1000 + 50)
        )


def test_a_batch_window_queues_the_turns_it_made_due_together_when_it_closes(
    dispatcher: Dispatcher,
) -> None:
    refs = [Threads.start(dispatcher) for _ in range(3)]
    actors = [_proxy(ref) for ref in refs]
    wait_until(lambda: not any(a.actor_inbox.busy for a in actors), "the actors to start")
    with dispatcher.batch():
        for ref in refs:
            ref.tell("last")
        time.sleep(0.05)  # were they queued, the dispatcher would have run them by now
        assert [a.ran for a in actors] == [[], [], []]
    for actor in actors:
        assert actor.done.wait(TIMEOUT)
        assert actor.ran[0][1].startswith("lend-pool")  # on the dispatcher, not here


def test_a_lent_turn_with_a_budget_runs_that_many_messages_and_queues_the_rest(
    dispatcher: Dispatcher,
) -> None:
    ref, actor = _started(dispatcher)

    def lend() -> None:
        with dispatcher.lend(2):
            for message in ("one", "two", "three", "last"):
                ref.tell(message)

    _in_thread(lend)
    assert actor.done.wait(TIMEOUT)
    assert [m for m, _ in actor.ran] == ["one", "two", "three", "last"]
    assert [t for _, t in actor.ran[:2]] == ["lender", "lender"]
    assert all(t.startswith("lend-pool") for _, t in actor.ran[2:]), actor.ran


def test_a_lending_window_whose_block_raises_still_runs_the_turns_it_held(
    dispatcher: Dispatcher,
) -> None:
    ref, actor = _started(dispatcher)
    raised: list[BaseException] = []

    def lend() -> None:
        try:
            with dispatcher.lend():
                ref.tell("last")
                raise KeyError("the sender's own error")
        except KeyError as exc:
            raised.append(exc)

    _in_thread(lend)
    assert [type(e) for e in raised] == [KeyError]  # the window does not swallow it
    assert actor.ran == [("last", "lender")]


def test_a_window_nested_in_another_leaves_its_turns_to_the_outer_one_and_needs_no_generator(
    dispatcher: Dispatcher,
) -> None:
    ref, actor = _started(dispatcher)
    after_inner: list[list[Any]] = []
    window = dispatcher.lend()
    assert not hasattr(window, "gen")  # a class context, not @contextmanager's generator

    def lend() -> None:
        with dispatcher.lend(), dispatcher.batch():
            ref.tell("last")
        after_inner.append(list(actor.ran))

    def outer() -> None:
        with dispatcher.lend():
            lend()
            assert actor.ran == []  # the inner window closed; the outer still holds it

    _in_thread(outer)
    assert after_inner == [[]]
    assert actor.ran == [("last", "lender")]
