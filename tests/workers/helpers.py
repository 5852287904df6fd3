"""Waiting on executors without fixed sleeps: callbacks collected, conditions polled."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from aion_actors.workers import AttemptInfo, Executor, Outcome, Task
from tests.crashes import process_states

WAIT = 30.0  # generous: the CI machine is small and shared


def attempt(activity_id: str = "a1", number: int = 1) -> AttemptInfo:
    return AttemptInfo("wf-1", "run-1", activity_id, number)


class Collector:
    """Collects outcomes by key and remembers every call, to check 'exactly once'."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.calls: list[tuple[str, Outcome]] = []
        self.threads: set[str] = set()

    def callback(self, key: str) -> Callable[[Outcome], None]:
        def done(outcome: Outcome) -> None:
            with self._cond:
                self.calls.append((key, outcome))
                self.threads.add(threading.current_thread().name)
                self._cond.notify_all()

        return done

    def wait_for(self, count: int, timeout: float = WAIT) -> dict[str, Outcome]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.calls) >= count, timeout):
                raise AssertionError(f"{len(self.calls)} of {count} outcomes after {timeout} s")
            return dict(self.calls)


def run_one(
    executor: Executor, name: str, *args: Any, timeout: float | None = None, key: str = "a1"
) -> Outcome:
    """Submit one task and wait for its outcome."""
    collector = Collector()
    executor.submit(Task(name, args, attempt(key), timeout), collector.callback(key))
    return collector.wait_for(1)[key]


def wait_until(condition: Callable[[], bool], timeout: float = WAIT, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.01)


def is_running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def command_of(pid: int) -> str:
    """The command line of `pid`, arguments joined by spaces ("" once it is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def wait_gone(pids: Iterable[int], timeout: float, what: str) -> None:
    """Wait until none of `pids` runs; else fail naming the survivors and their commands."""
    pids = tuple(pids)
    deadline = time.monotonic() + timeout
    while alive(pids):
        if time.monotonic() > deadline:
            survivors = {pid: command_of(pid)[:60] for pid in alive(pids)}
            raise AssertionError(f"{what}: still running after {timeout} s: {survivors}")
        time.sleep(0.01)


def kill_leftovers(pids: Iterable[int]) -> None:
    """SIGKILL those of `pids` (processes a test caused) still running, so a failing test
    leaves nothing behind."""
    for pid in alive(tuple(pids)):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def alive(pids: tuple[int, ...]) -> list[int]:
    return [p for p in pids if is_running(p)]


def own_threads() -> set[threading.Thread]:
    return set(threading.enumerate())


def children(parent: int | None = None) -> set[int]:
    """Live (non-zombie) direct child processes of `parent`, by default this process."""
    me = str(os.getpid() if parent is None else parent)
    return {pid for pid, fields in process_states() if fields[1] == me and fields[0] != "Z"}


def assert_result_limit_of(executor: Executor) -> None:
    """With `max_result_bytes=100`: a 50-char result passes, a 200-char one fails naming it."""
    try:
        small, large = run_one(executor, "echo", "x" * 50), run_one(executor, "echo", "x" * 200)
    finally:
        executor.close()
    assert small.ok and small.result == ["x" * 50]
    assert large.error is not None and large.error["type"] == "PayloadError"
    assert "result: encodes to 203 bytes, over the 100-byte payload limit" in large.error["message"]
    assert "'echo'" in large.error["message"]
