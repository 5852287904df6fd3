"""Typed workflows and activities for the converter tests (module level: workers import them).

String annotations (`from __future__ import annotations`) on purpose: the
converter resolves them with `typing.get_type_hints`.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from aion_actors import TypedConverter, WorkflowContext, activity, workflow
from supervisor import RestartPolicy


class Rush(enum.Enum):
    NORMAL = "normal"
    EXPRESS = "express"


@dataclass(frozen=True)
class Item:
    sku: str
    qty: int


@dataclass
class Order:
    id: str
    items: list[Item]
    placed: dt.datetime
    tags: tuple[str, ...] = ()
    rush: Rush = Rush.NORMAL
    note: str | None = None


@dataclass
class Quote:
    order_id: str
    total: int
    span: tuple[int, int]
    #: the types the activity received, to check what crossed the boundary
    seen: list[str] = field(default_factory=list)


def _quote(order: Order) -> Quote:
    seen = [type(order).__name__, type(order.items[0]).__name__, type(order.tags).__name__]
    seen.append(type(order.rush).__name__)
    return Quote(order.id, sum(item.qty for item in order.items) * 100, (1, 2), seen)


@activity(executor="process")
def price(order: Order) -> Quote:
    return _quote(order)


@activity(executor="thread")
def price_here(order: Order) -> Quote:
    return _quote(order)


def kinds(*values: Any) -> list[str]:
    return [type(value).__name__ for value in values]


@workflow
async def checkout(
    ctx: WorkflowContext, order: Order, spans: tuple[int, int]
) -> tuple[Quote, list[str]]:
    quote = await ctx.activity(price, order)
    here = await ctx.activity(price_here, order)
    together = await ctx.gather(ctx.activity(price, order), ctx.activity(price_here, order))
    seen = kinds(order, spans, quote, quote.span, here, *together)
    return quote, [*seen, *quote.seen, *here.seen]


@workflow
async def waits_between(ctx: WorkflowContext, order: Order) -> Quote:
    quote = await ctx.activity(price, order)
    await ctx.wait_signal("go")
    if not isinstance(quote, Quote) or not isinstance(quote.span, tuple):
        raise TypeError(f"replay handed back {quote!r}")
    return quote


@workflow
async def child_quote(ctx: WorkflowContext, order: Order) -> Quote:
    return await ctx.activity(price_here, order)


@workflow
async def parent_of_child(ctx: WorkflowContext, order: Order) -> list[str]:
    quote = await ctx.child(child_quote, order)
    return kinds(quote, quote.span)


@workflow
async def continues(ctx: WorkflowContext, order: Order, round: int) -> list[str]:
    if round == 0:
        ctx.continue_as_new(order, 1)
    return kinds(order, order.items[0], order.tags)


@workflow(restart=RestartPolicy(max_restarts=0))
async def wants_an_order(ctx: WorkflowContext, order: Order) -> str:
    return order.id


@activity(executor="thread")
def wants_an_item(item: Item) -> str:
    return item.sku


@workflow
async def passes_a_bad_item(ctx: WorkflowContext) -> str:
    return str(await ctx.activity(wants_an_item, {"sku": "x"}))


@workflow
async def returns_a_tuple(ctx: WorkflowContext) -> Any:
    return (1, 2)


class Money:
    """Not a dataclass: only `MoneyConverter` knows how to carry it."""

    __slots__ = ("cents",)

    def __init__(self, cents: int) -> None:
        self.cents = cents

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and other.cents == self.cents

    def __hash__(self) -> int:
        return hash(self.cents)


class MoneyConverter(TypedConverter):
    """A converter of one's own; refuses to be pickled, so only its import path travels."""

    def to_payload(self, value: Any) -> Any:
        if isinstance(value, Money):
            return {"cents": value.cents}
        return super().to_payload(value)

    def from_payload(self, value: Any, type_hint: Any) -> Any:
        if type_hint is Money:
            return Money(value["cents"])
        return super().from_payload(value, type_hint)

    def __reduce__(self) -> Any:
        raise TypeError("a payload converter travels by import path, never pickled")


@activity(executor="process")
def double(amount: Money) -> Money:
    return Money(amount.cents * 2)


@workflow
async def doubles_money(ctx: WorkflowContext, amount: Money) -> Money:
    doubled = await ctx.activity(double, amount)
    return Money(doubled.cents + 1)


class MakesObjects(TypedConverter):
    """Breaks a converter's contract: it turns the str "bad" into an object."""

    def to_payload(self, value: Any) -> Any:
        return object() if value == "bad" else super().to_payload(value)


@activity(executor="thread")
def returns_bad(word: str) -> str:
    return "bad"


@workflow
async def asks_for_bad(ctx: WorkflowContext, word: str) -> str:
    return await ctx.activity(returns_bad, word)


ALL = [
    price,
    price_here,
    checkout,
    waits_between,
    child_quote,
    parent_of_child,
    continues,
    wants_an_order,
    wants_an_item,
    passes_a_bad_item,
    returns_a_tuple,
    double,
    doubles_money,
    returns_bad,
    asks_for_bad,
]


def an_order(order_id: str = "o-1") -> Order:
    return Order(
        order_id,
        [Item("book", 2), Item("pen", 3)],
        dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC),
        tags=("gift", "fragile"),
        rush=Rush.EXPRESS,
    )
