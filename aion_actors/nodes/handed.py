"""`HandedOn`: the requests a node hands to the owner of a partition it lost (see
`aion_actors.runtime.runs.handing`), each written as a durable request row in a thread of
its own — tried again until it is written.

A request is handed on when its caller has stopped waiting (told it is not lost) and its
run's partition left this node before it was recorded: most often because the database
did not answer for longer than the lease — and then it may well not answer yet. So a
failed write is not the end of it: it is tried again after a pause that doubles up to
`_MAX_PAUSE` (each try bounded by `_TRY`), for as long as this engine is open. At
`close` a try under way is the last one for its requests, and the others get one last
try (a pause is cut short); only then is what is still unwritten given up, logged at
error level with which run each request was for, what it asked, and to send it again —
a close in an outage waits one try, not the try under way and another. The caller that
handed it on never waits for any of this.

Not kept anywhere of this node's own meanwhile: a node's only durable place is the
database it cannot reach, and a file beside it would be read by nobody should this
process not come back (its partitions go on at other nodes). The requests wait in
memory, as the mailboxes they came from did; a process that dies loses them as it
loses those.

Each row keeps its request id across tries, and the row's insert takes an id already
there as written: a try whose commit landed unacknowledged is not written twice (and the
owner records a signal or a cancel once per request id in any case).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Final

from aion_actors.core import RunKey
from aion_actors.runtime.service import Service
from aion_actors.store.postgres.nodestore import NodeStore

log = logging.getLogger("aion_actors.nodes")

#: seconds one write may take, waiting for a connection included (a try then fails)
_TRY: Final = 2.0
#: the pause after a first failed try, doubled after each one up to `_MAX_PAUSE`
_FIRST_PAUSE: Final = 0.5
_MAX_PAUSE: Final = 5.0


@dataclass(eq=False, frozen=True, slots=True)
class Handed:
    """One request handed on: its run, what it asks (`RequestMessage.what`) and its row
    (request id, partition, encoded call)."""

    key: RunKey
    what: str
    row: tuple[str, int, bytes]

    def __str__(self) -> str:
        return (
            f"{self.what} of workflow {self.key.workflow_id!r} (run {self.key.run_id}, "
            f"partition {self.row[1]})"
        )


class HandedOn(Service):
    def __init__(self, store: NodeStore) -> None:
        super().__init__("aion-node-hand-on")
        self._store = store
        #: handed on, not written yet -> its failed tries so far, and why the last one
        #: failed (under `_cond`)
        self._waiting: dict[Handed, tuple[int, Exception | None]] = {}

    def add(self, handed: Handed) -> None:
        """Write `handed` (in this thread's stead: returns at once)."""
        with self._cond:
            if not self._stopped:
                self._waiting[handed] = (0, None)
                self._cond.notify_all()
                return
        _lost(handed, "this engine was closing")

    def close(self) -> None:
        """Stop trying once each request had a try since the close began (a try under
        way counts); each request still unwritten is then logged as lost."""
        super().close()
        with self._cond:
            left, self._waiting = self._waiting, {}
        for handed, (_, error) in left.items():
            why = f" ({error})" if error is not None else ""
            _lost(handed, f"this engine closed before the database took it{why}")

    def _serve(self) -> None:
        pause = _FIRST_PAUSE
        #: requests whose last try (one that ended after `close` began) failed
        given_up: set[Handed] = set()
        while True:
            with self._cond:
                while not self._waiting and not self._stopped:
                    self._cond.wait()
                batch = [handed for handed in self._waiting if handed not in given_up]
                if not batch:
                    return  # (stopped: each request had its last try)
            try:
                self._write(batch, _TRY)
            except Exception as exc:  # the store does not answer, mostly: whatever it is, again
                self._failed(batch, exc)
                if self._stopped:
                    given_up.update(batch)
                    continue
                self._pause(pause)
                pause = min(pause * 2, _MAX_PAUSE)
                continue
            with self._cond:
                tries = [self._waiting.pop(handed)[0] + 1 for handed in batch]
            for handed, n in zip(batch, tries, strict=True):
                after = f" after {n} tries" if n > 1 else ""
                log.info("%s goes to its partition's owner%s (its caller gave up)", handed, after)
            pause = _FIRST_PAUSE

    def _write(self, batch: list[Handed], within: float) -> None:
        self._store.put_requests([h.row for h in batch], reply=False, within=within)

    def _failed(self, batch: list[Handed], error: Exception) -> None:
        """A try failed: count it; say so once for each request."""
        with self._cond:
            for handed in batch:
                self._waiting[handed] = (self._waiting[handed][0] + 1, error)
            first = [handed for handed in batch if self._waiting[handed][0] == 1]
        if first:
            log.warning(
                "%s: not handed on to its partition's owner yet (%s); trying again after "
                "pauses of up to %g s, until it is written or this engine closes",
                "; ".join(map(str, first)),
                error,
                _MAX_PAUSE,
            )

    def _pause(self, seconds: float) -> None:
        """Wait `seconds` before the next try, or until `close` (a request handed on
        meanwhile waits for that try)."""
        deadline = time.monotonic() + seconds
        with self._cond:
            while not self._stopped and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)


def _lost(handed: Handed, why: str) -> None:
    log.error(
        "%s was lost: its caller gave up waiting and its partition left this node before "
        "it was recorded, and %s; send it again (after reading the run's history: a write "
        "cut off mid-commit may have landed)",
        handed,
        why,
    )
