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
things to the `ActorChild` it is given (`supervisor.pooled.watch_exits`), and its
``on_start`` has run by the time it is started; its start builds no closures and
leaves no reference cycle. What this relies on of Pykka is in `supervisor._pykka`.

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
from typing import Any, cast

import pykka

from supervisor import _pykka
from supervisor._incarnation import Incarnation, Notify
from supervisor.pooled import PooledActor, watch_exits
from supervisor.spec import ChildSpec, ExitReason, actor_class

__all__ = ["ActorChild", "launch", "start_actor"]


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
        #: the actor's own ref (``ref`` may be a handle on it); fixed
        self.actor_ref = actor_ref
        #: told once, from the thread that ran the actor's last message; fixed
        self.notify = notify
        #: a supervisor child: on kill, only ask it to stop, so it stops its children; fixed
        self.abandon_on_kill = abandon_on_kill
        #: the first unhandled exception (the crash reason); set once, then kept
        self.error: BaseException | None = None
        #: what ``on_start`` raised; set at most once, before ``started`` is set
        self.start_error: BaseException | None = None
        #: the actor's own ``exit_reason`` attribute when it exited; set once, with ``done``
        self.exit_hint: object = None
        #: a thread actor's ``on_start`` runs in its own thread, so the starter waits
        #: for it; a pooled actor's runs in the starter's, so it needs no event
        self.started = None if pooled else threading.Event()
        #: the thread actor's thread, once it runs; None for a pooled actor
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
        self.actor_ref.stop(block=False)
        if not self.abandon_on_kill:
            _pykka.mark_stopped(self.actor_ref)

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
    pooled = actor_class(type(actor)).pooled
    child = ActorChild(
        key,
        pid,
        actor_ref if ref is None else ref,
        actor_ref,
        notify=notify,
        abandon_on_kill=abandon_on_kill,
        pooled=pooled,
    )
    if pooled:  # (cast: `actor_class` looked, once per class)
        watch_exits(cast(PooledActor, actor), child)  # it reports to the child itself
    else:
        _shadow(cast(pykka.ThreadingActor, actor), child)
    _pykka.start(actor)
    if child.started is not None:
        child.started.wait()
    if child.start_error is not None:
        child.handled = True
        child.done.wait()
        child.join()
        raise child.start_error
    return child


def start_actor(spec: ChildSpec, pid: int, notify: Notify) -> ActorChild:
    """Build a worker child's actor from ``spec`` and `launch` it."""
    cls = spec.actor
    assert cls is not None and actor_class(cls).worker
    actor = cast("pykka.ThreadingActor | PooledActor", cls(*spec.args, **spec.kwargs))
    return launch(actor, key=spec.key, pid=pid, notify=notify)


def _shadow(actor: pykka.ThreadingActor, child: ActorChild) -> None:
    """Wrap, on this instance only, what a thread actor does at its start, failures and exit."""
    own = _pykka.thread_hooks(actor)

    def watched_on_start() -> None:
        try:
            own.on_start()
        except BaseException as exc:
            child.start_failed(exc)
            raise
        finally:
            if child.started is not None:
                child.started.set()

    def watched_handle_failure(*exc_info: Any) -> None:
        child.failed(exc_info[1])
        own.handle_failure(*exc_info)

    def watched_loop() -> None:
        child.thread = threading.current_thread()
        try:
            own.actor_loop()
        except BaseException as exc:
            child.failed(exc)
            _pykka.mark_stopped(actor.actor_ref)
            raise
        finally:
            _pykka.unshadow(actor)  # the actor no longer holds the closures: no cycle
            child.exited(getattr(actor, "exit_reason", None))

    _pykka.shadow(actor, _pykka.ThreadHooks(watched_on_start, watched_handle_failure, watched_loop))
