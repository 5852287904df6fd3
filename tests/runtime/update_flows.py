"""Workflows for validated updates (`ctx.on_update` / `engine.update`)."""

from __future__ import annotations

from typing import Any

from aion_actors import WorkflowContext, activity, workflow

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


@activity(executor="thread")
def stamp(ledger: str, text: str) -> str:
    """Appends `text` to the ledger file (one line per run of the activity)."""
    with open(ledger, "a") as f:
        f.write(text + "\n")
    return f"stamped {text}"


@workflow
async def async_updates(ctx: WorkflowContext, ledger: str) -> list[Any]:
    """Async update handlers awaiting an activity, a timer, or both; ends on `finish`
    with what the handlers finished, in the order they finished."""
    done: list[Any] = []

    async def stamp_it(text: str) -> str:
        got = str(await ctx.activity(stamp, ledger, text))
        done.append(got)
        return got

    async def nap(ask: list[Any]) -> str:
        name, seconds = ask
        await ctx.sleep(seconds)
        done.append(name)
        return str(name)

    async def stamp_then_nap(text: str) -> str:
        got = str(await ctx.activity(stamp, ledger, text))
        await ctx.sleep(1.5)
        done.append(got)
        return got

    ctx.on_update("stamp", stamp_it)
    ctx.on_update("nap", nap)
    ctx.on_update("stamp_then_nap", stamp_then_nap)
    ctx.on_query("done", lambda: list(done))
    await ctx.wait_signal("finish")
    return done


@workflow
async def ends_under_a_handler(ctx: WorkflowContext) -> str:
    """Ends on signal `stop` while a `nap` handler still sleeps."""

    async def nap(seconds: float) -> str:
        await ctx.sleep(seconds)
        return "woke"

    ctx.on_update("nap", nap)
    await ctx.wait_signal("stop")
    return "stopped"


#: workflow ids whose run has crashed once under a holding handler (see below)
CRASHED: set[str] = set()


@workflow
async def crashes_under_a_handler(ctx: WorkflowContext) -> str:
    """A `hold` handler awaits signal `release`; signal `crash` crashes the run once
    (its restart replays the accepted update, whose handler awaits again)."""

    async def hold(_: Any) -> str:
        await ctx.wait_signal("release")
        return "released"

    ctx.on_update("hold", hold)
    await ctx.wait_signal("crash")
    if ctx.workflow_id not in CRASHED:
        CRASHED.add(ctx.workflow_id)
        raise RuntimeError("a bug, once")
    await ctx.wait_signal("stop")
    return "stopped"


ALL = (cart, waits_for_items, async_updates, ends_under_a_handler, crashes_under_a_handler, stamp)
