"""The real LMDB store, watched: which thread committed which events."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from aion_actors.core import AionError, Event
from aion_actors.store import AppendRequest, LmdbStore


class Watched:
    """The real store; notes which thread committed which events."""

    def __init__(self, store: LmdbStore) -> None:
        self.store = store
        self.commits: list[tuple[str, list[str]]] = []

    def append_batch(self, requests: Sequence[AppendRequest]) -> list[list[Event] | AionError]:
        kinds = [e.kind for request in requests for e in request.events]
        self.commits.append((threading.current_thread().name, kinds))
        return self.store.append_batch(requests)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)
