"""`aion-actors demo --data DIR`: a new or empty directory, or a demo's own with the same
--runs (to finish it); anything else is refused with nothing written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from aion_actors import Engine
from aion_actors.cli import main
from aion_actors.cli._ledger import LEDGER_FILE
from aion_actors.cli._verdict import check
from tests.cli import flows


def _files(data: Path) -> dict[str, tuple[int, int]]:
    """Every file under `data`, with its size and modification time."""
    return {
        str(p.relative_to(data)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(data.rglob("*"))
    }


def _demo(data: Path, runs: int) -> int:
    return main(["demo", "--runs", str(runs), "--no-faults", "--data", str(data)])


@pytest.fixture(scope="module")
def demo_of_3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("demo3") / "data"
    assert _demo(data, 3) == 0
    return data


@pytest.mark.timeout(240)
def test_a_demo_directory_is_taken_again_with_the_same_runs(
    demo_of_3: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert _demo(demo_of_3, 3) == 0
    assert "verdict: all 3 orders completed, 0 duplicate charges" in capsys.readouterr().out
    assert check(demo_of_3, 3).charges == 3


@pytest.mark.parametrize("runs", [2, 5])
def test_a_demo_directory_with_other_runs_is_refused_naming_its_runs(
    demo_of_3: Path, runs: int, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    before = _files(demo_of_3)
    assert _demo(demo_of_3, runs) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{demo_of_3} holds a demo started with --runs 3, not --runs {runs}" in err
    assert f"demo --runs 3 --data {demo_of_3}" in err  # how to finish it
    assert _files(demo_of_3) == before


def test_a_data_directory_that_is_not_a_demos_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "production"
    with Engine.open(data, workers=1) as engine:
        engine.register(*flows.ALL)
        engine.start(flows.hello, "ada", workflow_id="greeting").result(30)
    before = _files(data)
    assert _demo(data, 3) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{data} is not empty and is not a demo's data directory" in err
    assert "nothing was written" in err
    assert _files(data) == before


def test_a_directory_with_a_ledger_from_an_older_demo_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "old-demo"
    data.mkdir()
    with sqlite3.connect(data / LEDGER_FILE) as db:
        db.execute("CREATE TABLE charges (idempotency_key TEXT)")
    before = _files(data)
    assert _demo(data, 3) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "does not say how many orders it was started with" in err
    assert _files(data) == before


def test_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "a-file"
    data.write_text("mine")
    assert _demo(data, 3) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert data.read_text() == "mine"


@pytest.mark.timeout(240)
def test_an_empty_directory_is_taken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "empty"
    data.mkdir()
    assert _demo(data, 2) == 0
    assert "verdict: all 2 orders completed, 0 duplicate charges" in capsys.readouterr().out
