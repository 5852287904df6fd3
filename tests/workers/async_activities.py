"""`async def` activities the tests run, importable by worker processes by name."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

from aion_actors import RetryPolicy, activity, current_attempt
from tests.workers import activities

QUICK = RetryPolicy(max_attempts=3, initial=0.01, max_interval=0.01)

#: how many `gather` attempts wait together on the loop right now
_waiting: list[asyncio.Event] = []
_count = [0]


async def gather(expected: int) -> str:
    """Wait until `expected` attempts wait here at once; the loop thread's name."""
    if not _waiting:
        _waiting.append(asyncio.Event())
    _count[0] += 1
    if _count[0] >= expected:
        _waiting[0].set()
    await asyncio.wait_for(_waiting[0].wait(), timeout=20)
    return threading.current_thread().name


async def flaky(marker: str) -> dict[str, Any]:
    """Fails its first two attempts; says which attempt succeeded, and its idempotency key."""
    attempt = current_attempt()
    await asyncio.sleep(0)
    with Path(marker).open("a") as file:
        file.write(f"{attempt.attempt} {attempt.idempotency_key}\n")
    if attempt.attempt < 3:
        raise ConnectionError(f"attempt {attempt.attempt} fails")
    return {"attempt": attempt.attempt, "key": attempt.idempotency_key, "pid": os.getpid()}


async def hang(marker: str) -> None:
    """Never ends by itself; notes in `marker` each time its coroutine is cancelled."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        with Path(marker).open("a") as file:
            file.write("cancelled\n")
        raise


async def raise_odd(kind: str) -> None:
    """Raise `activities.odd(kind)` from the activity's own coroutine."""
    await asyncio.sleep(0)
    raise activities.odd(kind)


async def raise_odd_in_task(kind: str) -> None:
    """Raise `activities.odd(kind)` from a task the activity gathers (asyncio lets a
    SystemExit or KeyboardInterrupt of a task out of the loop's `run_forever`)."""
    await asyncio.gather(raise_odd(kind))


async def echo(*args: Any) -> list[Any]:
    await asyncio.sleep(0)
    return list(args)


gather_on_thread = activity(executor="thread", name="gather")(gather)
flaky_on_thread = activity(executor="thread", name="flaky", retry=QUICK)(flaky)
hang_on_thread = activity(
    executor="thread", name="hang", timeout=0.3, retry=RetryPolicy(max_attempts=2, initial=0.01)
)(hang)
flaky_in_process = activity(executor="process", name="flaky_p", retry=QUICK)(flaky)


def reset_gather() -> None:
    _waiting.clear()
    _count[0] = 0


#: the async activities a bare `ThreadExecutor` test runs, by name
FUNCTIONS = {
    "raise_odd_async": raise_odd,
    "raise_odd_in_task": raise_odd_in_task,
    "echo_async": echo,
}
