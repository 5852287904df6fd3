"""PooledActor and Dispatcher: Pykka actors on shared threads, alone and supervised."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any, ClassVar

import pykka
import pytest

from supervisor import (
    ChildSpec,
    Dispatcher,
    ExitReason,
    PooledActor,
    RestartPolicy,
    Supervisor,
    _pykka,
)
from tests.supervisor.helpers import TIMEOUT, wait_until


@pytest.fixture
def dispatcher() -> Iterator[Dispatcher]:
    baseline = threading.active_count()
    pool = Dispatcher(3, name="test-pool", throughput=4)
    yield pool
    pykka.ActorRegistry.stop_all(timeout=TIMEOUT)
    pool.close(TIMEOUT)
    wait_until(lambda: threading.active_count() <= baseline, "dispatcher threads to end")


class Recorder(PooledActor):
    """Records what it receives, and whether two of its messages ever ran at once."""

    def __init__(self, dispatcher: Dispatcher, fail_start: bool = False) -> None:
        super().__init__(dispatcher)
        self.fail_start = fail_start
        self.seen: list[Any] = []
        self.busy = False
        self.overlapped = False
        self.threads: set[str] = set()
        self.stopped = threading.Event()

    def on_start(self) -> None:
        if self.fail_start:
            raise RuntimeError("no start today")

    def on_receive(self, message: Any) -> Any:
        if self.busy:
            self.overlapped = True
        self.busy = True
        try:
            if message == "crash":
                raise ValueError("crashed on purpose")
            self.threads.add(threading.current_thread().name)
            time.sleep(0.0001)
            self.seen.append(message)
            return ("echo", message)
        finally:
            self.busy = False

    def on_stop(self) -> None:
        self.stopped.set()


def test_messages_arrive_in_order_one_at_a_time_on_the_dispatchers_threads(
    dispatcher: Dispatcher,
) -> None:
    refs = [Recorder.start(dispatcher) for _ in range(5)]
    senders = []
    for ref in refs:

        def send(target: pykka.ActorRef[Any] = ref) -> None:
            for n in range(200):
                target.tell(n)

        senders.append(threading.Thread(target=send))
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    for ref in refs:
        assert ref.ask("last", timeout=TIMEOUT) == ("echo", "last")
        actor = ref.proxy().seen.get(timeout=TIMEOUT)
        assert actor == [*range(200), "last"]
        assert not ref.proxy().overlapped.get(timeout=TIMEOUT)
        assert all(
            name.startswith("test-pool-") for name in ref.proxy().threads.get(timeout=TIMEOUT)
        )
    assert threading.active_count() < 20  # 5 actors, 3 threads: no thread per actor


def test_a_crash_in_a_told_message_stops_the_actor_and_calls_on_failure(
    dispatcher: Dispatcher,
) -> None:
    ref = Recorder.start(dispatcher)
    ref.tell("crash")
    wait_until(lambda: not ref.is_alive(), "the crashed actor to stop")
    with pytest.raises(pykka.ActorDeadError):
        ref.tell("after")


def test_an_exception_answering_an_ask_goes_back_to_the_asker(dispatcher: Dispatcher) -> None:
    ref = Recorder.start(dispatcher)
    with pytest.raises(ValueError, match="on purpose"):
        ref.ask("crash", timeout=TIMEOUT)
    assert ref.ask("still here", timeout=TIMEOUT) == ("echo", "still here")


def test_stop_runs_on_stop_and_later_asks_fail_with_actor_dead(
    dispatcher: Dispatcher,
) -> None:
    ref = Recorder.start(dispatcher)
    stopped = ref.proxy().stopped.get(timeout=TIMEOUT)
    ref.stop(timeout=TIMEOUT)
    assert stopped.is_set()
    assert not ref.is_alive()
    with pytest.raises(pykka.ActorDeadError):
        ref.ask("after", timeout=TIMEOUT)


class StopsInTurn(Recorder):
    """Stops from inside its turn when told "last"; holds its turn on "hold" until let go."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        super().__init__(dispatcher)
        self.holding, self.let_go = threading.Event(), threading.Event()
        self.stops: list[str] = []  # one per `stop()` call: each tells it a stop message

    def on_receive(self, message: Any) -> Any:
        if message == "hold":
            self.holding.set()
            self.let_go.wait(TIMEOUT)
        self.seen.append(message)
        if message == "last":
            self.stop_in_turn()
        return None

    def stop(self) -> None:
        self.stops.append("stop")
        super().stop()


