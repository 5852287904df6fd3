"""`runs`, `history`, `describe` on a real data directory: output, JSON and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aion_actors.cli import main
from aion_actors.cli._events import clock, summary
from aion_actors.cli.inspection import pending
from aion_actors.core import events as ev


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_runs_lists_every_run_with_its_status(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = run_json(capsys, "runs", str(data_dir))
    statuses = sorted((r["workflow_id"], r["status"]) for r in runs)
    assert statuses == [
        ("crashy", "completed"),
        ("greeting", "completed"),
        ("greeting", "completed"),
        ("refused", "failed"),
        ("waiting", "running"),
    ]
    crashy = next(r for r in runs if r["workflow_id"] == "crashy")
    assert crashy["restarts"] == 1 and crashy["workflow_type"] == "crash_once"
    assert crashy["started_at"] <= crashy["ended_at"]


def test_runs_filters_by_status_and_type(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = run_json(capsys, "runs", str(data_dir), "--status", "failed")
    assert [r["workflow_id"] for r in failed] == ["refused"]
    hellos = run_json(capsys, "runs", str(data_dir), "--type", "hello")
    assert {r["workflow_id"] for r in hellos} == {"greeting"} and len(hellos) == 2


def test_runs_prints_a_table(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "5 runs in" in out
    for text in ("greeting", "crashy", "refused", "waiting", "failed", "running", "completed"):
        assert text in out


def test_history_shows_each_event_with_a_summary(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", str(data_dir), "crashy"]) == 0
    out = capsys.readouterr().out
    rows = [line.split("│")[1:4] for line in out.splitlines() if line.count("│") >= 4]
    assert [int(seq) for seq, _time, _kind in rows] == list(range(1, 7))
    kinds = {kind.strip() for _seq, _time, kind in rows}
    assert kinds == {
        "WorkflowStarted",
        "ActivityScheduled",
        "ActivityCompleted",
        "RunCrashed",
        "RunRestarted",
        "WorkflowCompleted",
    }
    assert "RuntimeError: injected crash" in out
    assert "restart #1" in out
    assert 'result "recovered"' in out


def test_history_json_has_every_event_in_order(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = run_json(capsys, "history", str(data_dir), "crashy")
    assert doc["format"] == "aion-actors/history" and doc["workflow_id"] == "crashy"
    assert doc["workflow_type"] == "crash_once" and doc["status"] == "completed"
    events = doc["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    crashed = next(e for e in events if e["kind"] == "RunCrashed")
    assert crashed["error"] == {"type": "RuntimeError", "message": "injected crash"}
    assert events[-1]["kind"] == "WorkflowCompleted" and events[-1]["result"] == "recovered"


def test_history_of_an_earlier_run(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = run_json(capsys, "runs", str(data_dir), "--type", "hello")
    first = min(runs, key=lambda r: r["started_at"])
    doc = run_json(capsys, "history", str(data_dir), "greeting", "--run", first["run_id"])
    events = doc["events"]
    assert doc["run_id"] == first["run_id"]
    assert events[0]["input"] == ["ada"] and events[-1]["result"] == "hello ada"
    latest = run_json(capsys, "history", str(data_dir), "greeting")
    assert latest["events"][0]["input"] == ["bob"]


def test_describe_an_open_run_says_what_it_waits_for(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = run_json(capsys, "describe", str(data_dir), "waiting")
    assert doc["status"] == "running" and doc["outcome"] is None
    assert len(doc["pending"]) == 1 and doc["pending"][0].startswith("signal 'approve'")
    assert main(["describe", str(data_dir), "waiting"]) == 0
    assert "signal 'approve' (times out at" in capsys.readouterr().out


def test_describe_a_failed_run_shows_its_error(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = run_json(capsys, "describe", str(data_dir), "refused")
    assert doc["status"] == "failed" and doc["pending"] == []
    assert doc["outcome"]["kind"] == "WorkflowFailed"
    assert doc["outcome"]["error"]["message"] == "order rejected"


@pytest.mark.parametrize(
    ("argv", "code", "fragment"),
    [
        (["describe", "{data}", "nobody"], 1, "workflow 'nobody' not found"),
        (["history", "{data}", "greeting", "--run", "0" * 32], 1, "not found"),
        (["runs", "{data}/missing"], 2, "does not exist"),
        (["history", "{data}/missing", "x"], 2, "does not exist"),
        (["runs", "{data}", "--status", "sleepy"], 2, "invalid choice: 'sleepy'"),
        (["runs"], 2, "the following arguments are required: DIR"),
        (["frobnicate"], 2, "invalid choice: 'frobnicate'"),
        (["runs", "{data}", "--colour"], 2, "unrecognized arguments: --colour"),
    ],
)
def test_errors_are_one_line_with_an_exit_code(
    data_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, fragment: str
) -> None:
    assert main([a.format(data=data_dir) for a in argv]) == code
    err = capsys.readouterr().err
    assert fragment in err
    assert "Traceback" not in err
    message = [line for line in err.splitlines() if line.startswith(("error:", "aion-actors"))]
    assert len([line for line in message if "error" in line]) == 1


def test_verbose_adds_the_traceback(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["describe", str(data_dir), "nobody", "--verbose"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("error: workflow 'nobody' not found")


def test_a_hand_off_with_a_timeout_says_when_it_times_out() -> None:
    at = 1_700_000_000 * 10**9
    scheduled = ev.ActivityScheduled(activity_id="1", name="ask", input=[])
    timed = ev.ActivityHandedOff(activity_id="1", attempt=2, timeout=5.0, timeout_at=at)
    assert summary(timed) == f"#1 attempt 2 handed off: awaits completion until {clock(at)}"
    assert pending([scheduled, timed]) == [
        f"activity #1 attempt 2: engine.complete_activity (handed off, times out at {clock(at)})"
    ]
    untimed = ev.ActivityHandedOff(activity_id="1", attempt=2)
    assert summary(untimed) == "#1 attempt 2 handed off: awaits completion"
