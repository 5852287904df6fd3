"""examples/order_service.py over real HTTP: SIGKILLed mid-order, restarted, the order finishes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.examples._service import (
    Service,
    check_completed_once,
    kill_mid_order_and_restart,
    poll,
    services,
)

__all__ = ["services"]  # the fixture

EXAMPLE = "order_service.py"


@pytest.mark.timeout(180)
def test_an_order_survives_a_sigkill_of_the_service(
    tmp_path: Path, services: list[Service]
) -> None:
    data = tmp_path / "data"
    second, run_id = kill_mid_order_and_restart(EXAMPLE, data, tmp_path / "service.log", services)
    done = poll(
        lambda: (d := second.request("GET", "/orders/o-1")[1])["status"] == "completed" and d,
        "the order to complete",
    )
    assert "engine closed" in second.stop()
    assert second.process.returncode == 0
    check_completed_once(done["result"], run_id, data)


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
