"""An example service (`examples/<name>.py`) run as a real process, spoken to over HTTP."""

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
from typing import Any, NamedTuple

import pytest

from aion_actors import Engine

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60.0


class Service:
    """The example running in its own session (so SIGKILL takes its workers too)."""

    def __init__(self, example: str, data: Path, log: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / example), "--port", "0", "--data", str(data)],
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
        """(status, the JSON body), error statuses included."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=WAIT) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def sigkill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=WAIT)

    def stop(self) -> str:
        """SIGTERM, as a service manager stops it; returns what it printed on the way out."""
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=WAIT)
        return out


class Restarted(NamedTuple):
    """An order service SIGKILLed mid-order and started again on its data directory."""

    service: Service
    run_id: str  # the order's run, as the first service created it


def kill_mid_order_and_restart(
    example: str, data: Path, log: Path, services: list[Service]
) -> Restarted:
    """Create order o-1, SIGKILL the service once it waits for approval (charged, not
    approved), start it again: the order is the same run, still running; approve it."""
    first = Service(example, data, log)
    services.append(first)
    status, created = first.request(
        "POST", "/orders", {"order_id": "o-1", "item": "book", "amount": 1200}
    )
    assert (status, created["order_id"]) == (201, "o-1")
    poll(
        lambda: first.request("GET", "/orders/o-1")[1].get("stage") == "awaiting approval",
        "the order to wait for approval",
    )
    first.sigkill()

    second = Service(example, data, log)
    services.append(second)
    status, described = second.request("GET", "/orders/o-1")
    assert (status, described["status"], described["run_id"]) == (200, "running", created["run_id"])
    assert second.request("POST", "/orders/o-1/approve", {"by": "ops"})[0] == 202
    return Restarted(second, created["run_id"])


def check_completed_once(result: dict[str, Any], run_id: str, data: Path) -> None:
    """The order's result, and that reserve and charge each completed once in its history
    (read after the service stopped: its engine released the directory's lock)."""
    assert result["approved_by"] == "ops" and result["tracking"] == "TRACK-o-1"
    assert result["payment"] == {"payment_ref": f"o-1/{run_id}/2", "amount": 1200}
    with Engine.open(data) as engine:
        history = [e.kind for e in engine.history("o-1")]
    assert history.count("ActivityCompleted") == 2


def poll(check: Callable[[], Any], what: str) -> Any:
    """Ask the service until `check` holds (it tells nobody when a run moves on)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def services() -> Iterator[list[Service]]:
    """Services a test started; any still running at its end is killed."""
    started: list[Service] = []
    yield started
    for service in started:
        if service.process.poll() is None:
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait(timeout=WAIT)
