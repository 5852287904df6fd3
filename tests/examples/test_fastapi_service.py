"""examples/fastapi_service.py under uvicorn, driven over HTTP: SIGKILLed mid-order,
restarted on the same directory, the order finishes — every step once."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.examples._service import (
    Service,
    check_completed_once,
    kill_mid_order_and_restart,
    services,
)

__all__ = ["services"]  # the fixture

pytest.importorskip("fastapi", reason="the [web] extra (fastapi, uvicorn, httpx)")
pytest.importorskip("uvicorn", reason="the [web] extra (fastapi, uvicorn, httpx)")

EXAMPLE = "fastapi_service.py"


@pytest.mark.timeout(180)
def test_an_order_survives_a_sigkill_of_the_asyncio_service(
    tmp_path: Path, services: list[Service]
) -> None:
    data = tmp_path / "data"
    second, run_id = kill_mid_order_and_restart(EXAMPLE, data, tmp_path / "service.log", services)
    status, done = second.request("GET", "/orders/o-1/result?timeout=60")  # awaits the end
    assert status == 200
    assert "engine closed" in second.stop()
    # uvicorn shuts down through the lifespan, then re-raises the SIGTERM it handled
    assert second.process.returncode in (0, -signal.SIGTERM)
    check_completed_once(done["result"], run_id, data)


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
