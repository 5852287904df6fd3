"""Learn when a plain Pykka actor exits, and why, without its cooperation.

Pykka has no links or monitors, so the supervisor starts each child itself, the way
``Actor.start`` does (construct, register, start the thread), and before the thread
starts it shadows three attributes *on that one instance* — never on the class, so
other instances of the class are untouched:

* ``on_start`` — wrapped to report the start result: a failing ``on_start`` is a
  *start failure* that the starter sees synchronously, as with OTP's ``start_link``;
* ``_handle_failure`` — Pykka's single funnel for every unhandled exception (in
  ``on_start``, in a ``tell``-ed message, in ``on_stop``/``on_failure``); wrapped to
  keep the first exception, which is the crash reason;
* ``_actor_loop`` — the thread's target; wrapped so that once Pykka's loop and
  teardown are over, the exit is reported exactly once, from the dying thread.

A `PooledActor` is our own class, so it needs no shadowing: it reports the same three
things to the `ActorChild` set as its ``_watch``, and its ``on_start`` has run by the
time it is started; its start builds no closures and leaves no reference cycle.

Why not ``on_failure``/``on_stop``: Pykka calls neither when ``on_start`` fails, and a
subclass may override them without calling ``super()``. Why not a dynamic subclass: it
changes ``type(actor)`` and the name in logs, and trips classes with
``__init_subclass__`` or metaclass rules. An exception raised while answering an
``ask`` goes back to the asker and the actor lives on (Pykka's rule): not a crash.

An actor may state its own exit reason by setting an ``exit_reason`` attribute to an
`ExitReason` (the `Supervisor` actor does, to report ``shutdown`` when it gives up).
A ``BaseException`` (e.g. ``SystemExit``) in an actor makes Pykka stop *every* actor.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

import pykka

from supervisor._incarnation import Incarnation, Notify
from supervisor.pooled import PooledActor
from supervisor.spec import ExitReason

__all__ = ["ActorChild", "launch"]

for _name in ("on_start", "_handle_failure", "_actor_loop", "_start_actor_loop", "_stop"):
    if not hasattr(pykka.ThreadingActor, _name):  # pragma: no cover - depends on pykka
        raise ImportError(
            f"supervisor needs pykka.ThreadingActor.{_name}, which this pykka version lacks; "
            "install pykka 4.x"
        )


class ActorChild(Incarnation):
    """One run of a thread or pooled actor."""

    __slots__ = (
        "abandon_on_kill",
        "actor_ref",
        "error",
        "exit_hint",
        "notify",
        "start_error",
        "started",
        "thread",
    )

    def __init__(
        self,
        key: Hashable,
        pid: int,
        ref: Any,
        actor_ref: pykka.ActorRef[Any],
        *,
        notify: Notify,
        abandon_on_kill: bool,
        pooled: bool,
    ) -> None:
        super().__init__(key, pid, ref)
        self.actor_ref = actor_ref
        self.notify = notify
        self.abandon_on_kill = abandon_on_kill
        self.error: BaseException | None = None
        self.start_error: BaseException | None = None
        self.exit_hint: object = None
        #: a thread actor's ``on_start`` runs in its own thread, so the starter waits
        #: for it; a pooled actor's runs in the starter's, so it needs no event
        self.started = None if pooled else threading.Event()
        self.thread: threading.Thread | None = None

    def start_failed(self, error: BaseException) -> None:
        self.start_error = error

    def failed(self, error: BaseException | None) -> None:
        """An unhandled exception; the first one is the crash reason."""
        if self.error is None:
            self.error = error

    def exited(self, hint: object) -> None:
        """Its last message ran: report the exit, once, from this thread."""
        self.exit_hint = hint
        if self.started is not None:
            self.started.set()
        self.done.set()
        self.notify(self)

    def exit_reason(self) -> tuple[ExitReason, BaseException | None]:
        if self.error is not None:
            return ExitReason.crash(self.error), self.error
        if isinstance(self.exit_hint, ExitReason):
            return self.exit_hint, None
        return ExitReason.NORMAL, None

    def request_stop(self) -> None:
        self.actor_ref.stop(block=False)

    def force_stop(self) -> None:
        """Threads cannot be killed: make the actor leave its loop after the current message.

        Its stop flag is set (new messages fail fast with `pykka.ActorDeadError`, the
        loop ends after the current message, queued asks get `ActorDeadError`), and a
        stop message is queued to wake it if idle. A supervisor child is only asked
        to stop, so that it still stops its own children on the way out.
        """
        ref = self.actor_ref
        ref.stop(block=False)
        if not self.abandon_on_kill:
            pykka.ActorRegistry.unregister(ref)
            ref.actor_stopped.set()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()


def launch(
    actor: pykka.ThreadingActor | PooledActor,
    *,
    key: Hashable,
    pid: int,
    notify: Notify,
    ref: Any = None,
    abandon_on_kill: bool = False,
) -> ActorChild:
    """Start ``actor`` and wait for its ``on_start``; raise what ``on_start`` raised.

    ``notify(child)`` is called once, from the thread that ran its last message.
    ``ref`` (default: the actor's `pykka.ActorRef`) is what callers get as the child's ref.
    """
    actor_ref = actor.actor_ref
    child = ActorChild(
        key,
        pid,
        actor_ref if ref is None else ref,
        actor_ref,
        notify=notify,
        abandon_on_kill=abandon_on_kill,
        pooled=isinstance(actor, PooledActor),
    )
    if isinstance(actor, PooledActor):
        actor._watch = child  # it reports to the child itself: no closures to build
    else:
        _shadow(actor, child)
    pykka.ActorRegistry.register(actor_ref)
    actor._start_actor_loop()
    if child.started is not None:
        child.started.wait()
    if child.start_error is not None:
        child.handled = True
        child.done.wait()
        child.join()
        raise child.start_error
    return child


def _shadow(actor: pykka.ThreadingActor, child: ActorChild) -> None:
    """Wrap, on this instance only, what a thread actor does at its start, failures and exit."""
    on_start = actor.on_start
    handle_failure = actor._handle_failure
    actor_loop = actor._actor_loop

    def watched_on_start() -> None:
        try:
            on_start()
        except BaseException as exc:
            child.start_failed(exc)
            raise
        finally:
            if child.started is not None:
                child.started.set()

    def watched_handle_failure(*exc_info: Any) -> None:
        child.failed(exc_info[1])
        handle_failure(*exc_info)

    def watched_loop() -> None:
        child.thread = threading.current_thread()
        try:
            actor_loop()
        except BaseException as exc:
            child.failed(exc)
            actor.actor_stopped.set()
            pykka.ActorRegistry.unregister(actor.actor_ref)
            raise
        finally:
            for name in shadows:  # break the actor <-> closure cycle
                actor.__dict__.pop(name, None)
            shadows.clear()  # and the shadows <-> closure one, so the actor goes by refcount
            child.exited(getattr(actor, "exit_reason", None))

    shadows: dict[str, Any] = {
        "on_start": watched_on_start,
        "_handle_failure": watched_handle_failure,
        "_actor_loop": watched_loop,
    }
    vars(actor).update(shadows)
