"""Workflows for validated updates (`ctx.on_update` / `engine.update`)."""

from __future__ import annotations

from typing import Any

from aion_actors import WorkflowContext, workflow

#: how often each handler ran in this process, by workflow_id (replays count too)
CALLS: dict[str, int] = {}


@workflow
async def cart(ctx: WorkflowContext) -> list[Any]:
    """Takes `add_item` updates (refusing empty names) until `checkout`; a handler that
    raises on `"boom"` fails the update, not the run."""
    items: list[Any] = []

    def check(item: Any) -> None:
        if not item:
            raise ValueError("an item needs a name")

    def add(item: Any) -> int:
        CALLS[ctx.workflow_id] = CALLS.get(ctx.workflow_id, 0) + 1
        if item == "boom":
            raise RuntimeError("the shelf is empty")
        items.append(item)
        return len(items)

    ctx.on_update("add_item", add, validator=check)
    ctx.on_query("items", lambda: list(items))
    await ctx.wait_signal("checkout")
    return items


@workflow
async def waits_for_items(ctx: WorkflowContext, want: int) -> list[Any]:
    """Ends once `want` items were added by updates: a condition sees the handler's effect."""
    items: list[Any] = []
    ctx.on_update("add_item", lambda item: items.append(item) or len(items))
    await ctx.wait_condition(lambda: len(items) >= want)
    return items


ALL = (cart, waits_for_items)
