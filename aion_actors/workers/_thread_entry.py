"""One attempt queued on a `ThreadExecutor`, and the heartbeat its thread beats with."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aion_actors.core import PayloadError, packb, unpackb
from aion_actors.core.payloads import ActivityCodec
from aion_actors.workers.errors import ActivityCancelled, CancelReason, unrecordable_arguments
from aion_actors.workers.heartbeats import check_details
from aion_actors.workers.task import Outcome, Task, failure

__all__ = ["Entry", "Pulse"]


@dataclass(eq=False, slots=True)
class Entry:
    task: Task
    done: Callable[[Outcome], None]
    function: Callable[..., Any]
    args: list[Any]
    refused: Outcome | None = None  # arguments that are not msgpack: settled unrun
    settled: bool = False
    beat: Callable[[Any], None] | None = None
    started: bool = False
    #: why it was told to stop (a cancel), or why it ended before it returned (a timeout)
    cancelled: CancelReason | None = None
    last_beat: float = 0.0
    stop: Callable[[], object] | None = None  # cancels an async attempt's coroutine

    @classmethod
    def of(
        cls,
        task: Task,
        done: Callable[[Outcome], None],
        function: Callable[..., Any],
        codecs: Mapping[str, ActivityCodec] | None,
        beat: Callable[[Any], None] | None,
    ) -> Entry:
        """The entry for `task`, its arguments through msgpack and its activity's codec
        (`codecs` None: the default converter's), as a worker process gets them; refused if
        they cannot be."""
        entry = cls(task, done, function, [], beat=beat)
        try:
            entry.args = unpackb(packb(list(task.args)))
            if codecs is not None:
                entry.args = codecs[task.name].args(entry.args)
        except PayloadError as exc:  # arguments the converter cannot decode
            entry.refused = failure(exc)
        except Exception as exc:
            entry.refused = failure(unrecordable_arguments(task.name, task.args, exc))
        return entry


class Pulse:
    """An attempt's heartbeats on a thread: read its cancellation, note that it lives."""

    __slots__ = ("_entry", "_max_bytes")

    def __init__(self, entry: Entry, max_bytes: int) -> None:
        self._entry = entry
        self._max_bytes = max_bytes

    def beat(self, details: Any) -> None:
        entry = self._entry
        reason = entry.cancelled or (CancelReason.ATTEMPT_ENDED if entry.settled else None)
        if reason is not None:
            detail = "this attempt already ended; stop it" if entry.settled else ""
            raise ActivityCancelled(entry.task.name, detail, reason)
        check_details(details, entry.task.name, self._max_bytes)
        entry.last_beat = time.monotonic()
        if details is not None and entry.beat is not None:
            entry.beat(details)
