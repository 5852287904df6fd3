"""Run a coroutine on an event loop that fails the test when anything blocks it > 20 ms.

Every callback and task step the loop runs is timed (`asyncio.Handle._run`,
wrapped for the duration). A step blocks the loop for the time it spends

- computing (the loop thread's CPU time during the step), plus
- inside a blocking call: a lock's `acquire` (every wait for a commit, a
  latch, a condition or a future comes down to one), `sleep`, `select`,
  `poll`, `recv`, `fsync`, `join` — timed by a profile hook on the loop
  thread that watches calls into C.

less the time the OS kept the thread waiting for a CPU (its run delay in
`/proc/thread-self/schedstat`). Wall time alone would blame our code for
what the environment does: on a busy CI machine the OS preempts the loop's
thread, and the engine's own threads hold the GIL (trivial callbacks took
20-50 ms of wall time under load); while watched the interpreter switches
threads every 0.5 ms rather than 5, so a call into C that released the GIL
gets it back sooner. A step over 20 ms fails the test; a task waking
every 5 ms also records its lateness (reported only).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")

LIMIT = 0.020
TICK = 0.005
#: while watched, the interpreter switches threads this often (not every 5 ms): a thread
#: that releases the GIL in a call into C gets it back sooner behind the engine's threads
SWITCH = 0.0005
_SCHEDSTAT = Path("/proc/thread-self/schedstat")
#: calls into C that wait (a lock's acquire is what every blocking wait comes down to)
BLOCKING = frozenset({"acquire", "sleep", "select", "poll", "recv", "recv_bytes", "fsync", "join"})


@dataclass
class Watch:
    slow: list[str] = field(default_factory=list)
    worst_step: float = 0.0
    worst_lateness: float = 0.0
    #: seconds the loop thread has spent inside blocking calls so far
    blocked: float = 0.0
    _since: list[float] = field(default_factory=list)

    def profile(self, _frame: FrameType, event: str, arg: Any) -> None:
        if not event.startswith("c_") or getattr(arg, "__name__", "") not in BLOCKING:
            return
        if event == "c_call":
            self._since.append(time.perf_counter())
        elif self._since:  # its return (or exception)
            self.blocked += time.perf_counter() - self._since.pop()


def _run_delay() -> float:
    """Seconds this thread has waited on a run queue so far (0 where Linux does not say)."""
    try:
        return int(_SCHEDSTAT.read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def _where(task: asyncio.Task[Any]) -> str:
    """Where the task resumes (its innermost suspended frame)."""
    frames = task.get_stack()
    if not frames:
        return ""
    code = frames[-1].f_code
    return f" resuming {code.co_name} at {code.co_filename}:{frames[-1].f_lineno}"


def run_watched(main: Callable[[], Awaitable[T]]) -> tuple[T, Watch]:
    """`main()` on a watched loop; its result and what the watch saw."""
    watch = Watch()
    original = asyncio.events.Handle._run  # noqa: SLF001 - timing every step is the point
    loop_thread = threading.get_ident()  # asyncio.run runs the loop on this thread

    def timed(handle: asyncio.Handle) -> None:
        if threading.get_ident() != loop_thread:
            original(handle)
            return
        task = getattr(getattr(handle, "_callback", None), "__self__", None)
        where = _where(task) if isinstance(task, asyncio.Task) else ""
        cpu, blocked, delay = time.thread_time(), watch.blocked, _run_delay()
        original(handle)
        # less the time the OS kept the thread off a CPU it was ready for (preempted)
        held = time.thread_time() - cpu + watch.blocked - blocked - (_run_delay() - delay)
        watch.worst_step = max(watch.worst_step, held)
        if held > LIMIT:
            watch.slow.append(f"{handle!r}{where} held the loop {held * 1000:.1f} ms")

    async def watched() -> T:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        async def ticks() -> None:
            while not stop.is_set():
                before = loop.time()
                await asyncio.sleep(TICK)
                watch.worst_lateness = max(watch.worst_lateness, loop.time() - before - TICK)

        ticker = asyncio.create_task(ticks())
        try:
            return await main()
        finally:
            stop.set()
            await ticker

    setattr(asyncio.events.Handle, "_run", timed)  # noqa: B010
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH)
    sys.setprofile(watch.profile)
    try:
        result: Any = asyncio.run(watched())
        return result, watch
    finally:
        sys.setprofile(None)
        sys.setswitchinterval(interval)
        setattr(asyncio.events.Handle, "_run", original)  # noqa: B010


def assert_never_blocked(watch: Watch) -> None:
    assert watch.slow == [], f"the event loop was blocked > {LIMIT * 1000:.0f} ms: {watch.slow}"
