"""`Route`: where a call on a run is made — here, or, on a node that does not own the
run's partition, by its owner (see `aion_actors.nodes.forwarding`).

Also when the partition moves away between the check and the local write: the fence
refuses that write whole (`OwnershipLost`, nothing recorded), and the call goes to
the new owner, which applies it once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from aion_actors.core import OwnershipLost

log = logging.getLogger("aion_actors.nodes")

T = TypeVar("T")


class Owning(Protocol):
    def owns(self, workflow_id: str) -> bool: ...


F = TypeVar("F", bound=Owning)


class Route(Generic[F]):
    def __init__(self, forwarded: F | None) -> None:
        #: a node's way to reach the owners of other partitions; None: not a node. Fixed
        self._forwarded = forwarded

    def there(self, workflow_id: str) -> F | None:
        """The way to the run's owner, if another node owns its partition now."""
        forwarded = self._forwarded
        return forwarded if forwarded is not None and not forwarded.owns(workflow_id) else None

    def call(self, workflow_id: str, here: Callable[[], T], there: Callable[[F], T]) -> T:
        """`there(...)` for a run another node owns; else `here()`, or `there(...)` after
        all when the fence refused `here`'s write."""
        if (owner := self.there(workflow_id)) is not None:
            return there(owner)
        try:
            return here()
        except OwnershipLost as exc:
            if self._forwarded is None:
                raise
            log.info("%s; the call goes to the partition's new owner", exc)
            return there(self._forwarded)
