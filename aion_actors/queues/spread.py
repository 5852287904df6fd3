"""`Spread`: what a queue needs of the nodes when several engines share one store.

A queue's slots and rate window live on one node, the queue's **home**: the
owner of the partition its name falls in (`queue:<name>`). Its runs live in
their own workflow_ids' partitions, on any node. The home records an enqueue
made anywhere (it is forwarded there), starts a run of another node's
partition through that node, gives it its slot by a `dequeue` request that
becomes the run's `RunDequeued` exactly once, and hears of its closing by a
`watch` request. Implemented by `aion_actors.nodes.queues`; `Queues` works
without one on a store of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from aion_actors.core import RunKey
from aion_actors.runtime.runs import NewRun
from aion_actors.store import RunSummary

#: told once a request was applied: None, or the error its owner raised
Done = Callable[[BaseException | None], None]


class Spread(Protocol):
    def home(self, queue: str) -> bool:
        """Whether this node is `queue`'s home now (it gives its slots)."""

    def homes_in(self, partitions: frozenset[int], queues: Sequence[str]) -> list[str]:
        """Those of `queues` whose home is one of `partitions`."""

    def owns(self, workflow_id: str) -> bool:
        """Whether the run lives on this node."""

    def open_runs(self) -> list[RunSummary]:
        """Every open run of the store, on every node."""

    def enqueue(
        self, queue: str, workflow_type: str, new: NewRun, options: dict[str, Any]
    ) -> RunKey:
        """Enqueue `new` at `queue`'s home; the run it recorded (or handed back)."""

    def start(self, workflow_type: str, new: NewRun, options: dict[str, Any]) -> RunKey:
        """Start `new` (its queue events in `after`) on the node its partition is on."""

    def dequeue(self, queue: str, run: RunKey, done: Done) -> None:
        """Give `run` its slot: its `RunDequeued`, recorded once by its node; `done` then."""

    def watch(self, run: RunKey, closed: Callable[[], None]) -> None:
        """`closed()` once `run` (on another node) has closed."""

    def granted(self, queue: str) -> list[tuple[str, RunKey]]:
        """The slots of `queue` given and not yet recorded: (request id, run)."""

    def follow(self, request_id: str, done: Done) -> None:
        """`done` once request `request_id` (made by any node) is applied."""

    def close(self) -> None: ...
