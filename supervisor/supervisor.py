"""`Supervisor`: start a supervision tree and talk to it.

A `Supervisor` is a handle on a supervisor actor, as a `pykka.ActorRef` is on an
actor: the actor builds it (`SupervisorActor.handle`), and `Supervisor.start` asks the
actor it started for it. Its calls are Pykka ``ask``s of `supervisor._messages`
dataclasses that block until done; callers talk to children through the children's
own refs, never through the supervisor, so supervision adds nothing to a child's
message path.
"""

from __future__ import annotations

import contextlib
import random as _random
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any, ClassVar

import pykka

from supervisor._actor import SupervisorActor
from supervisor._adoption import Closed, Quiet, Wake
from supervisor._children import State, SupervisorExhaustedHook, call_hook
from supervisor._incarnation import Incarnation, next_pid, stop_incarnation
from supervisor._mailslot import Mailslot
from supervisor._messages import (
    Call,
    CountChildren,
    DeleteChild,
    Lookup,
    RestartChild,
    StartChild,
    TerminateChild,
    WhichChildren,
)
from supervisor._watch import start_actor
from supervisor.errors import SupervisorError
from supervisor.policy import RestartPolicy, RestartType
from supervisor.spec import (
    ChildInfo,
    ChildKind,
    ChildSpec,
    ExitReason,
    actor_class,
    child_kind,
)

__all__ = ["Supervisor"]


