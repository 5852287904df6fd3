"""The supervisor actor: child table, restart strategies, intensity, escalation.

Everything here runs in the supervisor's own Pykka thread; other threads only reach it
through messages (calls from `Supervisor`, exit notices from dying children and the
process watcher, due backoffs from the timer thread). So the child table needs no lock;
only the set of claimed keys (`State.claims`) is shared, so that `Supervisor.start_child`
can refuse a duplicate key without a round trip to this thread.
"""

from __future__ import annotations

import contextlib
import itertools
import random as _random
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import pykka

from supervisor._children import (
    Adopt,
    Child,
    RestartDue,
    State,
    SupervisorExhaustedHook,
    call_hook,
    logger,
)
from supervisor._incarnation import Incarnation, next_pid, stop_incarnation
from supervisor._timers import Timers
from supervisor._watch import launch
from supervisor.errors import SupervisorError
from supervisor.policy import RestartPolicy, RestartWindow
from supervisor.process import ProcessWatcher, start_process
from supervisor.spec import ACTOR_TYPES, ChildInfo, ChildSpec, ExitReason

__all__ = ["SupervisorActor"]


class SupervisorActor(pykka.ThreadingActor):
    """A Pykka actor that supervises children (see `Supervisor` for the public face)."""

    def __init__(
        self,
        policy: RestartPolicy | None = None,
        children: Iterable[ChildSpec] = (),
        *,
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
        self.state = State(name or f"supervisor-{pid}", pid, policy)
        self.policy = policy
        self._initial = list(children)
        keys = [spec.key for spec in self._initial]
        if len(set(keys)) != len(keys):
            raise SupervisorError(f"supervisor {self.state.name!r}: duplicate child keys in {keys}")
        self._on_exhausted = on_exhausted
        self._forget_exited = forget_exited
        self._clock = clock
        self._random = random
        self._children: dict[Hashable, Child] = {}
        self._window = RestartWindow(policy)
        self._child_windows = policy.on_exhausted != "escalate"
        self._tokens = itertools.count(1)
        self._timers = Timers(self._tell)
        self._watcher: ProcessWatcher | None = None
        self._stopping = False
        self._ops: dict[str, Callable[[Any], Any]] = {
            "start_child": self._start_child,
            "terminate_child": self._terminate_child,
            "restart_child": self._restart_child,
            "delete_child": self._delete_child,
            "which_children": self._which_children,
            "count_children": self._count_children,
            "lookup": self._lookup,
        }

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def exit_reason(self) -> ExitReason | None:
        """Read by the parent's watcher: ``shutdown`` after giving up."""
        return self.state.exit_reason

    # -- Pykka hooks -------------------------------------------------------------

    def on_start(self) -> None:
        self.state.thread = threading.current_thread()
        self._ref = self.actor_ref
        try:
            for spec in self._initial:
                self._start_child(spec)
        except BaseException:
            self._shutdown_all()
            raise
        finally:
            self._initial.clear()

    def on_stop(self) -> None:
        self._shutdown_all()
        if self.state.exit_reason is None:
            self.state.exit_reason = ExitReason.NORMAL

    def on_failure(self, *exc_info: Any) -> None:
        logger.error("supervisor %r crashed; stopping its children", self.name)
        self._shutdown_all()
        if self.state.exit_reason is None and exc_info[1] is not None:
            self.state.exit_reason = ExitReason.crash(exc_info[1])

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Incarnation):
            self._child_exited(message)
            return None
        if isinstance(message, Adopt):
            self._adopt(message)
            return None
        if isinstance(message, RestartDue):
            if not self._stopping:
                self._start_group(message.keys, message.token, message.delay)
            return None
        op, arg = message
        return self._ops[op](arg)

    # -- calls -------------------------------------------------------------------

    def _start_child(self, spec: ChildSpec) -> ChildInfo:
        if not isinstance(spec, ChildSpec):
            raise SupervisorError(f"supervisor {self.name!r}: start_child needs a ChildSpec, "
                                  f"not {spec!r}")
        self.state.claim(spec.key)
        child = Child(spec, self.policy, self._new_window(spec))
        try:
            self._launch(child, next_pid(), restart_delay=None)
        except BaseException:
            self.state.release(spec.key)
            raise
        self._children[spec.key] = child
        return child.info()

    def _adopt(self, message: Adopt) -> None:
        """Take over a child launched by the caller of `start_child` under its claim."""
        spec, inc = message.spec, message.inc
        child = Child(spec, self.policy, self._new_window(spec))
        child.inc = inc
        child.state = "running"
        self._children[spec.key] = child
        if self._stopping:
            self._shutdown(child)
        elif inc.done.is_set():
            self._child_exited(inc)  # it ended before we heard of it

    def _drop(self, key: Hashable) -> None:
        """Forget a child: its key may be started again."""
        del self._children[key]
        self.state.release(key)

    def _terminate_child(self, key: Hashable) -> None:
        child = self._get(key)
        if child.inc is not None:
            self._shutdown(child)
        child.state = "stopped"
        if child.restart == "temporary":
            self._drop(key)

    def _restart_child(self, key: Hashable) -> ChildInfo:
        child = self._get(key)
        if child.inc is not None:
            raise SupervisorError(
                f"child {key!r} of supervisor {self.name!r} is running; terminate_child it first"
            )
        self._launch(child, next_pid(), restart_delay=None)
        return child.info()

    def _delete_child(self, key: Hashable) -> None:
        child = self._get(key)
        if child.inc is not None:
            raise SupervisorError(
                f"child {key!r} of supervisor {self.name!r} is running; terminate_child it first"
            )
        self._drop(key)

    def _which_children(self, _: object) -> list[ChildInfo]:
        return [child.info() for child in self._children.values()]

    def _count_children(self, _: object) -> dict[str, int]:
        children = self._children.values()
        supervisors = sum(child.kind == "supervisor" for child in children)
        return {
            "specs": len(self._children),
            "active": sum(c.inc is not None and not c.inc.done.is_set() for c in children),
            "supervisors": supervisors,
            "workers": len(self._children) - supervisors,
        }

    def _lookup(self, key: Hashable) -> ChildInfo | None:
        child = self._children.get(key)
        return None if child is None else child.info()

    def _get(self, key: Hashable) -> Child:
        try:
            return self._children[key]
        except KeyError:
            raise SupervisorError(f"supervisor {self.name!r} has no child {key!r}") from None

    # -- starting and stopping children ------------------------------------------

    def _new_window(self, spec: ChildSpec) -> RestartWindow | None:
        now = self._clock()
        earlier = [now - age for age in spec.restart_history]
        if spec.policy is None and not self._child_windows:
            self._window.seed(earlier)
            return None
        return RestartWindow(spec.policy or self.policy, earlier)

    def _launch(self, child: Child, pid: int, restart_delay: float | None) -> None:
        """Start a new incarnation of ``child``; raise `SupervisorError` if it fails."""
        spec = child.spec
        if restart_delay is not None:
            call_hook(spec.on_restart, child.info(pid=pid), restart_delay)
        try:
            if spec.process is not None:
                inc: Incarnation = start_process(spec, pid, self._process_watcher())
            elif child.kind == "supervisor":
                inc = self._launch_supervisor(spec, pid)
            else:
                actor_class = spec.actor
                assert actor_class is not None
                assert issubclass(actor_class, ACTOR_TYPES)
                actor = actor_class(*spec.args, **spec.kwargs)
                inc = launch(actor, key=spec.key, pid=pid, notify=self._tell)
        except Exception as exc:
            raise SupervisorError(
                f"child {spec.key!r} of supervisor {self.name!r} failed to start: {exc!r}"
            ) from exc
        child.inc = inc
        child.state = "running"

    def _launch_supervisor(self, spec: ChildSpec, pid: int) -> Incarnation:
        from supervisor.supervisor import Supervisor

        kwargs = dict(spec.kwargs)
        kwargs.setdefault("name", f"{self.name}/{spec.key}")
        actor = SupervisorActor(*spec.args, pid=pid, **kwargs)
        handle = Supervisor(actor.actor_ref, actor.state)
        inc = launch(actor, key=spec.key, pid=pid, notify=self._tell, ref=handle,
                     abandon_on_kill=True)
        actor.state.done = inc.done
        return inc

    def _process_watcher(self) -> ProcessWatcher:
        if self._watcher is None:
            self._watcher = ProcessWatcher(self._tell)
        return self._watcher

    def _tell(self, message: object) -> None:
        """Post to our own mailbox from another thread; a stopped supervisor drops it."""
        with contextlib.suppress(pykka.ActorDeadError):
            self._ref.tell(message)

    def _shutdown(self, child: Child) -> None:
        inc = child.inc
        assert inc is not None
        child.inc = None
        child.state = "stopped"
        reason, exc = stop_incarnation(inc, child.shutdown)
        call_hook(child.spec.on_exit, child.info(inc), reason, exc)

    def _shutdown_all(self) -> None:
        """Stop every child in reverse start order; then our helper threads."""
        self._stopping = True
        for child in reversed(list(self._children.values())):
            if child.inc is not None:
                self._shutdown(child)
            child.state = "stopped"
        self._timers.close()
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None

    # -- exits and restarts --------------------------------------------------------

    def _child_exited(self, inc: Incarnation) -> None:
        child = self._children.get(inc.key)
        if inc.handled or child is None or child.inc is not inc or self._stopping:
            return
        inc.handled = True
        inc.join()
        child.inc = None
        child.state = "stopped"
        reason, exc = inc.exit_reason()
        info = child.info(inc)
        call_hook(child.spec.on_exit, info, reason, exc)
        if child.restart == "permanent" or (child.restart == "transient" and reason.abnormal):
            self._restart(child, info, reason, exc, self._group(child))
        elif child.restart == "temporary" or self._forget_exited:
            self._drop(inc.key)

    def _group(self, child: Child) -> list[Child]:
        """The children a restart of ``child`` involves, in start order."""
        strategy = self.policy.strategy
        if strategy == "one_for_one":
            return [child]
        children = list(self._children.values())
        return children if strategy == "one_for_all" else children[children.index(child):]

    def _restart(
        self,
        child: Child,
        info: ChildInfo,
        reason: ExitReason,
        exc: BaseException | None,
        group: list[Child],
    ) -> None:
        """Count one restart of ``group`` (caused by ``child``) and do it, or give up."""
        policy = (child.spec.policy or self.policy) if child.window else self.policy
        count = (child.window or self._window).add(self._clock())
        if count > policy.max_restarts:
            self._exhausted(child, policy, info, reason, exc, group)
            return
        delay = policy.backoff.delay(count - 1, self._random)
        for other in reversed(group):
            if other is not child and other.inc is not None:
                self._shutdown(other)
        group = [c for c in group if c is child or c.restart != "temporary" or self._forget(c)]
        self._schedule(group, delay)

    def _forget(self, child: Child) -> bool:
        self._drop(child.spec.key)
        return False

    def _schedule(self, group: list[Child], delay: float) -> None:
        token = next(self._tokens)
        for child in group:
            child.state = "restarting"
            child.token = token
        keys = tuple(child.spec.key for child in group)
        if delay > 0:
            logger.debug("supervisor %r restarts %r in %.3f s", self.name, keys, delay)
            self._timers.schedule(delay, RestartDue(keys, token, delay))
        else:
            self._start_group(keys, token, delay)

    def _start_group(self, keys: tuple[Hashable, ...], token: int, delay: float) -> None:
        todo = [
            child
            for key in keys
            if (child := self._children.get(key)) is not None
            and child.state == "restarting"
            and child.token == token
        ]
        for i, child in enumerate(todo):
            child.restarts += 1
            pid = next_pid()
            try:
                self._launch(child, pid, restart_delay=delay)
            except SupervisorError as err:
                self._failed_restart(child, pid, err, todo, i)
                return

    def _failed_restart(
        self, child: Child, pid: int, err: SupervisorError, todo: list[Child], i: int
    ) -> None:
        """A start failed mid-restart: it counts as a restart; retry as the strategy says."""
        exc = err.__cause__ or err
        reason = ExitReason.crash(exc)
        info = child.info(pid=pid)
        logger.warning("%s", err)
        call_hook(child.spec.on_exit, info, reason, exc)
        child.state = "stopped"
        if self.policy.strategy == "one_for_all":
            for started in reversed(todo[:i]):
                if started.inc is not None:
                    self._shutdown(started)
            retry = todo
        else:
            retry = todo[i:]
        self._restart(child, info, reason, exc, retry)

    def _exhausted(
        self,
        child: Child,
        policy: RestartPolicy,
        info: ChildInfo,
        reason: ExitReason,
        exc: BaseException | None,
        group: list[Child],
    ) -> None:
        if policy.on_exhausted == "escalate":
            self._give_up(info, reason)
            return
        logger.warning(
            "supervisor %r: child %r exited (%s) more than %d times in %.3g s; %s",
            self.name, child.spec.key, reason, policy.max_restarts, policy.within_seconds,
            policy.on_exhausted,
        )
        self._drop(child.spec.key)
        call_hook(child.spec.on_exhausted, info, reason, exc, policy.on_exhausted)
        waiting = [c for c in group if c is not child and c.state == "restarting"]
        if waiting:
            self._schedule(waiting, 0.0)

    def _give_up(self, info: ChildInfo, reason: ExitReason) -> None:
        """Intensity exhausted: stop all children, exit ``shutdown`` and tell the host."""
        logger.error(
            "supervisor %r gives up: child %r exited (%s) more than %d times in %.3g s",
            self.name, info.key, reason, self.policy.max_restarts, self.policy.within_seconds,
        )
        self.state.exit_reason = ExitReason.SHUTDOWN
        self._shutdown_all()
        call_hook(self._on_exhausted, self.name, info, reason)
        self._stop()
