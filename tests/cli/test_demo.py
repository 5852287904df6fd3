"""`aion-actors demo`: faults, an engine SIGKILL half-way, and a verdict that can fail."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest

from aion_actors.cli import main
from aion_actors.cli._ledger import LEDGER_FILE
from aion_actors.cli._verdict import check
from aion_actors.store import LmdbStore

RUNS = 40


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo") / "data"


@pytest.mark.timeout(240)
def test_the_demo_survives_its_faults_and_an_engine_kill(
    demo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--runs", str(RUNS), "--data", str(demo_dir), "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert f"data directory: {demo_dir}" in out
    assert "SIGKILL engine process" in out
    assert f"verdict: all {RUNS} orders completed, 0 duplicate charges" in out
    with LmdbStore(demo_dir, readonly=True) as store:
        runs = store.runs()
    assert len(runs) == 2 * RUNS  # every order and its shipping child
    assert {r.status.value for r in runs} == {"completed"}
    assert sum(r.restarts for r in runs) >= 2  # orders 9 and 29 crash on purpose
    verdict = check(demo_dir, RUNS)
    assert verdict.charges == RUNS and verdict.executions > RUNS  # worker deaths repeat charges


@pytest.mark.timeout(240)
def test_the_verdict_catches_a_card_charged_twice(demo_dir: Path) -> None:
    assert check(demo_dir, RUNS).ok
    with sqlite3.connect(demo_dir / LEDGER_FILE) as db:
        db.execute("INSERT INTO charges VALUES ('forged-key', 'order-00003', 100, 'ch_forged', 0)")
    verdict = check(demo_dir, RUNS)
    assert not verdict.ok and verdict.duplicate_charges == 1
    assert "1 duplicate charges" in verdict.headline


@pytest.mark.timeout(240)
def test_no_faults_means_no_kill_in_a_fresh_temporary_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cwd, temp = tmp_path / "cwd", tmp_path / "temp"
    cwd.mkdir()
    temp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    assert main(["demo", "--runs", "5", "--no-faults"]) == 0
    out = capsys.readouterr().out
    assert list(cwd.iterdir()) == []  # nothing piles up where the demo was run
    (data,) = temp.glob("aion-demo-*")  # a fresh folder in the temporary directory
    assert out.startswith(f"data directory: {data} (a new temporary directory")
    assert "SIGKILL engine" not in out
    assert "verdict: all 5 orders completed, 0 duplicate charges" in out
    verdict = check(data, 5)
    assert verdict.executions == verdict.charges == 5


def test_demo_arguments_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--runs", "0"]) == 2
    assert "must be at least 1" in capsys.readouterr().err
