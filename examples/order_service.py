"""A small HTTP order service that embeds an aion-actors engine (stdlib only).

    python examples/order_service.py --port 8080 --data ./order-service-data

    curl -X POST localhost:8080/orders -d '{"order_id": "o-1", "item": "book", "amount": 1200}'
    curl localhost:8080/orders/o-1                  # status, stage, result
    curl -X POST localhost:8080/orders/o-1/approve -d '{"by": "ops"}'

Port and data directory also come from ORDER_SERVICE_PORT / ORDER_SERVICE_DATA.
Kill the service at any moment (even `kill -9`) and start it again on the
same directory: open orders carry on where they stopped. SIGTERM or Ctrl-C
stops it cleanly: the engine lets its running activities finish (up to 10 s,
their outcomes recorded) and closes (its workers and its LMDB store).

Activities live at module level and the server starts under the
`if __name__ == "__main__":` guard, because the engine's worker processes
(forkserver) import this file to find the activities.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aion_actors import (
    AionError,
    Engine,
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


@activity
def reserve_stock(order: dict[str, Any]) -> dict[str, Any]:
    return {"item": order["item"], "reserved": True}


@activity
def charge_card(order: dict[str, Any]) -> dict[str, Any]:
    # The same for every attempt of this step: a real payment API would dedupe on it.
    return {"payment_ref": current_attempt().idempotency_key, "amount": order["amount"]}


@activity(executor="thread")
def book_courier(order: dict[str, Any]) -> str:
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


class OrderServer(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], engine: Engine) -> None:
        super().__init__(address, OrderHandler)
        self.engine = engine


class OrderHandler(BaseHTTPRequestHandler):
    server: OrderServer

    def do_POST(self) -> None:
        parts = self.path.strip("/").split("/")
        try:
            body = self._body()
            if parts == ["orders"]:
                self._reply(HTTPStatus.CREATED, self._create(body))
            elif len(parts) == 3 and parts[0] == "orders" and parts[2] == "approve":
                self.server.engine.signal(parts[1], "approve", {"by": body.get("by", "api")})
                self._reply(HTTPStatus.ACCEPTED, {"order_id": parts[1], "approved": True})
            else:
                self._reply(HTTPStatus.NOT_FOUND, {"error": f"no route POST {self.path}"})
        except (ValueError, PayloadError) as exc:
            self._reply(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except WorkflowNotFound as exc:
            self._reply(HTTPStatus.NOT_FOUND, {"error": str(exc)})
        except (WorkflowAlreadyStarted, WorkflowClosed) as exc:
            self._reply(HTTPStatus.CONFLICT, {"error": str(exc)})
        except AionError as exc:
            self._reply(HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(exc)})

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "orders":
            self._reply(HTTPStatus.NOT_FOUND, {"error": f"no route GET {self.path}"})
            return
        try:
            self._reply(HTTPStatus.OK, self._describe(parts[1]))
        except WorkflowNotFound as exc:
            self._reply(HTTPStatus.NOT_FOUND, {"error": str(exc)})

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body.get("item"), str) or not isinstance(body.get("amount"), int):
            raise ValueError('an order needs "item" (a string) and "amount" (an integer)')
        if not isinstance(body.get("order_id", ""), str):
            raise ValueError('"order_id" must be a string (leave it out to get a generated one)')
        run = self.server.engine.start(order, body, workflow_id=body.get("order_id"))
        return {"order_id": run.workflow_id, "run_id": run.run_id}

    def _describe(self, order_id: str) -> dict[str, Any]:
        engine = self.server.engine
        run = engine.describe(order_id)
        doc: dict[str, Any] = {
            "order_id": order_id,
            "status": run.status.value,
            "run_id": run.run_id,
            "residency": run.residency,
            "restarts": run.restarts,
        }
        if run.status.value == "running":
            try:
                doc["stage"] = engine.query(order_id, "stage")
            except QueryError:
                doc["stage"] = None  # restarting or being evicted right now
        elif run.status.is_terminal:
            try:
                doc["result"] = engine.result(order_id, timeout=5)
            except WorkflowFailed as exc:
                doc["error"] = exc.error
        return doc

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        try:
            body = json.loads(self.rfile.read(length))
        except json.JSONDecodeError as exc:
            raise ValueError(f"the request body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ValueError("the request body must be a JSON object")
        return body

    def _reply(self, status: HTTPStatus, doc: dict[str, Any]) -> None:
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="An HTTP order service on aion-actors.")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("ORDER_SERVICE_PORT", 8080)),
        help="port on 127.0.0.1 (0: any free port; default 8080)",
    )
    parser.add_argument(
        "--data",
        default=os.environ.get("ORDER_SERVICE_DATA", "order-service-data"),
        help="the engine's data directory",
    )
    args = parser.parse_args(argv)
    # SIGTERM (what service managers send) stops the server like Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with Engine.open(args.data, workers=2) as engine:
            engine.register(order, shipping, reserve_stock, charge_card, book_courier)
            with OrderServer(("127.0.0.1", args.port), engine) as server:
                print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
                try:
                    server.serve_forever()
                except KeyboardInterrupt:
                    print("stopping", flush=True)
            engine.close(drain=10)  # running activities finish, recorded: not run again
    except AionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("engine closed", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
