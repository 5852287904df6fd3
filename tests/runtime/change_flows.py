"""Workflows in two versions, as a deploy changes them under runs in flight.

Each `_v1` is the code a run started with, each `_v2` the code deployed
later under the same name, each `_v3` the fix deployed after that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aion_actors import WorkflowContext, activity, workflow


@dataclass
class QuoteV1:
    order_id: str
    total: int


@dataclass
class QuoteV2:
    """`QuoteV1` with a required field more: results recorded as `QuoteV1` do not decode."""

    order_id: str
    total: int
    currency: str


@dataclass
class QuoteV3:
    """The fix: the new field has a default, so the old results decode again."""

    order_id: str
    total: int
    currency: str = "EUR"


@activity(executor="thread", name="price")
def price_v1(order_id: str) -> QuoteV1:
    return QuoteV1(order_id, 100)


@activity(executor="thread", name="price")
def price_v2(order_id: str) -> QuoteV2:
    return QuoteV2(order_id, 100, "EUR")


@activity(executor="thread", name="price")
def price_v3(order_id: str) -> QuoteV3:
    return QuoteV3(order_id, 100)


@workflow(name="quote")
async def quote_v1(ctx: WorkflowContext, order_id: str) -> int:
    quote = await ctx.activity(price_v1, order_id)
    await ctx.wait_signal("go")
    return quote.total


@workflow(name="quote")
async def quote_v2(ctx: WorkflowContext, order_id: str) -> str:
    quote = await ctx.activity(price_v2, order_id)
    await ctx.wait_signal("go")
    return f"{quote.total} {quote.currency}"


@workflow(name="quote")
async def quote_v3(ctx: WorkflowContext, order_id: str) -> str:
    quote = await ctx.activity(price_v3, order_id)
    await ctx.wait_signal("go")
    return f"{quote.total} {quote.currency}"


@workflow(name="takes")
async def takes_v1(ctx: WorkflowContext, order: QuoteV1) -> str:
    await ctx.wait_signal("go")
    return order.order_id


@workflow(name="takes")
async def takes_v2(ctx: WorkflowContext, order: QuoteV2) -> str:
    await ctx.wait_signal("go")
    return order.currency


@activity(executor="thread")
def echo(value: Any) -> Any:
    return value


@workflow(name="sends")
async def sends_v1(ctx: WorkflowContext) -> Any:
    return await ctx.activity(echo, [1, 2])


@workflow(name="sends")
async def sends_v2(ctx: WorkflowContext) -> Any:
    return await ctx.activity(echo, {1, 2})  # a set: not a payload


@workflow(name="charge")
async def charge_v1(ctx: WorkflowContext, amount: int) -> str:
    await ctx.wait_signal("go")
    return f"{amount}"


@workflow(name="charge")
async def charge_v2(ctx: WorkflowContext, amount: int, currency: str) -> str:
    await ctx.wait_signal("go")
    return f"{amount} {currency}"


@workflow(name="charge")
async def charge_v3(ctx: WorkflowContext, amount: int, currency: str = "EUR") -> str:
    await ctx.wait_signal("go")
    return f"{amount} {currency}"
