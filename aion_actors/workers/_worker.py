"""What a worker process runs: resolve the activities, then serve tasks until told to stop.

Everything on the pipe is a msgpack array with an op code first; nothing is
pickled. The parent sends `[RUN, name, args, [workflow_id, run_id,
activity_id, attempt], heartbeat_details, heartbeat_interval, max_bytes]`,
`[CANCEL, ids]`, `[WITHDRAW]` or `[STOP]`; the worker answers each RUN with
`[OK, result]` or `[ERROR, error_map]`, one task at a time and in the order
sent, after any number of `[HEARTBEAT, details]` (throttled), or with
`[WITHDRAWN]` for one it did not start because a WITHDRAW came first. RUNs may come ahead of their
turn; what the worker holds meanwhile, and how a CANCEL or STOP reaches it,
is `_inbox`'s. While starting,
it says `[STARTED]` as soon as its own code runs (one that dies without
saying it died in multiprocessing's bootstrap, re-importing the main
script), announces each module before importing it (so a process that dies
inside an import can be blamed on that module) and ends with `[READY, {name:
[detail, traceback]}]`, naming the activities it could not resolve: those
fail on their own, the others run.

It leads a process group of its own from its first line and dies with the
engine (`_lifeline`); on EOF from the engine while idle it ends its group too.

This module stays light: the forkserver preloads it, and every replacement
worker starts from that warm image.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
import traceback
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from typing import Any, Final

from aion_actors.core import PayloadError, packb
from aion_actors.core.payloads import ActivityCodec, activity_codecs
from aion_actors.workers import _lifeline
from aion_actors.workers._inbox import RUN, Inbox
from aion_actors.workers.errors import ActivityCancelled, unrecordable_result
from aion_actors.workers.heartbeats import Throttle, check_details, forward_interval
from aion_actors.workers.task import AttemptInfo, Task, attempt_scope, failure

OK: Final = 0
ERROR: Final = 1
IMPORTING: Final = 2
READY: Final = 3
STARTED: Final = 4
HEARTBEAT: Final = 5
WITHDRAWN: Final = 6


def main(
    conn: Connection,
    lifeline: Connection,
    activities: Mapping[str, str],
    converter: str | None = None,
) -> None:
    """Entry point of a worker process (the `target` of its `Process`).

    `lifeline` is the read end of a pipe whose write end only the engine holds
    (see `_lifeline`); `converter` is the import path of the engine's payload
    converter (None: the default).
    """
    # First: a group of its own, and death with the engine (shutting workers down is its job).
    _lifeline.hold(lifeline.fileno())
    conn.send_bytes(packb([STARTED]))
    functions: dict[str, Callable[..., Any]] = {}
    failed: dict[str, list[str]] = {}
    for name, path in activities.items():
        try:
            functions[name] = _resolve(conn, path)
        except Exception as exc:
            detail = f"resolving {path!r} in a worker process raised {type(exc).__name__}: {exc}"
            failed[name] = [detail, "".join(traceback.format_exception(exc))]
    try:
        codecs = activity_codecs(converter, functions)
    except Exception as exc:  # no activity can run without it: each fails saying why
        detail = f"loading the payload converter {converter!r} raised {type(exc).__name__}: {exc}"
        trace = "".join(traceback.format_exception(exc))
        failed.update({name: [detail, trace] for name in functions})
        functions, codecs = {}, None
    conn.send_bytes(packb([READY, failed]))
    inbox = Inbox(conn.fileno())
    while True:
        try:
            message = inbox.next_run()
        except (EOFError, OSError):  # the engine is gone: nobody is left to receive results
            _lifeline.end_group()  # with whatever earlier activities left running
        if message is None:
            return
        _, name, args, ids, details, interval, max_bytes = message
        function = functions.get(name)
        if (reason := inbox.cancelled) is not None:  # while it waited behind the one before
            unrun = ActivityCancelled(name, "before it ran", reason)
            conn.send_bytes(packb([ERROR, failure(unrun).error]))
            continue
        if inbox.withdrawn:  # a drain: it stays scheduled for the next engine
            conn.send_bytes(packb([WITHDRAWN]))
            continue
        if function is None:  # the pool does not send these; answer rather than die
            unknown = LookupError(f"activity {name!r} is not resolved in this worker process")
            conn.send_bytes(packb([ERROR, failure(unknown).error]))
            continue
        codec = codecs[name] if codecs is not None else None
        pulse = _Pulse(conn, inbox, name, interval, max_bytes)
        workflow_id, run_id, activity_id, number = ids
        attempt = AttemptInfo(workflow_id, run_id, activity_id, number, details, pulse)
        reply = _run(function, name, args, attempt, codec)
        pulse.flush()  # the details a throttle held back go before the result
        conn.send_bytes(reply)


def run_message(task: Task, max_bytes: int) -> bytes:
    """The RUN message for one attempt (raises if its arguments are not msgpack values);
    heartbeat details are limited to `max_bytes`, like results."""
    attempt, interval = task.attempt, forward_interval(task.heartbeat_timeout)
    ids = [attempt.workflow_id, attempt.run_id, attempt.activity_id, attempt.attempt]
    message = [RUN, task.name, task.args, ids, attempt.heartbeat_details, interval, max_bytes]
    return packb(message)


class _Pulse:
    """An attempt's heartbeats in a worker process: sent to the pool, throttled; a CANCEL
    (or STOP) that arrived meanwhile is read on the way."""

    __slots__ = ("_conn", "_inbox", "_max_bytes", "_name", "_throttle")

    def __init__(
        self, conn: Connection, inbox: Inbox, name: str, interval: float, max_bytes: int
    ) -> None:
        self._conn = conn
        self._inbox = inbox
        self._name = name
        self._max_bytes = max_bytes
        self._throttle = Throttle(interval)

    def beat(self, details: Any) -> None:
        try:
            self._inbox.take_in()
        except (EOFError, OSError):  # the engine is gone: nobody is left to receive results
            _lifeline.end_group()
        if (reason := self._inbox.cancelled) is not None:
            raise ActivityCancelled(self._name, reason=reason)
        check_details(details, self._name, self._max_bytes)
        go, details = self._throttle.offer(details)
        if go:
            self._conn.send_bytes(packb([HEARTBEAT, details]))

    def flush(self) -> None:
        held = self._throttle.take_held()
        if held is not None:
            self._conn.send_bytes(packb([HEARTBEAT, held]))


def _resolve(conn: Connection, path: str) -> Callable[..., Any]:
    module_name, _, qualname = path.partition(":")
    if module_name not in sys.modules:
        conn.send_bytes(packb([IMPORTING, module_name]))
    target: Any = importlib.import_module(module_name)
    for attribute in qualname.split("."):
        target = getattr(target, attribute)
    if not callable(target):
        raise TypeError(f"{path!r} is not callable")
    return target  # type: ignore[no-any-return]


def _run(
    function: Callable[..., Any],
    name: str,
    args: list[Any],
    attempt: AttemptInfo,
    codec: ActivityCodec | None = None,
) -> bytes:
    with attempt_scope(attempt):
        try:
            if codec is not None:
                args = codec.args(args)
            result = function(*args)
            if inspect.iscoroutine(result):  # an `async def` activity: on this process's loop
                result = _event_loop().run_until_complete(result)
        except (SystemExit, KeyboardInterrupt):
            # In a process of its own they mean "end this process" (sys.exit, a SIGINT sent
            # to it): it ends, and the pool records WorkerCrashed with its exit code.
            raise
        except BaseException as exc:  # any other: the attempt's failure; the worker serves on
            return packb([ERROR, failure(exc).error])
    try:
        if codec is not None:
            result = codec.result(result)
        return packb([OK, result])
    except PayloadError as exc:  # the converter's own refusal, naming the activity
        return packb([ERROR, failure(exc).error])
    except Exception as exc:
        return packb([ERROR, failure(unrecordable_result(name, result, exc)).error])


_LOOP: list[asyncio.AbstractEventLoop] = []


def _event_loop() -> asyncio.AbstractEventLoop:
    """This worker process's event loop, made by the first async activity it runs."""
    if not _LOOP:
        _LOOP.append(asyncio.new_event_loop())
        asyncio.set_event_loop(_LOOP[0])
    return _LOOP[0]
