"""examples/order_service.py over real HTTP: SIGKILLed mid-order, restarted, the order finishes."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import Engine
from tests.examples._service import Service, poll, services

__all__ = ["services"]  # the fixture

EXAMPLE = "order_service.py"


@pytest.mark.timeout(180)
def test_an_order_survives_a_sigkill_of_the_service(
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
    done = poll(
        lambda: (d := second.request("GET", "/orders/o-1")[1])["status"] == "completed" and d,
        "the order to complete",
    )
    result = done["result"]
    assert result["approved_by"] == "ops" and result["tracking"] == "TRACK-o-1"
    assert result["payment"] == {"payment_ref": f"o-1/{created['run_id']}/2", "amount": 1200}

    assert "engine closed" in second.stop()
    assert second.process.returncode == 0
    with Engine.open(data) as engine:  # the lock was released: the engine closed cleanly
        history = [e.kind for e in engine.history("o-1")]
    assert history.count("ActivityCompleted") == 2  # reserve and charge ran to completion once


@pytest.mark.timeout(120)
def test_bad_requests_get_clear_http_errors(tmp_path: Path, services: list[Service]) -> None:
    service = Service(EXAMPLE, tmp_path / "data", tmp_path / "service.log")
    services.append(service)
    cases = [
        ("GET", "/orders/nobody", None, 404, "not found"),
        ("POST", "/orders", {"item": "book"}, 400, '"amount"'),
        ("POST", "/orders/nobody/approve", {}, 404, "not found"),
        ("GET", "/elsewhere", None, 404, "no route"),
    ]
    for method, path, body, code, fragment in cases:
        status, answer = service.request(method, path, body)
        assert status == code
        assert fragment in answer["error"]
    service.request("POST", "/orders", {"order_id": "dup", "item": "pen", "amount": 1})
    status, _ = service.request("POST", "/orders", {"order_id": "dup", "item": "pen", "amount": 1})
    assert status == 409
    assert "engine closed" in service.stop()
