"""Module-level activities the tests run, importable by worker processes by name."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aion_actors.workers import current_attempt


def echo(*args: Any) -> list[Any]:
    return list(args)


def fail(message: str) -> None:
    raise ValueError(message)


def exit_hard(code: int) -> None:
    os._exit(code)


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def sleep(seconds: float, marker: str | None = None) -> float:
    """Sleep; first create `marker` (a file path) so a test can see the attempt started."""
    if marker:
        Path(marker).touch()
    time.sleep(seconds)
    return seconds


def note(path: str, key: str, then: str = "return", seconds: float = 0.0) -> str:
    """Append `key` to the file `path` (each run leaves a line), then return it, after
    `seconds` ("sleep"), or exit the worker ("exit")."""
    with open(path, "a") as lines:
        lines.write(f"{key}\n")
    if then == "exit":
        os._exit(3)
    time.sleep(seconds)
    return key


def whoami() -> dict[str, Any]:
    attempt = current_attempt()
    return {
        "workflow_id": attempt.workflow_id,
        "run_id": attempt.run_id,
        "activity_id": attempt.activity_id,
        "attempt": attempt.attempt,
        "key": attempt.idempotency_key,
        "pid": os.getpid(),
        "thread": threading.current_thread().name,
    }


def unrecordable() -> dict[str, Any]:
    return {"ok": [1, 2, {3, 4}]}


def pid() -> int:
    return os.getpid()


def leave_behind(pid_file: str, how: str, then: str) -> list[int]:
    """Start a process that sleeps 60 s — `sleep 60` by `subprocess.Popen` ("popen") or a
    forked child ("fork") — write its pid and the worker's to `pid_file`, then "return"
    them, "exit" (the worker crashes) or "hang" (past any timeout)."""
    if how == "popen":
        grandchild = subprocess.Popen(["sleep", "60"]).pid
    else:
        grandchild = os.fork()
        if grandchild == 0:  # the forked child only sleeps
            time.sleep(60)
            os._exit(0)
    pids = [grandchild, os.getpid()]
    Path(f"{pid_file}.tmp").write_text(" ".join(map(str, pids)))
    os.replace(f"{pid_file}.tmp", pid_file)
    if then == "exit":
        os._exit(3)
    if then == "hang":
        time.sleep(60)
    return pids


def to_terminal(text: str) -> str:
    """Print `text`, then try to read the controlling terminal; say how the read failed."""
    print(text, flush=True)
    try:
        with open("/dev/tty", "rb", buffering=0) as tty:
            return f"read {tty.read(1)!r}"
    except OSError as exc:
        return f"reading the terminal: {exc}"


def tuple_back(value: Any) -> tuple[Any, ...]:
    return (value, (value,))


class _Wrapper:
    """A callable object standing in for an `@activity`-decorated function."""

    def __init__(self, function: Any) -> None:
        self.function = function

    def __call__(self, *args: Any) -> Any:
        return {"wrapped": self.function(*args)}


wrapped_echo = _Wrapper(echo)


def beat_big() -> None:
    """Heartbeats details over the payload limit."""
    current_attempt().heartbeat("x" * (5 * 1024 * 1024))


class BrokenStr(Exception):
    """An exception whose message cannot be read: its `__str__` raises."""

    def __str__(self) -> str:
        raise RuntimeError("str boom")


class Escape(BaseException):
    """A `BaseException` of the activity's own, neither `SystemExit` nor `KeyboardInterrupt`."""


#: what `raise_odd(kind)` raises, by kind (its class name): the message it is recorded with
ODD = {
    "SystemExit": "3",
    "KeyboardInterrupt": "interrupted",
    "Escape": "escaped",
    "BrokenStr": "<str() raised RuntimeError: str boom>",
}


def odd(kind: str) -> BaseException:
    """A new exception of `kind` (a key of `ODD`)."""
    made: dict[str, Callable[[], BaseException]] = {
        "SystemExit": lambda: SystemExit(3),
        "KeyboardInterrupt": lambda: KeyboardInterrupt("interrupted"),
        "Escape": lambda: Escape("escaped"),
        "BrokenStr": BrokenStr,
    }
    return made[kind]()


def raise_odd(kind: str) -> None:
    raise odd(kind)


NAMES = (
    "echo",
    "fail",
    "exit_hard",
    "kill_self",
    "sleep",
    "note",
    "whoami",
    "unrecordable",
    "pid",
    "tuple_back",
    "wrapped_echo",
    "leave_behind",
    "to_terminal",
    "beat_big",
    "raise_odd",
)
PATHS = {name: f"{__name__}:{name}" for name in NAMES}
FUNCTIONS = {name: globals()[name] for name in NAMES}