class Supervisor:
    """A running supervisor (Erlang/OTP semantics, see the package docs).

    Build one with `Supervisor.start`; as a child of another supervisor use
    ``ChildSpec(key=..., actor=Supervisor, args=(policy,), kwargs={"children": [...]})``,
    whose `ChildInfo.ref` is then a `Supervisor`.
    """

    #: OTP's child type of ``ChildSpec(actor=Supervisor)``: a sub-tree. Its parent
    #: starts a supervisor actor with the spec's args and kwargs, which builds this
    #: class as the child's ref.
    child_kind: ClassVar[ChildKind] = "supervisor"

    __slots__ = ("_slot", "_state", "actor_ref")

    def __init__(self, actor_ref: pykka.ActorRef[Any], state: State) -> None:
        """Built by the supervisor actor itself; use `start` to get one."""
        #: the supervisor actor's ref; fixed
        self.actor_ref = actor_ref
        #: what the actor shares with its handles; fixed
        self._state = state
        #: adoptions and exit notices, told to the actor in waves; fixed
        self._slot = Mailslot(actor_ref.tell)

    @classmethod
    def start(
        cls,
        policy: RestartPolicy | None = None,
        children: Iterable[ChildSpec] = (),
        *,
        name: str | None = None,
        on_exhausted: SupervisorExhaustedHook | None = None,
        forget_exited: bool = False,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
    ) -> Supervisor:
        """Start a supervisor and its ``children`` (in order); block until all run.

        ``on_exhausted(name, info, reason)`` is called when this supervisor gives up
        (restart intensity exhausted, ``on_exhausted="escalate"``), with the child
        whose exit tipped it over, so a host can report it (health check).
        ``forget_exited=True`` drops a child's spec once it exits for good (a
        ``transient`` child exiting normally), as OTP's ``simple_one_for_one`` does with
        dynamic children: a host that starts thousands of short-lived children (one per
        job, say) keeps only the live ones.
        ``clock`` (seconds, monotonic) and ``random`` (``U[0,1)``) drive the intensity
        window and the backoff jitter; inject them to make tests exact.

        Raises `SupervisorError` (cause: the child's exception) if a child fails to
        start; the children already started are stopped again.
        """
        actor = SupervisorActor(
            policy,
            children,
            handle=cls,
            name=name,
            on_exhausted=on_exhausted,
            forget_exited=forget_exited,
            clock=clock,
            random=random,
        )
        try:
            actor.start_watched(actor.name, _ignore)
        except SupervisorError:
            raise
        except Exception as exc:
            raise SupervisorError(f"supervisor {actor.name!r} failed to start: {exc!r}") from exc
        return actor.handle

    @property
    def name(self) -> str:
        return self._state.name

    @property
    def pid(self) -> int:
        return self._state.pid

    @property
    def exit_reason(self) -> ExitReason | None:
        """None while running; ``SHUTDOWN`` after giving up; ``NORMAL`` after `stop`."""
        return self._state.exit_reason

    def is_alive(self) -> bool:
        return self.actor_ref.is_alive()

    def start_child(self, spec: ChildSpec) -> ChildInfo:
        """Add and start a child; on failure raise `SupervisorError` and keep no spec.

        A plain thread or pooled actor is launched in the calling thread under
        a claim on its key (`DuplicateChild` if taken), then handed over to the
        supervisor, so that many callers start children in parallel without a
        round trip each; processes and sub-supervisors start in the
        supervisor's thread. The actor is not even handed over: it is registered,
        and the supervisor's thread takes it over when it next handles a message;
        if a pooled one first exits quietly (normally, wanting no restart, its
        record forgotten), its exit is bookkept and its ``on_exit`` called in the
        thread it exited in, and the supervisor's thread is never woken for it
        (`supervisor._adoption`).
        """
        if (
            not isinstance(spec, ChildSpec)
            or spec.process is not None
            or child_kind(spec.actor) == "supervisor"
        ):
            return self._call("start_child", StartChild(spec))  # type: ignore[no-any-return]
        state = self._state
        restart = spec.restart or (spec.policy or state.policy).restart
        state.claim(spec.key)
        try:
            if not self.actor_ref.is_alive():
                raise SupervisorError(self._not_running())
            inc = self._launch(spec, restart)
        except BaseException:
            state.release(spec.key)
            raise
        return ChildInfo(
            spec.key, inc.pid, inc.ref, restart, True, "worker", len(spec.restart_history)
        )

    def _launch(self, spec: ChildSpec, restart: RestartType) -> Incarnation:
        """Start ``spec``'s actor in this thread under the caller's claim on its key, and
        register it for the supervisor's thread to take over (`supervisor._adoption`)."""
        adoptions = self._state.adoptions
        adoptions.begin(
            spec,
            restart,
            pooled=isinstance(spec.actor, type) and actor_class(spec.actor).pooled,
        )
        try:
            inc = start_actor(spec, next_pid(), self._exited)
        except Exception as exc:
            adoptions.abort(spec.key)
            raise SupervisorError(
                f"child {spec.key!r} of supervisor {self.name!r} failed to start: {exc!r}"
            ) from exc
        then = adoptions.launched(spec, inc)
        if isinstance(then, Closed):
            stop_incarnation(inc, "brutal_kill")
            raise SupervisorError(
                f"supervisor {self.name!r} stopped while child {spec.key!r} was starting"
            )
        if then is not None:
            self._settled(then)
        return inc

    def terminate_child(self, key: Hashable) -> None:
        """Stop a child (no restart follows); a no-op if it is not running.

        A ``temporary`` child's spec is forgotten; others stay, for `restart_child`.
        """
        self._call("terminate_child", TerminateChild(key))

    def restart_child(self, key: Hashable) -> ChildInfo:
        """Start a terminated (or backing-off) child again, now."""
        return self._call("restart_child", RestartChild(key))  # type: ignore[no-any-return]

    def delete_child(self, key: Hashable) -> None:
        """Forget a child that is not running."""
        self._call("delete_child", DeleteChild(key))

    def which_children(self) -> list[ChildInfo]:
        """A snapshot of every child spec, in start order."""
        return self._call("which_children", WhichChildren())  # type: ignore[no-any-return]

    def count_children(self) -> dict[str, int]:
        """``{"specs", "active", "supervisors", "workers"}`` counts."""
        return self._call("count_children", CountChildren())  # type: ignore[no-any-return]

    def lookup(self, key: Hashable) -> ChildInfo | None:
        """The child with ``key`` (its current pid and ref), or None."""
        return self._call("lookup", Lookup(key))  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Stop the children in reverse start order, then the supervisor; block until done.

        A no-op on a supervisor that has already stopped.
        """
        self._check_thread("stop")
        self.actor_ref.stop(block=True)
        self._state.done.wait()
        thread = self._state.thread
        if thread is not None:
            thread.join()

    def _call(self, op: str, message: Call) -> Any:
        self._check_thread(op)
        try:
            return self.actor_ref.ask(message)
        except pykka.ActorDeadError as exc:
            raise SupervisorError(self._not_running()) from exc

    def _not_running(self) -> str:
        return (
            f"supervisor {self.name!r} is not running (exit reason: {self.exit_reason}); "
            "start a new one"
        )

    def _notify(self, inc: object) -> None:
        """A child's exit, told from its last thread; a stopped supervisor has no use for it."""
        with contextlib.suppress(pykka.ActorDeadError):
            self._slot.put(inc)

    def _exited(self, inc: Incarnation) -> None:
        """A registered child's exit, told from its last thread: bookkept here if quiet."""
        then = self._state.adoptions.exited(inc)
        if then is not None:
            self._settled(then)

    def _settled(self, then: Quiet | Wake) -> None:
        if isinstance(then, Quiet):
            call_hook(then.spec.on_exit, then.info, then.reason, None)
        else:
            self._notify(then.inc)

    def _check_thread(self, op: str) -> None:
        if threading.current_thread() is self._state.thread:
            raise SupervisorError(
                f"{op}() called from inside supervisor {self.name!r} (from a hook?): it would "
                "wait for itself; call it from another thread"
            )

    def __repr__(self) -> str:
        state = "alive" if self.is_alive() else f"exited: {self.exit_reason}"
        return f"<Supervisor {self.name!r} pid={self.pid} {state}>"


def _ignore(_: object) -> None:
    """A top-level supervisor has nobody to notify of its exit."""
