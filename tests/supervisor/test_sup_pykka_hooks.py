"""Pykka's private hooks, one test each: they exist and behave as `supervisor._pykka` assumes.

A Pykka release that renames or changes one of them must fail here, naming the hook,
rather than leave a supervisor that misses its children's exits.
"""

from __future__ import annotations

import threading
from typing import Any

import pykka
import pytest

from supervisor import Dispatcher, PooledActor, _pykka
from supervisor._latch import Latch
from supervisor.pooled import watch_exits
from tests.supervisor.helpers import TIMEOUT


class Probe(pykka.ThreadingActor):
    """Records what Pykka calls; fails where told to."""

    def __init__(self, fail_in: str = "") -> None:
        super().__init__()
        self.fail_in = fail_in
        self.calls: list[str] = []
        self.stopped = threading.Event()

    def on_start(self) -> None:
        self.calls.append("on_start")
        if self.fail_in == "on_start":
            raise ValueError("on_start")

    def on_receive(self, message: Any) -> Any:
        self.calls.append(f"receive {message}")
        if message == "fail":
            raise ValueError("told")
        return ("echo", message)

    def on_stop(self) -> None:
        self.calls.append("on_stop")
        self.stopped.set()
        if self.fail_in == "on_stop":
            raise ValueError("on_stop")

    def on_failure(self, *exc_info: Any) -> None:
        self.calls.append("on_failure")
        self.stopped.set()


class Watch:
    """What `supervisor._watch.ActorChild` is told, recorded."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self.done = threading.Event()

    def start_failed(self, error: BaseException) -> None:
        self.events.append(("start_failed", error))

    def failed(self, error: BaseException | None) -> None:
        self.events.append(("failed", error))

    def exited(self, hint: object) -> None:
        self.events.append(("exited", hint))
        self.done.set()


@pytest.fixture
def dispatcher() -> Any:
    pool = Dispatcher(2, name="hooks")
    yield pool
    pool.close(timeout=TIMEOUT)


def _watched(actor: Probe) -> list[tuple[str, object]]:
    """Shadow ``actor``'s three hooks with recorders (as `supervisor._watch` does)."""
    seen: list[tuple[str, object]] = []
    own = _pykka.thread_hooks(actor)

    def on_start() -> None:
        seen.append(("on_start", threading.current_thread()))
        own.on_start()

    def handle_failure(*exc_info: Any) -> None:
        seen.append(("failure", exc_info[1]))
        own.handle_failure(*exc_info)

    def actor_loop() -> None:
        seen.append(("loop", threading.current_thread()))
        try:
            own.actor_loop()
        finally:
            seen.append(("loop ended", None))
            _pykka.unshadow(actor)

    _pykka.shadow(actor, _pykka.ThreadHooks(on_start, handle_failure, actor_loop))
    return seen


def _loop_thread(seen: list[tuple[str, object]]) -> threading.Thread:
    name, thread = seen[0]
    assert name == "loop" and isinstance(thread, threading.Thread)
    return thread


def test_abstract_hooks_are_the_three_an_actor_class_must_define() -> None:
    """`PooledActor` overrides exactly these (plus `_handle_failure`)."""
    assert pykka.Actor.__abstractmethods__ == {
        "_create_actor_inbox",
        "_create_future",
        "_start_actor_loop",
    }
    for name in ("_create_actor_inbox", "_create_future", "_start_actor_loop", "_handle_failure"):
        assert name in vars(PooledActor), name


def test_actor_start_is_register_then_start_actor_loop() -> None:
    order: list[str] = []

    class Ordered(pykka.ThreadingActor):
        def _start_actor_loop(self) -> None:
            order.append("registered" if self.actor_ref in pykka.ActorRegistry.get_all() else "no")
            super()._start_actor_loop()

    ref = Ordered.start()
    ref.stop()
    actor = Ordered()
    _pykka.start(actor)  # what a supervisor does in place of Actor.start
    assert actor.actor_ref.ask("?", timeout=TIMEOUT) is None
    actor.actor_ref.stop()
    assert order == ["registered", "registered"]


def test_start_actor_loop_runs_the_instance_actor_loop_in_a_new_thread() -> None:
    actor = Probe()
    seen = _watched(actor)
    _pykka.start(actor)
    actor.actor_ref.stop()
    thread = _loop_thread(seen)
    assert thread is not threading.current_thread()
    thread.join(TIMEOUT)
    assert seen[-1] == ("loop ended", None)
    assert not {"on_start", "_handle_failure", "_actor_loop"} & set(vars(actor))


def test_actor_loop_setup_calls_the_instance_on_start_first() -> None:
    actor = Probe()
    seen = _watched(actor)
    _pykka.start(actor)
    assert actor.actor_ref.ask("hello", timeout=TIMEOUT) == ("echo", "hello")
    actor.actor_ref.stop()
    assert [name for name, _ in seen[:2]] == ["loop", "on_start"]
    assert seen[0][1] is seen[1][1]  # on_start runs in the actor's thread
    assert actor.calls == ["on_start", "receive hello", "on_stop"]


