"""`Listener`: a node's one `LISTEN` connection, in a thread of its own.

It hears the store's node channel (see `store.postgres._requests`) and hands
each notification to whoever waits for it: `r <partition>` (a request waits in
a partition) to the applier, `a <request id>` (an answer is recorded) to the
answers a caller waits for, `c <workflow id> <run id>` (a run closed) to
`result()` waiters. After each (re)connection every one of them looks again in
the store, since what was announced while it was not listening was missed.
A connection that breaks is made again after a pause that grows to 5 s.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aion_actors.store.postgres._requests import channel
from aion_actors.store.postgres.nodestore import NodeStore

log = logging.getLogger("aion_actors.nodes")

#: how long a close tries to wake the listening connection through the store
_WAKE_WITHIN = 1.0
_MAX_PAUSE = 5.0


@dataclass(frozen=True, slots=True)
class Hearers:
    """Who is told what the channel says."""

    request: Callable[[int], None]
    answer: Callable[[str], None]
    closed: Callable[[str, str], None]
    #: after each (re)connection: look again at everything
    connected: Callable[[], None]


class Listener:
    def __init__(self, store: NodeStore, hearers: Hearers) -> None:
        self._store = store
        self._hearers = hearers
        self._channel = channel(store.target.schema)
        self._stop_word = f"x {uuid.uuid4().hex}"
        self._stopped = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aion-node-listen", daemon=True)

    def start(self) -> None:
        """Listen; returns once listening (so nothing announced after is missed)."""
        self._thread.start()
        self._listening.wait(10.0)

    def close(self) -> None:
        self._stopped.set()
        if not self._thread.is_alive():
            return
        try:  # wakes the listening connection, which then sees it is stopped (in an outage
            # there is none to wake: a close does not wait the store's retry window for it)
            self._store.announce(self._channel, self._stop_word, within=_WAKE_WITHIN)
        except Exception:
            log.debug("could not wake the node listener; it stops within 5 s")
        self._thread.join(10.0)

    def _run(self) -> None:
        pause = 0.1
        while not self._stopped.is_set():
            try:
                self._listen()
                pause = 0.1
            except Exception as exc:
                if self._stopped.is_set():
                    return
                log.warning("node listener: %s; listening again in %.1f s", exc, pause)
                self._stopped.wait(pause)
                pause = min(_MAX_PAUSE, pause * 2)

    def _listen(self) -> None:
        psycopg = self._store._psycopg  # noqa: SLF001 - the store's driver module, shared
        conn: Any = psycopg.connect(self._store.target.conninfo, autocommit=True, connect_timeout=5)
        with conn:
            conn.execute(f"LISTEN {self._channel}")
            self._listening.set()
            self._hearers.connected()
            while not self._stopped.is_set():
                for note in conn.notifies(timeout=_MAX_PAUSE):
                    if note.payload == self._stop_word:
                        return
                    self._heard(note.payload)

    def _heard(self, payload: str) -> None:
        word, _, rest = payload.partition(" ")
        try:
            if word == "r":
                self._hearers.request(int(rest))
            elif word == "a":
                self._hearers.answer(rest)
            elif word == "c":
                workflow_id, _, run_id = rest.rpartition(" ")
                self._hearers.closed(workflow_id, run_id)
        except Exception:
            log.exception("node listener: handling %r failed", payload)
