"""The order service of `order_service.py`, as an asyncio service: FastAPI + uvicorn.

    pip install 'aion-actors[web]'
    python examples/fastapi_service.py --port 8080 --data ./fastapi-orders

    curl -X POST localhost:8080/orders -H 'content-type: application/json' \\
         -d '{"order_id": "o-1", "item": "book", "amount": 1200}'
    curl localhost:8080/orders/o-1                  # status, stage, result
    curl -X POST localhost:8080/orders/o-1/approve -H 'content-type: application/json' \\
         -d '{"by": "ops"}'
    curl localhost:8080/orders/o-1/result           # waits for the order to finish

The engine is opened in the app's lifespan (`AsyncEngine.open`) and every
handler awaits it: none blocks the event loop, and `GET /orders/{id}/result`
holds no thread while it waits. Kill the service at any moment (even
`kill -9`) and start it again on the same directory: open orders carry on.
SIGTERM or Ctrl-C stops uvicorn, whose lifespan closes the engine, letting its
running activities finish first (up to 10 s, their outcomes recorded).

Activities live at module level and the server starts under the
`if __name__ == "__main__":` guard: the engine's worker processes import
this file to find the activities.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

from aion_actors import (
    AionError,
    PayloadError,
    QueryError,
    WorkflowAlreadyStarted,
    WorkflowClosed,
    WorkflowContext,
    WorkflowFailed,
    WorkflowNotFound,
    activity,
    current_attempt,
    workflow,
)
from aion_actors.aio import AsyncEngine


@activity
def reserve_stock(order: dict[str, Any]) -> dict[str, Any]:
    return {"item": order["item"], "reserved": True}


@activity
def charge_card(order: dict[str, Any]) -> dict[str, Any]:
    # The same for every attempt of this step: a real payment API would dedupe on it.
    return {"payment_ref": current_attempt().idempotency_key, "amount": order["amount"]}


@activity(executor="thread")
async def book_courier(order: dict[str, Any]) -> str:
    await asyncio.sleep(0.01)  # an async HTTP client call to the courier, say
    return f"TRACK-{order['order_id']}"


@workflow
async def shipping(ctx: WorkflowContext, order: dict[str, Any]) -> dict[str, Any]:
    return {"tracking": await ctx.activity(book_courier, order)}


@workflow
async def order(ctx: WorkflowContext, details: dict[str, Any]) -> dict[str, Any]:
    stage = "reserving stock"
    ctx.on_query("stage", lambda: stage)
    await ctx.activity(reserve_stock, details)
    stage = "charging card"
    payment = await ctx.activity(charge_card, details)
    stage = "awaiting approval"
    approval = await ctx.wait_signal("approve", timeout=7 * 24 * 3600)
    stage = "shipping"
    shipment = await ctx.child(shipping, details, workflow_id=f"{ctx.workflow_id}-shipping")
    stage = "done"
    return {"payment": payment, "approved_by": approval.get("by"), **shipment}


class NewOrder(BaseModel):
    item: str
    amount: int
    order_id: str | None = None


class Approval(BaseModel):
    by: str = "api"


def make_app(data_dir: str, *, announce: str | None = None) -> FastAPI:
    """The service on the engine at `data_dir`; prints `announce` once the engine is open."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncEngine.open(data_dir, workers=2) as engine:
            await engine.register(order, shipping, reserve_stock, charge_card, book_courier)
            app.state.engine = engine
            if announce:
                print(announce, flush=True)
            yield
            await engine.aclose(drain=10)  # running activities finish, recorded: not run again
        print("engine closed", flush=True)

    app = FastAPI(title="orders", lifespan=lifespan)

    def engine_of(request: Request) -> AsyncEngine:
        engine: AsyncEngine = request.app.state.engine
        return engine

    @app.post("/orders", status_code=201)
    async def create(body: NewOrder, request: Request) -> dict[str, str]:
        details = body.model_dump()
        try:
            run = await engine_of(request).start(order, details, workflow_id=body.order_id)
        except WorkflowAlreadyStarted as exc:
            raise HTTPException(409, str(exc)) from None
        except (ValueError, PayloadError) as exc:
            raise HTTPException(400, str(exc)) from None
        return {"order_id": run.workflow_id, "run_id": run.run_id}

    @app.post("/orders/{order_id}/approve", status_code=202)
    async def approve(order_id: str, body: Approval, request: Request) -> dict[str, Any]:
        try:
            await engine_of(request).signal(order_id, "approve", {"by": body.by})
        except WorkflowNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except WorkflowClosed as exc:
            raise HTTPException(409, str(exc)) from None
        return {"order_id": order_id, "approved": True}

    @app.get("/orders/{order_id}")
    async def describe(order_id: str, request: Request) -> dict[str, Any]:
        engine = engine_of(request)
        try:
            run = await engine.describe(order_id)
        except WorkflowNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        doc: dict[str, Any] = {
            "order_id": order_id,
            "status": run.status.value,
            "run_id": run.run_id,
            "residency": run.residency,
            "restarts": run.restarts,
        }
        if run.status.value == "running":
            try:
                doc["stage"] = await engine.query(order_id, "stage")
            except QueryError:
                doc["stage"] = None  # restarting or being evicted right now
        elif run.status.is_terminal:
            try:
                doc["result"] = await engine.result(order_id, timeout=5)
            except WorkflowFailed as exc:
                doc["error"] = exc.error
        return doc

    @app.get("/orders/{order_id}/result")
    async def result(order_id: str, request: Request, timeout: float = 30.0) -> dict[str, Any]:
        try:
            value = await engine_of(request).result(order_id, timeout=timeout)
        except WorkflowNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except TimeoutError as exc:
            raise HTTPException(504, str(exc)) from None
        except WorkflowFailed as exc:
            raise HTTPException(409, {"error": exc.error}) from None
        return {"order_id": order_id, "result": value}

    @app.exception_handler(AionError)
    async def unavailable(_request: Request, exc: AionError) -> Any:
        from fastapi.responses import JSONResponse

        return JSONResponse({"detail": str(exc)}, status_code=503)

    return app


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(description="An asyncio order service on aion-actors.")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("ORDER_SERVICE_PORT", 8080)),
        help="port on 127.0.0.1 (0: any free port; default 8080)",
    )
    parser.add_argument(
        "--data",
        default=os.environ.get("ORDER_SERVICE_DATA", "fastapi-orders"),
        help="the engine's data directory",
    )
    args = parser.parse_args(argv)
    listening = socket.socket()
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind(("127.0.0.1", args.port))
    listening.listen(128)  # connections wait in the backlog from the moment it is announced
    address = f"listening on http://127.0.0.1:{listening.getsockname()[1]}"
    app = make_app(args.data, announce=address)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[listening])  # SIGTERM and Ctrl-C end it through the lifespan
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