def test_stop_in_turn_stops_at_once_with_nothing_queued_and_after_the_queue_otherwise(
    dispatcher: Dispatcher,
) -> None:
    alone = StopsInTurn.start(dispatcher)
    stopped, stops = alone.proxy().stopped.get(timeout=TIMEOUT), alone.proxy().stops.get()
    assert alone.ask("last", timeout=TIMEOUT) is None  # answered, from the turn that stopped
    assert stopped.is_set() and not alone.is_alive()
    assert stops == []  # stopped within its turn: no stop message
    with pytest.raises(pykka.ActorDeadError):
        alone.ask("after", timeout=TIMEOUT)

    queued = StopsInTurn.start(dispatcher)
    actor = queued.proxy()
    held, go = actor.holding.get(timeout=TIMEOUT), actor.let_go.get(timeout=TIMEOUT)
    stopped, seen, stops = (actor.stopped.get(), actor.seen.get(), actor.stops.get())
    queued.tell("hold")
    assert held.wait(TIMEOUT)
    queued.tell("last")
    queued.tell("behind")  # queued when "last" stops the actor: handled first
    go.set()
    assert stopped.wait(TIMEOUT)
    assert seen == ["hold", "last", "behind"]
    assert stops == ["stop"]  # a stop message, behind "behind"


def test_a_sealed_inbox_forwards_what_was_queued_and_what_comes_later(
    dispatcher: Dispatcher,
) -> None:
    forwarded: list[Any] = []
    gate = threading.Event()

    class Sealer(PooledActor):
        def on_receive(self, message: Any) -> None:
            if message == "hold":
                gate.wait(TIMEOUT)

        def on_stop(self) -> None:
            self.seal_inbox(forwarded.append)

    ref = Sealer.start(dispatcher)
    ref.tell("hold")
    ref.stop(block=False)
    ref.tell("queued")
    gate.set()
    wait_until(lambda: forwarded == ["queued"], "the queued message to be forwarded")
    ref.actor_inbox.put(_pykka.envelope("late"))
    assert forwarded == ["queued", "late"]


def test_one_busy_actor_does_not_starve_the_others() -> None:
    pool = Dispatcher(1, name="solo", throughput=2)
    try:
        started = threading.Event()

        class Chatty(PooledActor):
            def on_receive(self, message: Any) -> Any:
                started.set()
                if message == "again":
                    self.actor_ref.tell("again")  # keeps its own inbox full forever
                return message

        chatty = Chatty.start(pool)
        other = Recorder.start(pool)
        chatty.tell("again")
        assert started.wait(TIMEOUT)
        assert other.ask("hello", timeout=TIMEOUT) == ("echo", "hello")
        pykka.ActorRegistry.stop_all(timeout=TIMEOUT)
    finally:
        pool.close(TIMEOUT)


def test_dispatcher_refuses_no_threads() -> None:
    with pytest.raises(ValueError, match="threads=0"):
        Dispatcher(0)


def test_supervised_pooled_actor_restarts_with_a_new_pid_after_a_crash(
    dispatcher: Dispatcher, start_sup: Any
) -> None:
    exits: list[ExitReason] = []
    sup: Supervisor = start_sup(RestartPolicy(max_restarts=3, within_seconds=10), name="pooled")
    info = sup.start_child(
        ChildSpec(
            key="rec",
            actor=Recorder,
            args=(dispatcher,),
            on_exit=lambda _info, reason, _exc: exits.append(reason),
        )
    )
    info.ref.tell("crash")

    def restarted() -> bool:
        now = sup.lookup("rec")
        return now is not None and now.pid != info.pid and now.ref.is_alive()

    wait_until(restarted, "the pooled child to restart")
    assert exits and exits[0].abnormal
    now = sup.lookup("rec")
    assert now is not None
    assert now.ref.ask("ping", timeout=TIMEOUT) == ("echo", "ping")


