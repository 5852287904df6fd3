"""Start and stop the children of one supervisor: actors, processes, sub-trees.

Used only from the supervisor's own thread. A sub-tree is started by a function the
supervisor actor hands in (it builds an actor of its own class), so this module does
not know the supervisor actor.
"""

from __future__ import annotations

from collections.abc import Callable

from supervisor._children import Child, call_hook
from supervisor._incarnation import Incarnation, Notify, stop_incarnation
from supervisor._watch import start_actor
from supervisor.errors import SupervisorError
from supervisor.process import ProcessWatcher, start_process
from supervisor.spec import ChildSpec

__all__ = ["Launcher", "StartSubtree"]

#: start a sub-supervisor child: ``(spec, pid) -> its incarnation``
StartSubtree = Callable[[ChildSpec, int], Incarnation]


class Launcher:
    """Starts a child's incarnations and stops them, for one supervisor."""

    __slots__ = ("_name", "_notify", "_start_subtree", "_watcher")

    def __init__(self, name: str, notify: Notify, start_subtree: StartSubtree) -> None:
        #: the supervisor's name, for error messages; fixed
        self._name = name
        #: how an exit reaches the supervisor (a ``tell`` to it); fixed
        self._notify = notify
        #: starts a sub-supervisor child; fixed
        self._start_subtree = start_subtree
        #: the thread that watches process children: None until the first one starts,
        #: and again after `close`
        self._watcher: ProcessWatcher | None = None

    def launch(self, child: Child, pid: int) -> None:
        """Start a new incarnation of ``child``; raise `SupervisorError` if it fails."""
        spec = child.spec
        try:
            if spec.process is not None:
                inc: Incarnation = start_process(spec, pid, self._process_watcher())
            elif child.kind == "supervisor":
                inc = self._start_subtree(spec, pid)
            else:
                inc = start_actor(spec, pid, self._notify)
        except Exception as exc:
            raise SupervisorError(
                f"child {spec.key!r} of supervisor {self._name!r} failed to start: {exc!r}"
            ) from exc
        child.inc = inc
        child.state = "running"

    def shutdown(self, child: Child) -> None:
        """Stop ``child``'s running incarnation as its shutdown says; report the exit."""
        inc = child.inc
        assert inc is not None
        child.inc = None
        child.state = "stopped"
        reason, exc = stop_incarnation(inc, child.shutdown)
        call_hook(child.spec.on_exit, child.info(inc), reason, exc)

    def close(self) -> None:
        """Stop watching processes; call once every child has exited."""
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None

    def _process_watcher(self) -> ProcessWatcher:
        if self._watcher is None:
            self._watcher = ProcessWatcher(self._notify)
        return self._watcher
