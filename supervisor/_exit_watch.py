"""What a pooled actor tells the one watching it (see `supervisor.pooled.watch_exits`)."""

from __future__ import annotations

from typing import Protocol


class ExitWatch(Protocol):
    """Who learns how a pooled actor's start went, why it failed, and when it exited:
    the supervisor that started it (see `supervisor._watch`). Told from the thread
    each thing happens in."""

    def start_failed(self, error: BaseException) -> None: ...

    def failed(self, error: BaseException | None) -> None: ...

    def exited(self, hint: object) -> None: ...