@pytest.mark.parametrize("fail_in", ["on_start", "told", "on_stop"])
def test_handle_failure_is_the_funnel_of_every_unhandled_exception(fail_in: str) -> None:
    actor = Probe(fail_in=fail_in)
    seen = _watched(actor)
    if fail_in == "told":
        actor.actor_ref.tell("fail")
    elif fail_in == "on_stop":
        actor.actor_ref.tell("ok")
        actor.actor_ref.stop(block=False)
    _pykka.start(actor)
    _loop_thread(seen).join(TIMEOUT)
    assert seen[-1] == ("loop ended", None)
    failures = [str(exc) for name, exc in seen if name == "failure"]
    assert failures == [{"told": "told"}.get(fail_in, fail_in)]
    assert not actor.actor_ref.is_alive()
    assert actor.actor_ref not in pykka.ActorRegistry.get_all()


def test_default_handle_failure_unregisters_and_sets_actor_stopped() -> None:
    actor = Probe()
    pykka.ActorRegistry.register(actor.actor_ref)
    error = ValueError("x")
    _pykka.default_handle_failure(actor, (ValueError, error, None))
    assert actor.actor_stopped.is_set()
    assert actor.actor_ref not in pykka.ActorRegistry.get_all()


def test_handle_receive_answers_asks_and_routes_told_failures(dispatcher: Dispatcher) -> None:
    """`run_message` (a pooled actor's loop body) over Pykka's `_handle_receive`."""
    actor = Probe()
    asked: pykka.Future[Any] = pykka.ThreadingFuture()
    _pykka.run_message(actor, _pykka.envelope("hi", asked))
    assert asked.get(timeout=TIMEOUT) == ("echo", "hi")
    failed: pykka.Future[Any] = pykka.ThreadingFuture()
    _pykka.run_message(actor, _pykka.envelope("fail", failed))
    with pytest.raises(ValueError, match="told"):
        failed.get(timeout=TIMEOUT)
    assert not actor.actor_stopped.is_set()  # an ask's exception goes to the asker
    _pykka.run_message(actor, _pykka.envelope("fail"))
    assert actor.actor_stopped.is_set() and actor.calls[-1] == "on_failure"


def test_handle_receive_stops_on_pykkas_stop_message() -> None:
    actor = Probe()
    ref = actor.actor_ref
    ref.stop(block=False)  # queues Pykka's own stop message
    _pykka.run_message(actor, actor.actor_inbox.get())
    assert actor.actor_stopped.is_set() and actor.calls == ["on_stop"]


def test_actor_loop_teardown_answers_queued_asks() -> None:
    actor = Probe()
    ref = actor.actor_ref
    pending = ref.ask("late", block=False)
    stopping = ref.stop(block=False)
    actor.actor_stopped.set()
    _pykka.teardown(actor)
    with pytest.raises(pykka.ActorDeadError):
        pending.get(timeout=TIMEOUT)
    assert stopping.get(timeout=TIMEOUT) is True


def test_stop_unregisters_sets_actor_stopped_and_calls_on_stop() -> None:
    actor = Probe()
    pykka.ActorRegistry.register(actor.actor_ref)
    _pykka.stop_now(actor)
    assert actor.actor_stopped.is_set() and actor.calls == ["on_stop"]
    assert actor.actor_ref not in pykka.ActorRegistry.get_all()


def test_envelopes_carry_message_and_reply_to() -> None:
    actor = Probe()
    ref = actor.actor_ref
    ref.tell("told")
    future = ref.ask("asked", block=False)
    told, asked = actor.actor_inbox.get(), actor.actor_inbox.get()
    assert (_pykka.message_of(told), told.reply_to) == ("told", None)
    assert (_pykka.message_of(asked), asked.reply_to) == ("asked", future)
    made = _pykka.envelope("m")
    assert (made.message, made.reply_to) == ("m", None)


def test_registry_register_and_unregister() -> None:
    actor = Probe()
    pykka.ActorRegistry.register(actor.actor_ref)
    assert actor.actor_ref in pykka.ActorRegistry.get_all()
    _pykka.mark_stopped(actor.actor_ref)
    assert actor.actor_ref not in pykka.ActorRegistry.get_all()


def test_a_refs_actor_stopped_is_the_actors_and_kills_every_ref() -> None:
    actor = Probe()
    first, second = actor.actor_ref, pykka.ActorRef(actor)
    _pykka.mark_stopped(first)
    assert actor.actor_stopped.is_set() and not second.is_alive()
    with pytest.raises(pykka.ActorDeadError):
        second.tell("anyone?")


