"""Workflows for signal handlers, conditions and `wait_first`."""

from __future__ import annotations

from typing import Any

from aion_actors import ConditionTimeout, WorkflowContext, WorkflowError, activity, workflow


@activity(executor="thread")
def quick(value: str) -> str:
    return value


@workflow
async def collects(ctx: WorkflowContext, want: int) -> list[Any]:
    """Sets its handler only after `ready`: the `add`s sent before reach it then."""
    items: list[Any] = []
    ctx.on_query("items", lambda: list(items))
    await ctx.wait_signal("ready")
    ctx.on_signal("add", items.append)
    await ctx.wait_condition(lambda: len(items) >= want)
    return items


@workflow
async def catches_all(ctx: WorkflowContext) -> list[Any]:
    """A catch-all takes every signal but `stop`, which its wait takes."""
    seen: list[Any] = []
    ctx.on_signal(None, lambda name, payload: seen.append([name, payload]))
    stop = await ctx.wait_signal("stop")
    return [*seen, ["stop", stop]]


@workflow
async def condition_times_out(ctx: WorkflowContext, seconds: float) -> str:
    try:
        await ctx.wait_condition(lambda: False, timeout=seconds)
    except ConditionTimeout:
        return "timed out"
    return "held"


@workflow
async def approves(ctx: WorkflowContext) -> str:
    """The condition is already true when awaited: it returns without a timer firing."""
    state = {"approved": False}

    def approve(payload: Any) -> None:
        state["approved"] = bool(payload)

    ctx.on_signal("approve", approve)
    await ctx.wait_signal("go")
    await ctx.wait_condition(lambda: state["approved"], timeout=60)
    return "approved"


@workflow
async def handler_refuses(ctx: WorkflowContext) -> str:
    def refuse(payload: Any) -> None:
        raise WorkflowError(f"refused {payload}")

    ctx.on_signal("bad", refuse)
    await ctx.sleep(60)
    return "slept"


@workflow
async def first_of_sleep_and_signal(ctx: WorkflowContext) -> list[Any]:
    index, value = await ctx.wait_first(ctx.sleep(60), ctx.wait_signal("go"))
    return [index, value]


@workflow
async def first_of_activity_and_sleep(ctx: WorkflowContext) -> list[Any]:
    index, value = await ctx.wait_first(ctx.activity(quick, "fast"), ctx.sleep(60))
    return [index, value]


@workflow
async def first_leaves_signal(ctx: WorkflowContext) -> list[Any]:
    """The losing wait does not take its signal: the next wait gets it."""
    index, _ = await ctx.wait_first(ctx.sleep(0.05), ctx.wait_signal("late"))
    return [index, await ctx.wait_signal("late")]


@workflow
async def greetings(ctx: WorkflowContext) -> list[str]:
    """Temporal's samples-python `hello/hello_signal.py`, in our API."""
    pending: list[str] = []
    state = {"exit": False}
    ctx.on_signal("submit_greeting", pending.append)
    ctx.on_signal("exit", lambda _: state.update(exit=True))
    done: list[str] = []
    while not state["exit"]:
        await ctx.wait_condition(lambda: bool(pending) or state["exit"])
        while pending:
            done.append(f"Hello, {pending.pop(0)}")
    return done


ALL = [
    greetings,
    quick,
    collects,
    catches_all,
    condition_times_out,
    approves,
    handler_refuses,
    first_of_sleep_and_signal,
    first_of_activity_and_sleep,
    first_leaves_signal,
]
