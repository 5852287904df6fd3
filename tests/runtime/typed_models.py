"""pydantic models through the engine (imported only when pydantic is installed)."""

from __future__ import annotations

import datetime as dt
import decimal

import pydantic

from aion_actors import WorkflowContext, activity, workflow


class Line(pydantic.BaseModel):
    sku: str
    price: decimal.Decimal


class Invoice(pydantic.BaseModel):
    number: str
    lines: list[Line]
    issued: dt.datetime
    span: tuple[int, int] = (0, 0)


@activity(executor="process")
def total(invoice: Invoice) -> Line:
    return Line(sku=f"total:{type(invoice).__name__}", price=sum(x.price for x in invoice.lines))


@workflow
async def bills(ctx: WorkflowContext, invoice: Invoice) -> tuple[Line, Invoice]:
    line = await ctx.activity(total, invoice)
    return line, invoice


ALL = [total, bills]
