"""What a worker process runs: resolve the activities, then serve tasks until told to stop.

Everything on the pipe is a msgpack array with an op code first; nothing is
pickled. The parent sends `[RUN, name, args, [workflow_id, run_id,
activity_id, attempt]]` or `[STOP]`; the worker answers each RUN with
`[OK, result]` or `[ERROR, error_map]`, one task at a time. While starting,
it announces each module before importing it (so a process that dies inside
an import can be blamed on that module) and ends with `[READY]` or
`[START_FAILED, detail, traceback]`.

This module stays light: the forkserver preloads it, and every replacement
worker starts from that warm image.
"""

from __future__ import annotations

import importlib
import signal
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any, Final

from aion_actors.core import PayloadError, packb, unpackb
from aion_actors.core.payloads import ActivityCodec, activity_codecs
from aion_actors.workers.errors import unrecordable_result
from aion_actors.workers.task import AttemptInfo, attempt_scope, failure

RUN: Final = 0
STOP: Final = 1

OK: Final = 0
ERROR: Final = 1
IMPORTING: Final = 2
READY: Final = 3
START_FAILED: Final = 4


class _ResolveError(Exception):
    pass


def main(conn: Connection, activities: Mapping[str, str], converter: str | None = None) -> None:
    """Entry point of a worker process (the `target` of its `Process`).

    `converter` is the import path of the engine's payload converter (None: the default).
    """
    # Ctrl-C reaches the whole process group; shutting workers down is the parent's job.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        functions = {name: _resolve(conn, name, path) for name, path in activities.items()}
        codecs = _codecs(converter, functions)
    except _ResolveError as exc:
        conn.send_bytes(packb([START_FAILED, str(exc), "".join(traceback.format_exception(exc))]))
        sys.exit(3)
    conn.send_bytes(packb([READY]))
    while True:
        try:
            message = unpackb(conn.recv_bytes())
        except EOFError:
            return  # the parent is gone: nobody is left to receive results
        if message[0] == STOP:
            return
        _, name, args, attempt = message
        codec = codecs[name] if codecs is not None else None
        conn.send_bytes(_run(functions[name], name, args, AttemptInfo(*attempt), codec))


def run_message(name: str, args: Sequence[Any], attempt: AttemptInfo) -> bytes:
    """The RUN message for one attempt (raises if `args` are not msgpack values)."""
    ids = [attempt.workflow_id, attempt.run_id, attempt.activity_id, attempt.attempt]
    return packb([RUN, name, args, ids])


def _resolve(conn: Connection, name: str, path: str) -> Callable[..., Any]:
    module_name, _, qualname = path.partition(":")
    if module_name not in sys.modules:
        conn.send_bytes(packb([IMPORTING, module_name]))
    try:
        target: Any = importlib.import_module(module_name)
        for attribute in qualname.split("."):
            target = getattr(target, attribute)
    except Exception as exc:
        raise _ResolveError(
            f"resolving activity {name!r} as {path!r} in a worker process raised "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not callable(target):
        raise _ResolveError(f"activity {name!r} resolves to {path!r}, which is not callable")
    return target  # type: ignore[no-any-return]


def _codecs(
    converter: str | None, functions: Mapping[str, Callable[..., Any]]
) -> dict[str, ActivityCodec] | None:
    try:
        return activity_codecs(converter, functions)
    except Exception as exc:
        raise _ResolveError(f"loading the payload converter {converter!r} raised {exc}") from exc


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
        except Exception as exc:
            return packb([ERROR, failure(exc).error])
    try:
        if codec is not None:
            result = codec.result(result)
        return packb([OK, result])
    except PayloadError as exc:  # the converter's own refusal, naming the activity
        return packb([ERROR, failure(exc).error])
    except Exception as exc:
        return packb([ERROR, failure(unrecordable_result(name, result, exc)).error])
