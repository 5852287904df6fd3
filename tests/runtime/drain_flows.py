"""Workflows for the drain tests: two steps, the first one announcing that it runs.

The announcement is a connection to a Unix socket the test listens on, so the
test waits for it without polling, from a thread or a worker process alike; an
attempt run again once the test has stopped listening finds no one and goes on.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from aion_actors import WorkflowContext, activity, workflow


def _step(announce: str, ledger: str, name: str, seconds: float) -> str:
    with open(ledger, "a") as f:
        f.write(name + "\n")
    if announce:
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
            sock.connect(announce)
    time.sleep(seconds)
    return name


@activity(executor="thread")
def step_in_a_thread(announce: str, ledger: str, name: str, seconds: float) -> str:
    return _step(announce, ledger, name, seconds)


@activity(executor="process")
def step_in_a_worker(announce: str, ledger: str, name: str, seconds: float) -> str:
    return _step(announce, ledger, name, seconds)


@activity(executor="thread", concurrency=1)
def step_one_at_a_time(announce: str, ledger: str, name: str, seconds: float) -> str:
    return _step(announce, ledger, name, seconds)


STEPS = {"thread": step_in_a_thread, "process": step_in_a_worker, "limited": step_one_at_a_time}


@workflow
async def two_steps(
    ctx: WorkflowContext, announce: str, ledger: str, seconds: float, executor: str
) -> list[str]:
    step = STEPS[executor]
    first = await ctx.activity(step, announce, ledger, "first", seconds)
    return [first, await ctx.activity(step, "", ledger, "second", 0.0)]


ALL = (two_steps, step_in_a_thread, step_in_a_worker, step_one_at_a_time)


@contextlib.contextmanager
def announcements(directory: Path) -> Iterator[tuple[str, socket.socket]]:
    """A Unix socket listening at a path in `directory` (its path, the socket)."""
    path = str(directory / "announce.sock")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen()
        yield path, server


def wait_announced(server: socket.socket, timeout: float = 30.0) -> None:
    """Block until an attempt announces itself (a `TimeoutError` after `timeout` s)."""
    server.settimeout(timeout)
    connection, _ = server.accept()
    connection.close()
