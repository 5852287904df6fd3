"""`aion-actors ui DIR`: a real process serving a store read-only, beside the engine that
owns the directory, showing what that engine commits after the page was first served."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from aion_actors import Engine
from aion_actors.web.serve import listen
from tests.web import flows
from tests.web.conftest import WAIT

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[2]


@contextmanager
def ui(data: Path, port: int = 0) -> Iterator[str]:
    """`aion-actors ui DATA --port PORT` in a subprocess; yields its URL (printed once it
    listens), interrupts it after."""
    process = subprocess.Popen(
        [sys.executable, "-m", "aion_actors", "ui", str(data), "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert found, f"no URL printed: {line!r} {process.stderr.read() if process.stderr else ''}"
        yield found.group(0)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=WAIT)


def test_ui_serves_a_store_read_only_beside_its_running_engine(
    data_dir: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(data_dir, data)
    flows.reset()
    with Engine.open(data, workers=1) as engine:  # the owner, holding the lock
        engine.register(*flows.ALL)
        with ui(data) as url, httpx.Client(base_url=url, timeout=WAIT) as http:
            assert 'data-workflow-id="crashy"' in http.get("/").text
            engine.start(flows.awaits_approval, workflow_id="arrived-later")
            page = http.get("/?status=running").text
            assert 'data-workflow-id="arrived-later"' in page  # each request reads anew
            assert "read-only store" in page
            refused = http.post("/resume", data={"workflow_id": "broken", "token": ""})
            assert refused.status_code == 403


def test_ui_answers_only_requests_addressed_to_the_loopback_names(data_dir: Path) -> None:
    """A DNS-rebinding page (evil.example resolving to 127.0.0.1) sends its own name as
    the Host header: it gets a 400, never the runs and their inputs."""
    with ui(data_dir) as url, httpx.Client(base_url=url, timeout=WAIT) as http:
        port = url.rstrip("/").rsplit(":", 1)[1]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "LOCALHOST"):
            page = http.get("/runs/order-ada", headers={"Host": host})
            assert page.status_code == 200 and "ada" in page.text, host
        for host in (f"evil.example:{port}", "evil.example", "127.0.0.1.evil.example", ""):
            refused = http.get("/runs/order-ada", headers={"Host": host})
            assert refused.status_code == 400, host
            assert "ada" not in refused.text and "127.0.0.1, localhost, [::1]" in refused.text


def test_ui_on_a_port_in_use_says_so_and_exits_2(data_dir: Path) -> None:
    taken = listen(0)
    port = taken.getsockname()[1]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "aion_actors", "ui", str(data_dir), "--port", str(port)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=WAIT,
            env={**os.environ, "COLUMNS": "300"},
        )
    finally:
        taken.close()
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