def test_a_pooled_child_whose_on_start_fails_is_a_start_failure(
    dispatcher: Dispatcher, start_sup: Any
) -> None:
    sup: Supervisor = start_sup(
        RestartPolicy(max_restarts=1, within_seconds=10), name="pooled-start"
    )
    with pytest.raises(Exception, match="no start today"):
        sup.start_child(
            ChildSpec(key="bad", actor=Recorder, args=(dispatcher,), kwargs={"fail_start": True})
        )
    assert sup.lookup("bad") is None


def test_an_actor_blocked_in_a_handler_does_not_hold_up_the_others() -> None:
    pool = Dispatcher(2, name="lend", stall_after=0.02)
    release = threading.Event()
    try:

        class Stuck(PooledActor):
            def on_receive(self, message: Any) -> None:
                release.wait(TIMEOUT)

        stuck = Stuck.start(pool)
        other = Recorder.start(pool)
        stuck.tell("block")
        assert other.ask("hello", timeout=TIMEOUT) == ("echo", "hello")
        release.set()
        pykka.ActorRegistry.stop_all(timeout=TIMEOUT)
    finally:
        release.set()
        pool.close(TIMEOUT)


def test_close_gives_up_on_a_handler_that_never_returns_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = Dispatcher(1, name="stuck-pool")
    release = threading.Event()
    entered = threading.Event()

    class Forever(PooledActor):
        def on_receive(self, message: Any) -> None:
            entered.set()
            release.wait(TIMEOUT)

    ref = Forever.start(pool)
    ref.tell("loop")
    assert entered.wait(TIMEOUT)
    began = time.monotonic()
    pool.close(timeout=0.2)
    assert time.monotonic() - began < TIMEOUT
    assert "stuck-pool-0 still inside a handler" in caplog.text
    release.set()
    wait_until(
        lambda: all(t.name != "stuck-pool-0" for t in threading.enumerate()),
        "the released thread to end",
    )
    pykka.ActorRegistry.unregister(ref)  # closed under it: nothing will run its stop


class Counted(Recorder):
    """A `Recorder` whose instances a test can watch die."""

    alive: ClassVar[list[weakref.ref[Counted]]] = []

    def __init__(self, dispatcher: Dispatcher, seal: bool) -> None:
        super().__init__(dispatcher)
        self.seal = seal
        Counted.alive.append(weakref.ref(self))

    def on_stop(self) -> None:
        if self.seal:  # as a run actor does, with a forward that does not hold it
            self.seal_inbox(lambda message: None)


def test_a_stopped_pooled_child_goes_by_refcount_not_by_the_cyclic_collector(
    dispatcher: Dispatcher, start_sup: Any
) -> None:
    """Hosts stop hundreds of pooled actors a second: left in reference cycles,
    they would pile up between the collector's passes and make each one slow."""
    sup: Supervisor = start_sup(RestartPolicy(), name="freed", forget_exited=True)
    Counted.alive.clear()
    gc.disable()
    try:
        for key in ("plain", "sealed"):
            info = sup.start_child(
                ChildSpec(
                    key=key, actor=Counted, args=(dispatcher, key == "sealed"), restart="temporary"
                )
            )
            assert info.ref.ask("ping", timeout=TIMEOUT) == ("echo", "ping")
            info.ref.stop()
            del info
            wait_until(lambda key=key: sup.lookup(key) is None, "the child to be forgotten")
        wait_until(
            lambda: all(ref() is None for ref in Counted.alive), "the stopped actors to be freed"
        )
    finally:
        gc.enable()


def test_a_pooled_actors_urn_is_a_distinct_uuid4_urn_made_without_building_a_uuid(
    dispatcher: Dispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(A host builds one actor per request: `uuid.UUID`'s checks run Python for each.)"""
    import uuid

    made = uuid.UUID

    def refused(*args: Any, **kwargs: Any) -> uuid.UUID:
        raise AssertionError("a uuid.UUID was built for an actor's urn")

    monkeypatch.setattr(uuid, "UUID", refused)
    urns = [Recorder(dispatcher).actor_urn for _ in range(200)]
    monkeypatch.setattr(uuid, "UUID", made)
    assert len(set(urns)) == len(urns)
    for urn in urns:
        parsed = uuid.UUID(urn)
        assert parsed.urn == urn and parsed.version == 4 and parsed.variant == uuid.RFC_4122
