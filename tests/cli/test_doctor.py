"""`aion-actors doctor` and the inspection commands on damaged data directories.

Real directories, damaged for real (`tests/store/damage.py`); commands that
could die of SIGBUS run as real processes.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors.cli import main
from tests.cli.test_commands import aion, held
from tests.store import damage

__all__ = ["held"]  # a fixture, used below


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    damage.write_runs(data)
    yield data


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_runs_lists_a_damaged_index_entry_as_damaged_and_serves_the_others(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage.garbage_index_entry(data, 3)
    code, out, _ = run(capsys, "runs", str(data), "--limit", "0")
    assert code == 0
    title, _header, *rows = out.splitlines()
    assert title == (
        f"39 runs in {data}, newest first; 1 damaged index entry last (`aion-actors doctor {data}`)"
    )
    assert len(rows) == damage.RUNS
    assert rows[-1].split() == ["order-03", "?", "damaged", "?", "?", "?", "?", "run3"]
    code, out, _ = run(capsys, "runs", str(data), "--json")
    assert code == 0
    assert len(json.loads(out)) == damage.RUNS - 1


def test_doctor_finds_a_damaged_index_entry_and_rebuild_index_repairs_it(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "doctor", str(data))
    assert (code, out.splitlines()[-1]) == (0, "healthy: no damage found")
    assert "every page is sound" in out
    damage.garbage_index_entry(data, 3)
    damage.put(data, b"runs", damage.run_key(8), None)
    code, out, _ = run(capsys, "doctor", str(data))
    assert code == 1
    assert "  index: workflow 'order-03', run run3: run index entry is not a msgpack map" in out
    assert "  index: workflow 'order-08', run run8: the run has events but no index entry" in out
    assert out.splitlines()[-1].startswith(f"`aion-actors doctor {data} --rebuild-index` rebuilds")
    code, out, _ = run(capsys, "doctor", str(data), "--rebuild-index")
    assert code == 0, out
    assert out.splitlines()[0] == (
        f"rebuilt the run index and the timers of {data} from the events: 40 runs, 20 timers"
    )
    assert out.splitlines()[-1] == "healthy: no damage found"
    code, out, _ = run(capsys, "runs", str(data), "--json", "--limit", "0")
    assert len(json.loads(out)) == damage.RUNS
    code, out, _ = run(capsys, "doctor", str(data), "--json")
    assert code == 0 and json.loads(out)["healthy"] is True


def test_runs_lists_every_run_past_a_damaged_search_index_page_and_doctor_repairs_it(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A search row out of key order (one byte changed on disk) ended `runs` after 19 of 40
    runs, silently: it lists all 40, says on stderr what is damaged and how to repair it."""
    damage.bump_search_row(data, b"D", 20)
    listed = aion("runs", str(data), "--limit", "0")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0] == f"40 runs in {data}, newest first"
    assert f"the search index of {data} is damaged" in listed.stderr
    assert f"`aion-actors doctor {data} --rebuild-index` rebuilds the index" in listed.stderr
    code, out, _ = run(capsys, "doctor", str(data))
    assert code == 1
    assert "main/search DB: leaf keys out of order" in out or "  search: " in out
    assert out.splitlines()[-1].startswith(f"`aion-actors doctor {data} --rebuild-index` rebuilds")
    code, out, _ = run(capsys, "doctor", str(data), "--rebuild-index")
    assert (code, out.splitlines()[-1]) == (0, "healthy: no damage found"), out
    listed = aion("runs", str(data), "--limit", "0")
    assert listed.stdout.splitlines()[0] == f"40 runs in {data}, newest first"
    assert listed.stderr == ""


def test_doctor_checks_a_directory_an_engine_owns_and_refuses_to_rebuild_it(held: Path) -> None:
    checked = aion("doctor", str(held))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "skipped  pages      not walked: process" in checked.stdout
    rebuilt = aion("doctor", str(held), "--rebuild-index")
    assert rebuilt.returncode == 1
    assert "is locked by process" in rebuilt.stderr and "stop that engine first" in rebuilt.stderr


def test_a_truncated_data_file_is_reported_by_every_command_never_sigbus(data: Path) -> None:
    damage.truncate_to_half(data)
    for argv in (("runs",), ("history", "order-01"), ("describe", "order-01"), ("doctor",)):
        done = aion(argv[0], str(data), *argv[1:])
        assert done.returncode != -signal.SIGBUS, f"{argv[0]} died of SIGBUS"
        assert done.returncode == 1, done.stderr
        said = done.stderr if argv[0] != "doctor" else done.stdout
        assert f"{data / 'data.mdb'}: the file is truncated" in said, said


def test_a_lost_data_file_is_reported_and_create_empty_starts_over(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "doctor", str(data), "--create-empty")
    assert code == 2 and "only replaces a lost data file" in err
    os.truncate(data / "data.mdb", 0)
    code, _, err = run(capsys, "runs", str(data))
    assert code == 1 and f"{data / 'data.mdb'}: the data file is empty (0 bytes)" in err
    code, out, _ = run(capsys, "doctor", str(data))
    assert code == 1
    assert f"`aion-actors doctor {data} --create-empty`" in out.splitlines()[-1]
    assert (data / "data.mdb").stat().st_size == 0
    code, out, _ = run(capsys, "doctor", str(data), "--create-empty")
    assert code == 0, out
    assert out.splitlines()[0].startswith(f"created an empty store in {data}")
    code, out, _ = run(capsys, "runs", str(data))
    assert (code, out.splitlines()[0]) == (0, f"0 runs in {data}, newest first")


def test_doctor_usage_errors_exit_2(data: Path, tmp_path: Path) -> None:
    assert main(["doctor"]) == 2
    assert main(["doctor", str(data), "--rebuild-index", "--create-empty"]) == 2
    assert main(["doctor", str(tmp_path / "missing")]) == 2
