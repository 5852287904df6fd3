"""Process children: start on a forkserver/spawn context, watch exits, stop, kill.

One watcher thread per supervisor waits on every child's sentinel with
`multiprocessing.connection.wait` (plus a wake-up pipe for new children), reaps the
exit code and tells the supervisor. It is the only code that polls our processes:
each one is dropped from `multiprocessing`'s own table of children right after it
starts, because `Process.start()` and `active_children()` poll that table from any
thread, and two threads polling one forkserver child can read its exit status twice
(the loser records exit code 255).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.process
import os
import threading
from collections.abc import Hashable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

from supervisor._incarnation import Incarnation, Notify
from supervisor.spec import ChildSpec, ExitReason

__all__ = ["ProcessChild", "ProcessRef", "ProcessWatcher", "start_process"]

#: How long to wait for the OS to reap a process after SIGKILL.
_REAP_SECONDS = 10.0

_mp_children: set[BaseProcess] = vars(multiprocessing.process)["_children"]


class ProcessRef:
    """A caller's view of one supervised process incarnation.

    Signal it by ``os_pid`` if you must (e.g. ``os.kill(ref.os_pid, SIGKILL)``); do not
    poll it through `multiprocessing`: the supervisor's watcher owns the reaping.
    """

    __slots__ = ("_child", "os_pid", "pid")

    def __init__(self, pid: int, os_pid: int, child: ProcessChild) -> None:
        #: the supervisor's pid of this incarnation; fixed
        self.pid = pid
        #: the OS pid of the process; fixed
        self.os_pid = os_pid
        #: the incarnation it views; fixed
        self._child = child

    def is_alive(self) -> bool:
        return not self._child.done.is_set()

    @property
    def exitcode(self) -> int | None:
        """`multiprocessing` exit code (negative: killed by that signal); None while alive."""
        return self._child.exitcode

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the process has exited; True if it has."""
        return self._child.done.wait(timeout)

    def __repr__(self) -> str:
        state = "alive" if self.is_alive() else f"exitcode={self.exitcode}"
        return f"<ProcessRef pid={self.pid} os_pid={self.os_pid} {state}>"


class ProcessChild(Incarnation):
    """One run of a process child."""

    __slots__ = ("exitcode", "lock", "process")

    def __init__(self, key: Hashable, pid: int, process: BaseProcess) -> None:
        assert process.pid is not None
        super().__init__(key, pid, None)
        self.ref = ProcessRef(pid, process.pid, self)
        #: the process; closed once reaped
        self.process = process
        #: None while it runs; set once, by the watcher, before ``done``
        self.exitcode: int | None = None
        #: signal vs reap: never signal a reaped process
        self.lock = threading.Lock()

    def exit_reason(self) -> tuple[ExitReason, BaseException | None]:
        return ExitReason.from_exitcode(255 if self.exitcode is None else self.exitcode), None

    def request_stop(self) -> None:
        with self.lock:
            if not self.done.is_set():
                self.process.terminate()

    def force_stop(self) -> None:
        with self.lock:
            if not self.done.is_set():
                self.process.kill()

    def wait_forced(self) -> None:
        self.done.wait(_REAP_SECONDS)


def start_process(spec: ChildSpec, pid: int, watcher: ProcessWatcher) -> ProcessChild:
    """Start ``spec.process`` in a new process and hand it to ``watcher``."""
    context = (
        multiprocessing.get_context("spawn")
        if spec.start_method == "spawn"
        else multiprocessing.get_context("forkserver")
    )
    process = context.Process(
        target=spec.process,
        args=spec.args,
        kwargs=dict(spec.kwargs),
        name=f"{spec.key}-{pid}",
        daemon=True,
    )
    process.start()
    _mp_children.discard(process)
    child = ProcessChild(spec.key, pid, process)
    watcher.add(child)
    return child


class ProcessWatcher:
    """One thread that notices every process exit of one supervisor."""

    def __init__(self, notify: Notify) -> None:
        #: told of each exit, from the watcher thread; fixed
        self._notify = notify
        #: guards ``_children`` and ``_closed``
        self._lock = threading.Lock()
        #: sentinel -> a process not yet reaped; each is reaped and removed once
        self._children: dict[int, ProcessChild] = {}
        #: set once by `close`; the thread then returns
        self._closed = False
        #: wakes the thread when a child is added or on close; open until `close`
        self._wake_r, self._wake_w = os.pipe()
        #: the watcher thread; fixed
        self._thread = threading.Thread(target=self._run, name="supervisor-process-watcher")
        self._thread.start()

    def add(self, child: ProcessChild) -> None:
        with self._lock:
            self._children[child.process.sentinel] = child
        os.write(self._wake_w, b"\0")

    def close(self) -> None:
        """Stop watching and join the thread; call once every child has exited."""
        with self._lock:
            self._closed = True
        os.write(self._wake_w, b"\0")
        self._thread.join()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                sentinels: list[Any] = [self._wake_r, *self._children]
            for ready in wait(sentinels):
                assert isinstance(ready, int)
                if ready == self._wake_r:
                    os.read(self._wake_r, 4096)
                    continue
                with self._lock:
                    child = self._children.pop(ready)
                self._reap(child)

    def _reap(self, child: ProcessChild) -> None:
        process = child.process
        with child.lock:
            process.join()
            child.exitcode = process.exitcode
            process.close()
            child.done.set()
        self._notify(child)
