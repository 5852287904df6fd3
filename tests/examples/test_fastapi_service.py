"""examples/fastapi_service.py under uvicorn, driven over HTTP: SIGKILLed mid-order,
restarted on the same directory, the order finishes — every step once."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from aion_actors import Engine
from tests.examples._service import Service, poll, services

__all__ = ["services"]  # the fixture

pytest.importorskip("fastapi", reason="the [web] extra (fastapi, uvicorn, httpx)")
pytest.importorskip("uvicorn", reason="the [web] extra (fastapi, uvicorn, httpx)")

EXAMPLE = "fastapi_service.py"


@pytest.mark.timeout(180)
def test_an_order_survives_a_sigkill_of_the_asyncio_service(
    tmp_path: Path, services: list[Service]
) -> None:
    data, log = tmp_path / "data", tmp_path / "service.log"
    first = Service(EXAMPLE, data, log)
    services.append(first)
    status, created = first.request(
        "POST", "/orders", {"order_id": "o-1", "item": "book", "amount": 1200}
    )
    assert (status, created["order_id"]) == (201, "o-1")
    poll(
        lambda: first.request("GET", "/orders/o-1")[1].get("stage") == "awaiting approval",
        "the order to wait for approval",
    )
    first.sigkill()  # mid-order: charged, not approved yet

    second = Service(EXAMPLE, data, log)
    services.append(second)
    status, described = second.request("GET", "/orders/o-1")
    assert (status, described["status"], described["run_id"]) == (200, "running", created["run_id"])
    assert second.request("POST", "/orders/o-1/approve", {"by": "ops"})[0] == 202
    status, done = second.request("GET", "/orders/o-1/result?timeout=60")  # awaits the end
    assert status == 200
    result = done["result"]
    assert result["approved_by"] == "ops" and result["tracking"] == "TRACK-o-1"
    assert result["payment"] == {"payment_ref": f"o-1/{created['run_id']}/2", "amount": 1200}

    assert "engine closed" in second.stop()
    # uvicorn shuts down through the lifespan, then re-raises the SIGTERM it handled
    assert second.process.returncode in (0, -signal.SIGTERM)
    with Engine.open(data) as engine:  # the lock was released: the engine closed cleanly
        history = [e.kind for e in engine.history("o-1")]
    assert history.count("ActivityCompleted") == 2  # reserve and charge ran to completion once


@pytest.mark.timeout(120)
def test_the_asyncio_service_answers_bad_requests_with_http_errors(
    tmp_path: Path, services: list[Service]
) -> None:
    service = Service(EXAMPLE, tmp_path / "data", tmp_path / "service.log")
    services.append(service)
    assert service.request("GET", "/orders/nobody")[0] == 404
    assert service.request("POST", "/orders", {"item": "book"})[0] == 422  # no amount
    assert service.request("POST", "/orders/nobody/approve", {})[0] == 404
    body = {"order_id": "dup", "item": "pen", "amount": 1}
    assert service.request("POST", "/orders", body)[0] == 201
    status, error = service.request("POST", "/orders", body)
    assert status == 409 and "dup" in error["detail"]
    assert "engine closed" in service.stop()
