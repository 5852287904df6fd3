"""Activities that heartbeat, stall or get cancelled, and the workflows that await them.

Each activity notes what it saw in a ledger file (one line per note), so a
test can tell which attempt ran, in which process, with which details.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from aion_actors import (
    ActivityCancelled,
    RetryPolicy,
    WorkflowContext,
    activity,
    current_attempt,
    workflow,
)

_QUICK_RETRY = RetryPolicy(max_attempts=3, initial=0.01, multiplier=1)


def note(ledger: str, *words: Any) -> None:
    with open(ledger, "a") as out:
        out.write(" ".join(str(w) for w in words) + "\n")


def notes(ledger: str) -> list[list[str]]:
    try:
        with open(ledger) as lines:
            return [line.split() for line in lines]
    except FileNotFoundError:
        return []


def heard(ledger: str) -> list[tuple[str, str]]:
    """The `(reason, message)` of each `ActivityCancelled` an activity heard, in order."""
    try:
        with open(ledger + ".heard") as lines:
            said = (line.rstrip("\n").partition(" ") for line in lines)
            return [(reason, message) for reason, _, message in said]
    except FileNotFoundError:
        return []


def _hear(ledger: str, told: ActivityCancelled) -> None:
    with open(ledger + ".heard", "a") as out:
        out.write(f"{told.reason.value} {told}\n")


def _fails_first_with_details(ledger: str) -> Any:
    """Attempt 1 beats [1, 0], [1, 1], [1, 2] in a burst, then fails; attempt 2 returns the
    details it was given."""
    info = current_attempt()
    note(ledger, "attempt", info.attempt, info.heartbeat_details)
    if info.attempt == 1:
        for i in range(3):
            info.heartbeat([1, i])
        raise RuntimeError("attempt 1 fails after its heartbeats")
    return info.heartbeat_details


@activity(retry=_QUICK_RETRY)
def details_in_process(ledger: str) -> Any:
    return _fails_first_with_details(ledger)


@activity(retry=_QUICK_RETRY, executor="thread")
def details_in_thread(ledger: str) -> Any:
    return _fails_first_with_details(ledger)


def _stalls_first(ledger: str, stall: float) -> str:
    """Attempt 1 beats once, then sends no heartbeat for `stall` seconds."""
    info = current_attempt()
    note(ledger, "attempt", info.attempt, os.getpid())
    if info.attempt == 1:
        info.heartbeat()
        time.sleep(stall)
        note(ledger, "late", info.attempt)
        try:
            info.heartbeat()  # its attempt timed out meanwhile: this says so
        except ActivityCancelled as told:
            _hear(ledger, told)
        return "late"
    return "done"


@activity(retry=_QUICK_RETRY, heartbeat_timeout=0.5)
def stalls_in_process(ledger: str) -> str:
    return _stalls_first(ledger, 60)


@activity(retry=_QUICK_RETRY, heartbeat_timeout=0.5, executor="thread")
def stalls_in_thread(ledger: str) -> str:
    return _stalls_first(ledger, 1.5)


@activity(heartbeat_timeout=1.0)
def beats_steadily(ledger: str) -> str:
    """Beats every 0.1 s for 2.5 s: over twice its heartbeat timeout, never timed out."""
    info = current_attempt()
    note(ledger, "attempt", info.attempt)
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        info.heartbeat()
        time.sleep(0.1)
    return "steady"


def _until_cancelled(ledger: str, cleanup: float = 0.0, limit: float = 30.0) -> str:
    """Beats every 50 ms until cancelled (then cleans up for `cleanup` s and acknowledges),
    or until `limit` s have passed."""
    info = current_attempt()
    note(ledger, "started", info.attempt, os.getpid())
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            info.heartbeat()
            threading.Event().wait(0.05)
    except ActivityCancelled as told:
        _hear(ledger, told)
        time.sleep(cleanup)
        note(ledger, "acknowledged", info.attempt)
        raise
    note(ledger, "finished", info.attempt)
    return "finished"


@activity(cancel="try")
def cancel_try(ledger: str) -> str:
    return _until_cancelled(ledger)


@activity(cancel="wait")
def cancel_wait(ledger: str) -> str:
    return _until_cancelled(ledger, cleanup=0.3)


@activity(cancel="wait", executor="thread")
def cancel_wait_thread(ledger: str) -> str:
    return _until_cancelled(ledger, cleanup=0.3)


@activity(cancel="abandon")
def cancel_abandon(ledger: str) -> str:
    return _until_cancelled(ledger, limit=1.0)


def _ignores(ledger: str) -> str:
    """Beats and swallows every `ActivityCancelled`: it never stops by itself."""
    info = current_attempt()
    note(ledger, "started", info.attempt, os.getpid())
    while True:
        try:
            info.heartbeat()
        except ActivityCancelled:
            note(ledger, "ignored", info.attempt)
        threading.Event().wait(0.05)


@activity(cancel="wait", cancel_grace=0.5)
def ignores_cancel(ledger: str) -> str:
    return _ignores(ledger)


@activity(cancel="wait", cancel_grace=60)
def ignores_cancel_long(ledger: str) -> str:
    return _ignores(ledger)


@activity
def resumes(ledger: str) -> Any:
    """Counts up from the details of the last recorded heartbeat; an attempt that was given
    details returns them at once, one that was not counts until the engine is killed."""
    info = current_attempt()
    note(ledger, "attempt", info.attempt, info.heartbeat_details)
    if info.heartbeat_details is not None:
        return ["resumed from", info.heartbeat_details]
    for i in range(100_000):
        info.heartbeat(i)
        threading.Event().wait(0.05)
    return "never resumed"


@workflow
async def awaits(ctx: WorkflowContext, name: str, ledger: str) -> Any:
    return await ctx.activity(name, ledger)


@workflow
async def races_a_timer(ctx: WorkflowContext, name: str, ledger: str) -> list[Any]:
    """`wait_first` of a long activity and a short sleep: the sleep wins."""
    index, _ = await ctx.wait_first(ctx.activity(name, ledger), ctx.sleep(0.3))
    return [index, "the activity lost"]


ALL = [
    races_a_timer,
    details_in_process,
    details_in_thread,
    stalls_in_process,
    stalls_in_thread,
    beats_steadily,
    cancel_try,
    cancel_wait,
    cancel_wait_thread,
    cancel_abandon,
    ignores_cancel,
    ignores_cancel_long,
    resumes,
    awaits,
]
