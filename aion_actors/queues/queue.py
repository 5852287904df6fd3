"""`Queue`: how many runs of a queue may run at once, per key, and in which order."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from aion_actors.config import QueueConfig
from aion_actors.core import AionError, check_id
from aion_actors.runtime.rates import Rate, rate_of
from aion_actors.starting import StartOptions


@dataclass(frozen=True, slots=True)
class Queue:
    """A queue of runs (see README "Queues and start policies").

    `concurrency`: at most this many of its runs run at once (None: no bound);
    `per_key`: at most this many of one `key`'s runs at once (None: no bound);
    `priority`: order by each run's `priority` (higher first), FIFO within one;
    `rate`: `(limit, seconds)`, at most `limit` runs start in any window of
    `seconds` (a sliding window, see `aion_actors.runtime.rates`; None: no bound).
    """

    name: str
    concurrency: int | None = None
    per_key: int | None = None
    priority: bool = False
    rate: Rate | tuple[int, float] | None = None

    def __post_init__(self) -> None:
        check_id(self.name, "queue name")
        for field in ("concurrency", "per_key"):
            value = getattr(self, field)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(
                    f"Queue({self.name!r}) {field}={value!r} must be a positive int, or None "
                    "for no bound"
                )
        object.__setattr__(self, "rate", rate_of(self.rate, f"Queue({self.name!r}) rate"))

    @property
    def limit(self) -> Rate | None:
        """`rate` as a `Rate` (it always is one, once built)."""
        return self.rate if isinstance(self.rate, Rate) else None


class EnqueueOptions(StartOptions, total=False):
    """What `Engine.enqueue` takes beside the queue, workflow, input and workflow_id."""

    #: the run's fairness key: `per_key` bounds each key's running runs, keys take turns
    key: str | None
    #: higher runs first (a queue built with `priority=True`)
    priority: int
    #: a second enqueue with this id while the first run is queued or running gets it
    dedup_id: str | None
    #: "return" (the first run's handle, the default) or "raise" (`QueueDuplicate`)
    on_duplicate: str


class QueueDuplicate(AionError):
    """`enqueue(..., dedup_id=, on_duplicate="raise")` found a run of that dedup_id queued or
    running."""

    def __init__(self, queue: str, dedup_id: str, workflow_id: str, run_id: str) -> None:
        self.queue, self.dedup_id = queue, dedup_id
        self.workflow_id, self.run_id = workflow_id, run_id
        super().__init__(
            f"queue {queue!r} already holds run {run_id} of workflow {workflow_id!r} with "
            f"dedup_id {dedup_id!r} (queued or running); wait for it, or enqueue with "
            "on_duplicate='return' to get its handle"
        )


def checked(queue: Queue, options: dict[str, Any]) -> tuple[str | None, int, str | None, bool]:
    """The key, priority, dedup_id and whether a duplicate raises, from `options` (popped)."""
    key, priority = options.pop("key", None), options.pop("priority", 0)
    dedup_id, on_duplicate = options.pop("dedup_id", None), options.pop("on_duplicate", "return")
    if key is not None:
        check_id(key, "key")
    if dedup_id is not None:
        check_id(dedup_id, "dedup_id")
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise TypeError(f"priority must be an int, got {type(priority).__name__}")
    if priority and not queue.priority:
        raise ValueError(
            f"queue {queue.name!r} does not order by priority; build it with "
            f"Queue({queue.name!r}, priority=True) to give runs a priority"
        )
    if on_duplicate not in ("return", "raise"):
        raise ValueError(f"on_duplicate={on_duplicate!r} must be 'return' or 'raise'")
    return key, priority, dedup_id, on_duplicate == "raise"


def configured(queue: Queue | str, table: QueueConfig | None) -> Queue:
    """The queue as it applies: `[queue.<name>]` of the `aion.toml`, under what the `Queue`
    in code sets (file < code, as for restart policies); a field the code leaves at its
    default (None, False) takes the file's. A name alone: the file's queue."""
    if isinstance(queue, str):
        queue = Queue(queue)
    if table is None:
        return queue
    changes = {
        name: value
        for name in ("concurrency", "per_key", "rate", "priority")
        if (value := getattr(table, name)) is not None and getattr(queue, name) in (None, False)
    }
    return dataclasses.replace(queue, **changes) if changes else queue
