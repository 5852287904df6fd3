"""Actors, process targets and polling helpers shared by the supervisor tests."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import pykka

from supervisor import ChildInfo, ExitReason, Supervisor

TIMEOUT = 15.0


def wait_until(predicate: Callable[[], object], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.002)


class Log:
    """A thread-safe list of what actors did, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[tuple[str, str]] = []

    def add(self, what: str, name: str) -> None:
        with self._lock:
            self._items.append((what, name))

    def items(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._items)

    def count(self, what: str, name: str) -> int:
        return self.items().count((what, name))


class Budget:
    """A thread-safe countdown: ``take()`` is True ``n`` times."""

    def __init__(self, n: int = 0) -> None:
        self._lock = threading.Lock()
        self.n = n

    def arm(self, n: int) -> None:
        with self._lock:
            self.n = n

    def take(self) -> bool:
        with self._lock:
            if self.n <= 0:
                return False
            self.n -= 1
            return True


class Worker(pykka.ThreadingActor):
    """A plain actor that knows nothing about supervision."""

    def __init__(
        self, name: str = "w", log: Log | None = None, fail_start: Budget | None = None
    ) -> None:
        super().__init__()
        self.name = name
        self.log = log or Log()
        self.fail_start = fail_start

    def on_start(self) -> None:
        if self.fail_start is not None and self.fail_start.take():
            self.log.add("start-failed", self.name)
            raise RuntimeError(f"{self.name} cannot start")
        self.log.add("start", self.name)

    def on_stop(self) -> None:
        self.log.add("stop", self.name)

    def on_receive(self, message: Any) -> Any:
        if message == "crash":
            raise ValueError(f"{self.name} crashed")
        if message == "stop":
            self.stop()
        elif isinstance(message, tuple) and message[0] == "block":
            message[1].wait()
            if message[2]:
                raise ValueError(f"{self.name} crashed late")
        elif isinstance(message, tuple) and message[0] == "tell":
            message[1].tell(message[2])
        return (self.name, message)


class BadInit(pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        raise KeyError("no config")


class Exits:
    """Collects ``on_exit`` calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[Hashable, int | None, ExitReason, BaseException | None]] = []

    def __call__(self, info: ChildInfo, reason: ExitReason, exc: BaseException | None) -> None:
        with self._lock:
            self.calls.append((info.key, info.pid, reason, exc))

    def reasons(self, key: Hashable) -> list[ExitReason]:
        with self._lock:
            return [reason for k, _, reason, _ in self.calls if k == key]


def current(sup: Supervisor, key: Hashable) -> ChildInfo:
    info = sup.lookup(key)
    assert info is not None, f"no child {key!r}"
    return info


def restarted(sup: Supervisor, key: Hashable, old_pid: int | None) -> ChildInfo:
    """Wait until ``key`` runs with a pid other than ``old_pid``; return it."""
    holder: list[ChildInfo] = []

    def check() -> bool:
        info = sup.lookup(key)
        if info is not None and info.alive and info.pid != old_pid:
            holder.append(info)
            return True
        return False

    wait_until(check, f"child {key!r} to be restarted")
    return holder[-1]


def crash(sup: Supervisor, key: Hashable) -> ChildInfo:
    """Crash a thread child by a ``tell`` that raises; return its replacement."""
    info = current(sup, key)
    assert isinstance(info.ref, pykka.ActorRef)
    info.ref.tell("crash")
    return restarted(sup, key, info.pid)


def descendants() -> set[int]:
    """OS pids of every live descendant of this process (forkserver children included)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry))
    found: set[int] = set()
    todo = [os.getpid()]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


# -- process targets (module-level so forkserver children can import them) ----------


def sleep_forever() -> None:
    while True:
        time.sleep(1)


def exit_with(code: int, delay: float = 0.0) -> None:
    time.sleep(delay)
    os._exit(code)


def ignore_sigterm(ready: str) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    Path(ready).touch()
    sleep_forever()
