"""examples/order_service.py over real HTTP: SIGKILLed mid-order, restarted, the order finishes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aion_actors import Engine

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "examples" / "order_service.py"
WAIT = 60.0


class Service:
    """The example running in its own session (so SIGKILL takes its workers too)."""

    def __init__(self, data: Path, log: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVICE), "--port", "0", "--data", str(data)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log.open("ab"),
            text=True,
            start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},  # as if installed (pip install -e .)
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("listening on "), f"the service did not start: {line!r}"
        self.url = line.split()[-1]

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=WAIT) as response:
            return response.status, json.loads(response.read())

    def sigkill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=WAIT)

    def stop(self) -> str:
        """SIGTERM, as a service manager stops it; returns what it printed on the way out."""
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=WAIT)
        return out


def poll(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        if service.process.poll() is None:
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait(timeout=WAIT)


@pytest.mark.timeout(180)
def test_an_order_survives_a_sigkill_of_the_service(
    tmp_path: Path, services: list[Service]
) -> None:
    data, log = tmp_path / "data", tmp_path / "service.log"
    first = Service(data, log)
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

    second = Service(data, log)
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
    service = Service(tmp_path / "data", tmp_path / "service.log")
    services.append(service)
    cases = [
        ("GET", "/orders/nobody", None, 404, "not found"),
        ("POST", "/orders", {"item": "book"}, 400, '"amount"'),
        ("POST", "/orders/nobody/approve", {}, 404, "not found"),
        ("GET", "/elsewhere", None, 404, "no route"),
    ]
    for method, path, body, code, fragment in cases:
        with pytest.raises(urllib.error.HTTPError) as error:
            service.request(method, path, body)
        assert error.value.code == code
        assert fragment in json.loads(error.value.read())["error"]
    service.request("POST", "/orders", {"order_id": "dup", "item": "pen", "amount": 1})
    with pytest.raises(urllib.error.HTTPError) as error:
        service.request("POST", "/orders", {"order_id": "dup", "item": "pen", "amount": 1})
    assert error.value.code == 409
    assert "engine closed" in service.stop()
