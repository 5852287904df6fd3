"""The supervisor actor: the Pykka process that owns one supervisor's `Tree`.

Everything a supervisor decides runs in this actor's own thread; other threads only
reach it through messages (calls from `Supervisor`, exit notices from dying children
and the process watcher, due backoffs from the timer thread; see
`supervisor._messages`), which it hands to its `Tree` (the children and the rules).

As a Pykka actor builds its own `pykka.ActorRef`, this actor builds its own handle
(``handle(actor_ref, state)``, i.e. `Supervisor`), so it needs not know that class:
`Supervisor.start` asks the actor it started for it. A sub-supervisor child is an
actor of this class too, building the handle class its spec names.
"""

from __future__ import annotations

import contextlib
import random as _random
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

import pykka

from supervisor import _pykka
from supervisor._children import State, SupervisorExhaustedHook, logger
from supervisor._incarnation import Incarnation, Notify, next_pid
from supervisor._mailslot import Coalesced
from supervisor._messages import (
    CountChildren,
    DeleteChild,
    Lookup,
    RestartChild,
    RestartDue,
    StartChild,
    TerminateChild,
    WhichChildren,
)
from supervisor._tree import Tree
from supervisor._watch import ActorChild, launch
from supervisor.errors import SupervisorError
from supervisor.policy import RestartPolicy
from supervisor.spec import ACTOR_TYPES, ChildRef, ChildSpec, ExitReason

__all__ = ["SupervisorActor"]

H = TypeVar("H", bound=ChildRef)


class SupervisorActor(pykka.ThreadingActor, Generic[H]):
    """A Pykka actor that supervises children (see `Supervisor` for the public face)."""

    def __init__(
        self,
        policy: RestartPolicy | None = None,
        children: Iterable[ChildSpec] = (),
        *,
        handle: Callable[[pykka.ActorRef[Any], State], H],
        name: str | None = None,
        on_exhausted: SupervisorExhaustedHook | None = None,
        forget_exited: bool = False,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
        pid: int | None = None,
    ) -> None:
        super().__init__()
        policy = RestartPolicy() if policy is None else policy
        if not isinstance(policy, RestartPolicy):
            raise TypeError(f"Supervisor policy must be a RestartPolicy, not {policy!r}")
        pid = next_pid() if pid is None else pid
        #: what the handle shares with this actor (name, pid, claims, exit reason)
        self.state = State(
            name or f"supervisor-{pid}", pid, policy, forget_exited=forget_exited, clock=clock
        )
        #: the static children, until ``on_start`` has started them; then empty
        self._initial = list(children)
        for spec in self._initial:
            if not isinstance(spec, ChildSpec):
                raise SupervisorError(
                    f"supervisor {self.state.name!r}: its children must be ChildSpecs, not {spec!r}"
                )
        keys = [spec.key for spec in self._initial]
        if len(set(keys)) != len(keys):
            raise SupervisorError(f"supervisor {self.state.name!r}: duplicate child keys in {keys}")
        #: the children and what is done to them; only this actor's thread uses it
        self._tree = Tree(
            self.state,
            tell=self._tell,
            start_subtree=self._start_subtree,
            stop=lambda: _pykka.stop_now(self),
            on_exhausted=on_exhausted,
            forget_exited=forget_exited,
            clock=clock,
            random=random,
        )
        #: what callers hold: built here, as a Pykka actor builds its own ref; fixed
        self.handle: H = handle(self.actor_ref, self.state)

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def exit_reason(self) -> ExitReason | None:
        """Read by the parent's watcher: ``shutdown`` after giving up."""
        return self.state.exit_reason

    def start_watched(
        self, key: Hashable, notify: Notify, *, abandon_on_kill: bool = False
    ) -> ActorChild:
        """Start this actor and its static children; block until they all run.

        ``notify`` hears of its exit (a parent supervisor); callers get `handle`.
        """
        inc = launch(
            self,
            key=key,
            pid=self.state.pid,
            notify=notify,
            ref=self.handle,
            abandon_on_kill=abandon_on_kill,
        )
        self.state.done = inc.done
        return inc

    # -- Pykka hooks -------------------------------------------------------------

    def on_start(self) -> None:
        self.state.thread = threading.current_thread()
        try:
            self._tree.start_static(self._initial)
        finally:
            self._initial.clear()

    def on_stop(self) -> None:
        self._tree.shutdown_all()
        if self.state.exit_reason is None:
            self.state.exit_reason = ExitReason.NORMAL

    def on_failure(self, *exc_info: Any) -> None:
        logger.error("supervisor %r crashed; stopping its children", self.name)
        self._tree.shutdown_all()
        if self.state.exit_reason is None and exc_info[1] is not None:
            self.state.exit_reason = ExitReason.crash(exc_info[1])

    def on_receive(self, message: Any) -> Any:
        self._tree.adopt_registered()  # what it decides sees every child started so far
        return self._handle(message)

    def _handle(self, message: Any) -> Any:
        tree = self._tree
        match message:
            case Incarnation():
                tree.child_exited(message)
            case Coalesced(slot):  # adoptions and exits, told in a wave
                for item in slot.take():
                    self._handle(item)
            case RestartDue(keys, token, delay):
                tree.start_group(keys, token, delay)
            case Lookup(key):
                return tree.lookup(key)
            case WhichChildren():
                return tree.which_children()
            case CountChildren():
                return tree.count_children()
            case StartChild(spec):
                return tree.start_child(spec)
            case TerminateChild(key):
                tree.terminate_child(key)
            case RestartChild(key):
                return tree.restart_child(key)
            case DeleteChild(key):
                tree.delete_child(key)
            case _:
                raise SupervisorError(f"supervisor {self.name!r}: unknown message {message!r}")
        return None

    # -- helpers the tree is given -------------------------------------------------

    def _start_subtree(self, spec: ChildSpec, pid: int) -> Incarnation:
        """A sub-supervisor child: an actor of this class building the spec's handle."""
        handle = spec.actor
        assert handle is not None and not issubclass(handle, ACTOR_TYPES)
        kwargs = dict(spec.kwargs)
        kwargs.setdefault("name", f"{self.name}/{spec.key}")
        actor = SupervisorActor(*spec.args, pid=pid, handle=handle, **kwargs)
        return actor.start_watched(spec.key, self._tell, abandon_on_kill=True)

    def _tell(self, message: object) -> None:
        """Post to our own mailbox from another thread; a stopped supervisor drops it."""
        with contextlib.suppress(pykka.ActorDeadError):
            self.actor_ref.tell(message)
