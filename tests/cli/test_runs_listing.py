"""`runs DIR` on many runs: a limit, time filters, dates, speed, and a reader that leaves early."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aion_actors.cli import main
from tests.cli.many_runs import SECOND, write_long_run, write_runs

RUNS = 20_000
#: run i of the big directory started i minutes after this (local time).
BASE = dt.datetime(2025, 1, 1, 0, 0)
MINUTE = 60 * SECOND


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("runs") / "big"
    base = int(BASE.timestamp()) * SECOND
    write_runs(data, [base + i * MINUTE for i in range(RUNS)])
    return data


def lines(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main(list(argv)) == 0
    return capsys.readouterr().out.splitlines()


def listed(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main([*argv, "--json"]) == 0
    return [run["workflow_id"] for run in json.loads(capsys.readouterr().out)]


def test_runs_lists_the_newest_100_by_default_and_counts_the_rest(
    big: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    title, header, *rows, more = lines(capsys, "runs", str(big))
    assert title == f"20,000 runs in {big}, newest first; the newest 100 shown"
    assert header.split() == [
        "workflow_id", "type", "status", "restarts", "events", "started", "ended", "run_id"
    ]  # fmt: skip
    assert [row.split()[0] for row in rows] == [f"order-{i:05}" for i in range(19_999, 19_899, -1)]
    assert more.startswith("… 19,900 more, older runs: --limit 0 lists all")


def test_runs_table_shows_start_and_end_dates(
    big: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _title, _header, completed, running, *_ = lines(capsys, "runs", str(big), "--limit", "2")
    started = BASE + dt.timedelta(minutes=19_999)
    assert (
        f"{started:%Y-%m-%d %H:%M:%S}  {started + dt.timedelta(seconds=1):%Y-%m-%d %H:%M:%S}"
        in (completed)
    )
    assert f"{started - dt.timedelta(minutes=1):%Y-%m-%d %H:%M:%S}  -  " in running


def test_runs_limit_zero_lists_all_20000_runs_one_line_each(
    big: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = lines(capsys, "runs", str(big), "--limit", "0")
    assert len(out) == 2 + RUNS and out[0] == f"20,000 runs in {big}, newest first"


def test_runs_since_and_until_select_by_start_time(
    big: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hour = listed(
        capsys, "runs", str(big), "--since", "2025-01-01T10:00", "--until", "2025-01-01 11:00"
    )
    assert hour == [f"order-{i:05}" for i in range(659, 599, -1)]
    day = listed(
        capsys, "runs", str(big), "--since", "2025-01-02", "--until", "2025-01-03", "--limit", "0"
    )
    assert len(day) == 24 * 60 and day[-1] == f"order-{24 * 60:05}"
    assert listed(capsys, "runs", str(big), "--until", "2025-01-01T00:02") == [
        "order-00001",
        "order-00000",
    ]


def test_runs_since_and_until_take_ages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = time.time_ns()
    write_runs(
        tmp_path / "data", [now - 3 * 86400 * SECOND, now - 2 * 3600 * SECOND, now - 600 * SECOND]
    )
    data = str(tmp_path / "data")
    assert listed(capsys, "runs", data, "--since", "1d") == ["order-00002", "order-00001"]
    assert listed(capsys, "runs", data, "--since", "30m") == ["order-00002"]
    assert listed(capsys, "runs", data, "--until", "12h") == ["order-00000"]
    assert listed(capsys, "runs", data, "--since", "1w", "--until", "1.5h") == [
        "order-00001",
        "order-00000",
    ]


def test_runs_json_limited_says_on_stderr_how_many_are_left_out(
    big: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs", str(big), "--json", "--limit", "3"]) == 0
    out, err = capsys.readouterr()
    assert [r["workflow_id"] for r in json.loads(out)] == [
        "order-19999",
        "order-19998",
        "order-19997",
    ]
    assert err.startswith("… 19,997 more, older runs: --limit 0 lists all")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "7x"], "error: --since '7x': not a time; expected an ISO date (2025-01-31"),
        (
            ["--until", "2025-13-01"],
            "error: --until '2025-13-01': not a time (month must be in 1..12)",
        ),
        (
            ["--since", "1h", "--until", "2h"],
            "error: --since 1h --until 2h: the start is not before",
        ),
        (["--limit", "-1"], "error: --limit -1: expected a count >= 0 (0 lists every run)"),
        (
            ["--since", "0001-01-01"],
            "error: --since '0001-01-01': not a time from 1970-01-01 to 2262-04-11 UTC; expected",
        ),
        (["--until", "9999-12-31"], "error: --until '9999-12-31': not a time from 1970-01-01"),
        (["--since", "3000w"], "error: --since '3000w': not a time from 1970-01-01"),
        (["--since", "9" * 400 + "s"], "error: --since '999"),
    ],
)
def test_runs_bad_limit_or_time_is_a_usage_error_naming_it(
    big: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["runs", str(big), *argv]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(message), line
    assert "ISO date" in line or "--limit" in line or "start is not" in line


@pytest.mark.parametrize("as_json", [True, False])
def test_runs_piped_to_a_reader_that_leaves_exits_quietly_with_141(
    big: Path, as_json: bool
) -> None:
    command = [sys.executable, "-m", "aion_actors", "runs", str(big), "--limit", "0"]
    reader = subprocess.Popen(
        command + (["--json"] if as_json else []),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    assert reader.stdout.readline()  # the reader has seen enough: it goes away (like head)
    reader.stdout.close()
    assert reader.wait(timeout=60) == 141  # as a shell reports `ls | head` killed by SIGPIPE
    assert reader.stderr.read() == b""


@pytest.fixture(scope="module")
def long_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("runs") / "long"
    write_long_run(data, "long-history", 5_000)
    return data


@pytest.mark.parametrize(
    "argv", [["runs", "{big}", "--limit", "0"], ["history", "{long}", "long-history"]]
)
def test_json_piped_to_head_exits_quietly(big: Path, long_history: Path, argv: list[str]) -> None:
    args = " ".join(f"'{a.format(big=big, long=long_history)}'" for a in argv)
    piped = subprocess.run(
        f"'{sys.executable}' -m aion_actors {args} --json | head -n 3",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert piped.returncode == 0 and piped.stdout.splitlines()[0] in ("[", "{")
    assert piped.stderr == ""  # it was "error: Broken pipe"
