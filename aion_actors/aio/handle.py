"""`AsyncRunHandle`: what `AsyncEngine.start` hands back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aion_actors.handles import RunDescription

if TYPE_CHECKING:
    from aion_actors.aio.engine import AsyncEngine


@dataclass(frozen=True)
class AsyncRunHandle:
    """A started run; `await handle.result()` waits for it (following continue-as-new)."""

    engine: AsyncEngine
    workflow_id: str
    run_id: str

    async def result(self, timeout: float | None = None, *, raise_on_park: bool = True) -> Any:
        """`AsyncEngine.result` of this run."""
        return await self.engine.result(
            self.workflow_id, self.run_id, timeout=timeout, raise_on_park=raise_on_park
        )

    async def describe(self) -> RunDescription:
        return await self.engine.describe(self.workflow_id)
