"""The outcome a thread activity's return value makes: converted, through msgpack, bounded.

The round trip is what a worker process's result goes through on its way over
the pipe, so a thread activity's result is recorded, and seen live, as one
from a process would be.
"""

from __future__ import annotations

from typing import Any

from aion_actors.core import PayloadError, packb, unpackb
from aion_actors.core.payloads import ActivityCodec
from aion_actors.workers.errors import oversized_result, unrecordable_result
from aion_actors.workers.task import Outcome, failure

__all__ = ["result_outcome"]


def result_outcome(
    name: str, result: Any, codec: ActivityCodec | None, max_result_bytes: int
) -> Outcome:
    """What activity `name` returning `result` ends its attempt with."""
    try:
        if codec is not None:
            result = codec.result(result)
        packed = packb(result)
    except PayloadError as exc:  # the converter's own refusal, naming the activity
        return failure(exc)
    except Exception as exc:
        return failure(unrecordable_result(name, result, exc))
    if len(packed) > max_result_bytes:
        return failure(oversized_result(name, len(packed), max_result_bytes))
    return Outcome(ok=True, result=unpackb(packed))
