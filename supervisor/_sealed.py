"""What a sealed `PooledActor` inbox does with what it is told (see `pooled`)."""

from __future__ import annotations

from collections.abc import Callable

import pykka

from supervisor import _pykka
from supervisor._pykka import Envelope


class Sealed:
    """A sealed inbox's forwarder: told messages go on, asks are refused."""

    __slots__ = ("_forward", "_urn")

    def __init__(self, forward: Callable[[object], None], urn: str) -> None:
        self._forward = forward
        self._urn = urn

    def __call__(self, envelope: Envelope[object]) -> None:
        dead = pykka.ActorDeadError(f"{self._urn} stopped; ask again")
        if not _pykka.refuse(envelope, dead):
            self._forward(_pykka.message_of(envelope))
