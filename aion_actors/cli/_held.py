"""A command refused because an engine owns the store: what to do there instead."""

from __future__ import annotations

from aion_actors.core import AionError, DataDirLocked


class HeldByEngine(AionError):
    """An operator's command cannot open a data directory an engine runs on."""


def held_by_engine(locked: DataDirLocked, advice: str) -> HeldByEngine:
    """`locked`, as a command says it: who holds the directory, then `advice` (what to
    do in that engine's service, or to stop it first) instead of `Engine.open`'s words."""
    if locked.in_this_process:
        return HeldByEngine(str(locked))
    return HeldByEngine(
        f"data directory {locked.path} is locked by {locked.holder}: an engine runs there; {advice}"
    )
