"""The inspection commands on a data directory this user may not write: a backup on a
read-only mount is inspected (and never repaired); another user's directory is refused
with what to do (see `tests/store/test_read_only_dir.py` for the store underneath)."""

from __future__ import annotations

import ast
import functools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import Engine
from aion_actors.cli import main
from tests.cli import flows
from tests.store import access


def engine_run(data: Path) -> None:
    """An engine's directory: one completed run, one waiting for a signal."""
    with Engine.open(data, workers=1) as engine:
        engine.register(*flows.ALL)
        assert engine.start(flows.hello, "ro", workflow_id="done").result(timeout=30) == "hello ro"
        engine.start(flows.awaits_approval, workflow_id="waiting")


@pytest.fixture
def backup(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "backup"
    engine_run(data)
    with access.read_only_mount(data):
        yield data


def test_a_backup_on_a_read_only_mount_is_inspected_by_every_command(
    backup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs", str(backup), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {(r["workflow_id"], r["status"]) for r in listed} == {
        ("done", "completed"),
        ("waiting", "running"),
    }
    assert main(["describe", str(backup), "waiting", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "running"
    assert main(["history", str(backup), "done"]) == 0
    assert "WorkflowCompleted" in capsys.readouterr().out
    assert main(["doctor", str(backup)]) == 0  # (before: error: Read-only file system)
    checked = capsys.readouterr().out
    assert "every page is sound" in checked and checked.endswith("healthy: no damage found\n")
    assert main(["doctor", str(backup), "--rebuild-index"]) == 2
    said = capsys.readouterr().err
    assert f"data directory {backup} is on a read-only file system" in said
    assert "copy it to a writable place to run an engine on it or repair it" in said


def test_a_directory_another_user_may_be_writing_is_refused_by_every_command() -> None:
    with access.shared_directory() as shared:
        data = shared / "data"
        engine_run(data)
        access.let_others_read(data)
        for argv in (("runs",), ("history", "done"), ("describe", "done"), ("doctor",)):
            command = functools.partial(access.cli, argv[0], str(data), *argv[1:])
            code, said = ast.literal_eval(access.as_a_user_who_may_not_write(data, command))
            assert code == 2, said
            assert said.startswith(f"error: data directory {data} cannot be read safely by"), said