def test_actor_init_sets_these_fields_and_the_ref_copies_them(dispatcher: Dispatcher) -> None:
    """`init_actor` sets Pykka's fields itself (to skip a GIL-releasing os.urandom); a
    Pykka release that adds one must fail here, not in production."""
    assert set(vars(pykka.ThreadingActor())) == {
        "actor_urn",
        "actor_inbox",
        "actor_stopped",
        "_actor_ref",
    }

    class Bare(PooledActor):
        pass

    actor = Bare(dispatcher)
    assert set(vars(pykka.ThreadingActor())) <= set(vars(actor))
    ref = actor.actor_ref
    assert (ref.actor_urn, ref.actor_inbox, ref.actor_stopped) == (
        actor.actor_urn,
        actor.actor_inbox,
        actor.actor_stopped,
    )
    assert isinstance(actor.actor_stopped, Latch)
    assert actor.actor_urn.startswith("urn:uuid:") and actor.actor_urn != Bare(dispatcher).actor_urn


def test_ask_makes_its_future_with_the_actor_classes_create_future(
    dispatcher: Dispatcher,
) -> None:
    made: list[pykka.Future[Any]] = []

    class Echo(PooledActor):
        @staticmethod
        def _create_future() -> pykka.Future[Any]:
            made.append(pykka.ThreadingFuture())
            return made[-1]

        def on_receive(self, message: Any) -> Any:
            return message

    ref = Echo.start(dispatcher)
    assert ref.ask("x", timeout=TIMEOUT) == "x" and len(made) == 1
    ref.stop()


def test_a_pooled_actors_overrides_report_to_its_watch(dispatcher: Dispatcher) -> None:
    """`_start_actor_loop` runs ``on_start`` in the caller; `_handle_failure` tells the watch."""

    class Fragile(PooledActor):
        def on_start(self) -> None:
            self.starter = threading.current_thread()

        def on_receive(self, message: Any) -> Any:
            raise ValueError(message)

    actor = Fragile(dispatcher)
    watch = Watch()
    watch_exits(actor, watch)
    _pykka.start(actor)
    assert actor.starter is threading.current_thread()
    actor.actor_ref.tell("boom")
    assert watch.done.wait(TIMEOUT)
    assert [(name, str(arg)) for name, arg in watch.events] == [
        ("failed", "boom"),
        ("exited", "None"),
    ]
    assert actor.actor_ref not in pykka.ActorRegistry.get_all()


def test_a_pooled_actors_failing_on_start_is_a_start_failure(dispatcher: Dispatcher) -> None:
    class NoStart(PooledActor):
        def on_start(self) -> None:
            raise ValueError("no start")

    actor = NoStart(dispatcher)
    watch = Watch()
    watch_exits(actor, watch)
    _pykka.start(actor)
    assert watch.done.is_set()  # it ran in this thread, and finished here
    assert [name for name, _ in watch.events] == ["start_failed", "failed", "exited"]


def test_pykkas_handle_receive_takes_its_own_message_kinds_and_passes_the_rest_on() -> None:
    """What `run_message`'s short cut assumes: Pykka's `_handle_receive` handles the kinds
    in `PYKKA_MESSAGES` itself and hands any other message to `on_receive`, unchanged."""
    actor = Probe()
    handle = pykka.Actor._handle_receive  # noqa: SLF001 - the assumption under test
    assert handle(actor, "hi") == ("echo", "hi") and actor.calls == ["receive hi"]
    call, get, set_, stop = (
        pykka.messages.ProxyCall(attr_path=("on_receive",), args=("via proxy",), kwargs={}),
        pykka.messages.ProxyGetAttr(attr_path=("fail_in",)),
        pykka.messages.ProxySetAttr(attr_path=("fail_in",), value="nowhere"),
        pykka.messages._ActorStop(),  # noqa: SLF001 - Pykka's own stop message
    )
    assert {type(m) for m in (call, get, set_, stop)} == set(_pykka.PYKKA_MESSAGES)
    assert handle(actor, call) == ("echo", "via proxy")  # a proxy call, not a message
    assert handle(actor, get) == "" and handle(actor, set_) is None
    assert actor.fail_in == "nowhere"
    handle(actor, stop)
    assert actor.actor_stopped.is_set()
    assert actor.calls == ["receive hi", "receive via proxy", "on_stop"]


def test_run_message_sends_a_plain_message_straight_to_on_receive_but_keeps_a_class_own() -> None:
    class Own(Probe):
        def _handle_receive(self, message: Any) -> Any:
            self.calls.append(f"own {message}")
            return super()._handle_receive(message)

    plain, own = Probe(), Own()
    for actor in (plain, own):
        asked: pykka.Future[Any] = pykka.ThreadingFuture()
        _pykka.run_message(actor, _pykka.envelope("hi", asked))
        assert asked.get(timeout=TIMEOUT) == ("echo", "hi")
    assert plain.calls == ["receive hi"]
    assert own.calls == ["own hi", "receive hi"]  # its override still sees every message
    plain._handle_receive = lambda message: pytest.fail("Pykka's dispatch was not needed")  # type: ignore[method-assign] # noqa: SLF001
    _pykka.run_message(plain, _pykka.envelope("again"))  # the class's own is Pykka's: skipped
    assert plain.calls == ["receive hi", "receive again"]
