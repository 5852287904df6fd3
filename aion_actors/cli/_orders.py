"""The demo's order workflow, its activities, and the faults it suffers on purpose.

Faults depend only on the order number (`faulty(n, kind)`), so the demo
knows how many of each it caused and the verdict is checkable:

- `reserve`: the stock service times out on the first attempt (retried);
- `network`: the card network is busy on the first charge attempt (retried);
- `worker_exit`: the worker process dies (`os._exit`) on the first charge
  attempt right *after* the card was charged and before the result reached
  the engine; the retry must find the charge by its idempotency key;
- `crash`: the workflow code raises once after the reservation; the run is
  restarted by replay and carries on without reserving again.
"""

from __future__ import annotations

import os
import time
from typing import Any

from aion_actors import RetryPolicy, WorkflowContext, activity, current_attempt, workflow
from aion_actors.cli import _ledger

#: every order number `n` with `n % modulus == remainder` suffers the fault.
FAULTS: dict[str, tuple[int, int]] = {
    "reserve": (10, 3),
    "network": (10, 6),
    "worker_exit": (25, 7),
    "crash": (20, 9),
}
APPROVAL_TIMEOUT = 600.0
COOL_OFF = 0.2

_RETRY = RetryPolicy(max_attempts=5, initial=0.05, multiplier=2.0, max_interval=1.0)
_crashed: set[str] = set()


def faulty(order: dict[str, Any], kind: str) -> bool:
    modulus, remainder = FAULTS[kind]
    return bool(order["faults"]) and order["n"] % modulus == remainder


def new_order(n: int, ledger: str, *, faults: bool) -> dict[str, Any]:
    return {
        "order_id": order_id(n),
        "n": n,
        "sku": f"sku-{n % 17:02d}",
        "quantity": 1 + n % 3,
        "amount": 500 + (n * 37) % 9_500,
        "ledger": ledger,
        "faults": faults,
    }


def order_id(n: int) -> str:
    return f"order-{n:05d}"


@activity(retry=_RETRY)
def reserve_stock(order: dict[str, Any]) -> dict[str, Any]:
    if faulty(order, "reserve") and current_attempt().attempt == 1:
        raise TimeoutError(f"stock service timed out reserving {order['sku']}")
    return {"sku": order["sku"], "quantity": order["quantity"]}


@activity(retry=_RETRY)
def charge_card(order: dict[str, Any]) -> dict[str, Any]:
    """Charge once per idempotency key, however often this attempt is repeated."""
    attempt = current_attempt()
    first = attempt.attempt == 1
    if faulty(order, "network") and first:
        raise ConnectionError("card network busy")
    charge_id = _ledger.charge(
        order["ledger"],
        attempt.idempotency_key,
        order["order_id"],
        order["amount"],
        attempt.attempt,
    )
    if faulty(order, "worker_exit") and first:
        os._exit(70)
    return {"charge_id": charge_id, "amount": order["amount"]}


@activity(executor="thread")
def book_courier(order: dict[str, Any]) -> str:
    return f"TRK-{order['n']:05d}-{time.time_ns() % 10_000:04d}"


@workflow(name="ship")
async def ship(ctx: WorkflowContext, order: dict[str, Any]) -> dict[str, Any]:
    tracking = await ctx.activity(book_courier, order)
    return {"tracking": tracking}


@workflow(name="order")
async def process_order(ctx: WorkflowContext, order: dict[str, Any]) -> dict[str, Any]:
    stage = "reserving stock"
    ctx.on_query("stage", lambda: stage)
    await ctx.activity(reserve_stock, order)
    if faulty(order, "crash") and ctx.workflow_id not in _crashed:
        _crashed.add(ctx.workflow_id)
        raise RuntimeError(f"injected crash in the workflow code of {ctx.workflow_id}")
    stage = "charging card"
    receipt = await ctx.activity(charge_card, order)
    stage = "awaiting approval"
    approval = await ctx.wait_signal("approve", timeout=APPROVAL_TIMEOUT)
    stage = "cooling off"
    await ctx.sleep(COOL_OFF)
    stage = "shipping"
    shipment = await ctx.child(ship, order, workflow_id=f"{ctx.workflow_id}-ship")
    stage = "done"
    return {
        "order_id": order["order_id"],
        "charge_id": receipt["charge_id"],
        "approved_by": approval["by"] if isinstance(approval, dict) else None,
        "tracking": shipment["tracking"],
    }


ALL = (process_order, ship, reserve_stock, charge_card, book_courier)
