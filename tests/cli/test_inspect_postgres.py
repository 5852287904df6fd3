"""`runs`, `history`, `describe` on a `postgresql://` URL: read-only, beside a live engine."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from aion_actors import Engine
from aion_actors.cli import main
from tests.cli.conftest import fill


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.timeout(120)
def test_runs_history_and_describe_read_a_postgres_store_while_its_engine_runs(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(pg_url)
    with Engine.open(pg_url, workers=1):  # the owner holds the store; inspection takes no lock
        runs = run_json(capsys, "runs", pg_url)
        statuses = sorted((r["workflow_id"], r["status"]) for r in runs)
        assert statuses == [
            ("crashy", "completed"),
            ("greeting", "completed"),
            ("greeting", "completed"),
            ("refused", "failed"),
            ("waiting", "running"),
        ]
        failed = run_json(capsys, "runs", pg_url, "--status", "failed")
        assert [r["workflow_id"] for r in failed] == ["refused"]
        history = run_json(capsys, "history", pg_url, "crashy")
        kinds = [e["kind"] for e in history["events"]]
        assert kinds[0] == "WorkflowStarted" and "RunCrashed" in kinds
        assert kinds[-1] == "WorkflowCompleted"
        described = run_json(capsys, "describe", pg_url, "waiting")
        assert described["status"] == "running" and described["pending"]
        assert main(["runs", pg_url]) == 0
        table = capsys.readouterr().out
        assert "5 runs in postgresql://127.0.0.1:" in table and "postgres@" not in table
    assert main(["describe", pg_url, "nobody"]) == 1
    assert "workflow 'nobody' not found" in capsys.readouterr().err


def test_inspecting_an_unreachable_server_is_one_line_naming_host_and_port(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = main(["runs", f"postgresql://u@127.0.0.1:{port}/db"])
    err = capsys.readouterr().err
    assert code != 0 and f"127.0.0.1:{port} does not answer" in err
    assert "Traceback" not in err
