"""The real `aion-actors` command: on a directory another engine owns, config checks, bench."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from aion_actors import DataDirLocked, Engine
from aion_actors.cli import main
from aion_actors.workers import DEFAULT_WORKER_RESTART

ROOT = Path(__file__).resolve().parents[2]


def aion(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aion_actors", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@contextmanager
def holding(target: str) -> Iterator[None]:
    """An engine on `target` (a data directory or a Postgres URL) in another process."""
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.cli.holder", target],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "READY"
        yield
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0


@pytest.fixture
def held(tmp_path: Path) -> Iterator[Path]:
    """A data directory whose engine runs in another process."""
    data = tmp_path / "held"
    with holding(str(data)):
        yield data


def test_inspection_works_while_another_process_owns_the_directory(held: Path) -> None:
    with pytest.raises(DataDirLocked):
        Engine.open(held)
    listed = aion("runs", str(held), "--json")
    assert listed.returncode == 0, listed.stderr
    (run,) = json.loads(listed.stdout)
    assert (run["workflow_id"], run["status"]) == ("held-open", "running")

    described = aion("describe", str(held), "held-open", "--json")
    assert described.returncode == 0, described.stderr
    assert json.loads(described.stdout)["status"] == "running"

    history = aion("history", str(held), "held-open")
    assert history.returncode == 0, history.stderr
    assert "WorkflowStarted" in history.stdout and "awaits_approval" in history.stdout


def test_python_dash_m_and_the_runtime_failure_code(tmp_path: Path) -> None:
    missing = aion("describe", str(tmp_path / "nowhere"), "x")
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: data directory") and "Traceback" not in missing.stderr
    assert aion("--help").stdout.count("check-config") >= 1


VALID = """
[engine]
workers = 2

[restart.default]
max_restarts = 5
on_exhausted = "park"

[restart.order]
max_restarts = 1
backoff_initial = 0.5

[activity.charge]
retry_max_attempts = 4
timeout = 10
"""


def test_check_config_prints_the_effective_policy_per_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "aion.toml"
    path.write_text(VALID)
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"valid: {path}" in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 5}
    assert (
        "park" in rows["default (every other type)"] and " 5 " in rows["default (every other type)"]
    )
    assert " 1 " in rows["order"] and "0.5" in rows["order"] and "park" in rows["order"]

    assert main(["check-config", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["restart"]["order"]["max_restarts"] == 1
    assert doc["restart"]["order"]["on_exhausted"] == "park"  # inherited from [restart.default]
    assert doc["restart"]["default"]["max_restarts"] == 5
    assert doc["activity"]["charge"]["retry"]["max_attempts"] == 4
    assert doc["engine"]["workers"] == 2


def test_check_config_prints_the_effective_worker_pool_restart_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "aion.toml"
    path.write_text(VALID + "\n[workers]\nmax_restarts = 4\nbackoff_initial = 0.25\n")
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "effective restart policy of the worker processes ([workers])" in out
    (row,) = [line for line in out.splitlines() if line.startswith("│ every worker process")]
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    # pool, max_restarts, within_seconds and backoff_* (initial, multiplier, max, jitter):
    # the file's values over the built-in ones, and none of the keys only runs use
    assert cells == ["every worker process", "4", "10.0", "0.25", "2.0", "5.0", "0.0"]

    assert main(["check-config", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["workers"] == {
        "max_restarts": 4,
        "within_seconds": 10.0,
        "backoff_initial": 0.25,
        "backoff_multiplier": 2.0,
        "backoff_max": 5.0,
        "backoff_jitter": 0.0,
    }
    # Without a [workers] table, the pool's built-in policy is what applies.
    path.write_text(VALID)
    assert main(["check-config", str(path), "--json"]) == 0
    workers = json.loads(capsys.readouterr().out)["workers"]
    default = DEFAULT_WORKER_RESTART
    assert workers["max_restarts"] == default.max_restarts == 10
    assert workers["within_seconds"] == default.within_seconds
    assert workers["backoff_max"] == default.backoff.max


def test_check_config_rejects_a_bad_file_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "aion.toml"
    path.write_text('[restart.order]\nstrategy = "one_for_none"\n')
    result = aion("check-config", str(path))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}: [restart.order] strategy")
    assert "one_for_all" in line


def test_check_config_shows_the_retention_default_and_each_types_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "aion.toml"
    kept = '[retention]\ndefault = "30d"\n[retention.order]\nkeep = "12h"\n'
    path.write_text(VALID + kept + '[retention.audit]\nkeep = "forever"\n')
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    table = out.split("[retention]: closed runs kept")[1]
    rows = {cells[0]: cells[1] for cells in _rows(table) if len(cells) == 2}
    assert rows == {"default (every other type)": "30d", "order": "12h", "audit": "forever"}
    assert main(["check-config", str(path), "--json"]) == 0
    retention = json.loads(capsys.readouterr().out)["retention"]
    assert retention == {"default": 30 * 86400, "order": 12 * 3600, "audit": None}
    path.write_text(VALID)  # no [retention]: closed runs are kept forever
    assert main(["check-config", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["retention"] == {"default": None}


def test_check_config_refuses_a_retention_default_table_naming_what_was_meant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "aion.toml"
    path.write_text('[retention.default]\nkeep = "1s"\n')
    assert main(["check-config", str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {path}: [retention.default] cannot be a table")
    assert 'write [retention] default = "1s"' in line


def _rows(out: str) -> list[list[str]]:
    """The cells of each row of the tables `out` draws."""
    return [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in out.splitlines()
        if line.startswith("│")
    ]


def test_bench_is_the_benchmark_harness(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--list"]) == 0
    assert "throughput" in capsys.readouterr().out
    assert main(["bench", "no-such-scenario"]) == 2
