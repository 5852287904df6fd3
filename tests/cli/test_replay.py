"""`aion-actors replay`: a CI gate replaying stored or exported histories, read-only."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from aion_actors import Engine, WorkflowStatus
from aion_actors.cli import main
from aion_actors.core import events as ev
from aion_actors.store import LmdbStore
from aion_actors.testing import read_history_file
from tests.cli import replay_other, replay_v1
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
WAIT = 30.0
V1, V2, V3 = "tests.cli.replay_v1", "tests.cli.replay_v2", "tests.cli.replay_v3"
#: a payload JSON cannot spell as it is: it must come back from an exported file unchanged
EXOTIC: dict[Any, Any] = {
    "at": dt.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
    "naive": dt.datetime(2025, 1, 2, 3, 4, 5),
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "blob": b"\x00\xff binary",
    "$bytes": "a key that looks like a tag",
    7: "an int key",
    "far": math.inf,
    "nested": [{"base64": "not bytes"}, [1, 2]],
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs recorded by `replay_v1`: two checkouts completed, one held open, one audit."""
    data = tmp_path_factory.mktemp("replay") / "data"
    with Engine.open(data, workers=1) as engine:
        engine.register(replay_v1.checkout, replay_v1.held, replay_v1.reserve, replay_v1.charge)
        engine.register(replay_other.audit)
        for n in (1, 2):
            engine.start(replay_v1.checkout, "book", n, EXOTIC, workflow_id=f"order-{n}").result(
                WAIT
            )
        assert engine.start(replay_other.audit, 3, workflow_id="audit-1").result(WAIT) == 3
        engine.start(replay_v1.held, workflow_id="held-1")
        wait_until(
            lambda: any(e.kind == "TimerStarted" for e in engine.history("held-1")),
            WAIT,
            "the held run to wait for its signal",
        )
        assert engine.describe("held-1").status == WorkflowStatus.RUNNING
    return data


def replay_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["replay", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def verdicts(doc: dict[str, Any]) -> dict[str, str]:
    return {r["workflow_id"]: r["verdict"] for r in doc["runs"]}


@pytest.mark.timeout(60)
def test_replay_passes_the_code_that_recorded_the_runs(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(recorded), "--app", V1]) == 0
    out = capsys.readouterr().out
    for run in ("order-1", "order-2", "held-1"):
        assert any(line.startswith("ok") and run in line for line in out.splitlines()), out
    assert "4 run(s): 3 ok, 0 diverged, 0 failed, 1 skipped" in out


@pytest.mark.timeout(60)
def test_replay_reports_a_reordered_activity_with_its_seq_and_both_names_and_exits_1(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with LmdbStore(recorded, readonly=True) as store:
        run = store.latest_run("order-1")
        assert run is not None
        events = store.read("order-1", run.run_id)
    first = next(e for e in events if isinstance(e, ev.ActivityScheduled))
    assert main(["replay", str(recorded), "--app", V2]) == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "order-1" in line)
    assert line.startswith("diverged")
    assert f"at seq {first.seq} history recorded activity 'reserve'" in line
    assert "the code asked for activity 'charge'" in line
    assert "ctx.patched('<patch-id>')" in out
    code, doc = replay_json(capsys, str(recorded), "--app", V2)
    assert code == 1 and doc["passed"] is False
    order = next(r for r in doc["runs"] if r["workflow_id"] == "order-2")
    assert (order["verdict"], order["seq"]) == ("diverged", first.seq)
    assert (order["recorded"], order["requested"]) == ("activity 'reserve'", "activity 'charge'")
    assert verdicts(doc)["held-1"] == "ok"  # its code did not change


@pytest.mark.timeout(60)
def test_replay_passes_the_same_change_made_behind_a_patch(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = replay_json(capsys, str(recorded), "--app", V3)
    assert code == 0 and doc["passed"] is True
    assert verdicts(doc)["order-1"] == verdicts(doc)["order-2"] == "ok"


@pytest.mark.timeout(60)
def test_replay_cli_process_exits_1_on_divergence_and_0_on_the_recording_code(
    recorded: Path,
) -> None:
    argv = [sys.executable, "-m", "aion_actors", "replay", str(recorded), "--app"]
    for app, code in ((V1, 0), (V2, 1), (V3, 0)):
        done = subprocess.run([*argv, app], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == code, done.stdout + done.stderr


@pytest.mark.timeout(60)
def test_replay_skips_a_run_whose_type_is_not_in_the_app(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = replay_json(capsys, str(recorded), "--app", V1)
    assert code == 0 and verdicts(doc)["audit-1"] == "skipped"
    audit = next(r for r in doc["runs"] if r["workflow_id"] == "audit-1")
    assert audit["detail"] == "type audit not in the app"
    assert main(["replay", str(recorded), "--app", V1, "--type", "audit"]) == 0
    assert "skipped  audit-1" in capsys.readouterr().out


@pytest.mark.timeout(60)
def test_replay_selects_runs_by_type_status_and_limit(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, doc = replay_json(capsys, str(recorded), "--app", V2, "--status", "open")
    assert verdicts(doc) == {"held-1": "ok"}
    _, doc = replay_json(capsys, str(recorded), "--app", V1, "--status", "closed")
    assert set(verdicts(doc)) == {"order-1", "order-2", "audit-1"}
    _, doc = replay_json(capsys, str(recorded), "--app", V1, "--type", "checkout", "--limit", "1")
    assert list(verdicts(doc)) == ["order-2"]  # the newest


@pytest.mark.timeout(60)
def test_exported_history_round_trips_and_replays_from_files(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = []
    for workflow_id in ("order-1", "held-1"):
        assert main(["history", str(recorded), workflow_id, "--json"]) == 0
        path = tmp_path / f"{workflow_id}.json"
        path.write_text(capsys.readouterr().out)
        files.append(str(path))
    with LmdbStore(recorded, readonly=True) as store:
        run = store.latest_run("order-1")
        assert run is not None
        stored = store.read("order-1", run.run_id)
    exported = read_history_file(files[0])
    assert (exported.workflow_id, exported.run_id) == ("order-1", run.run_id)
    assert exported.events == tuple(stored)  # every field, every value, exactly
    assert exported.events[0].input[2] == EXOTIC  # type: ignore[attr-defined]
    assert main(["replay", "--from-files", *files, "--app", V1]) == 0
    assert "2 run(s): 2 ok" in capsys.readouterr().out
    code, doc = replay_json(capsys, "--from-files", *files, "--app", V2)
    assert code == 1 and verdicts(doc) == {"order-1": "diverged", "held-1": "ok"}


def _snapshot(data: Path) -> dict[str, tuple[int, str]]:
    """Every file's mtime and digest; lock.mdb is LMDB's reader table, which readers use."""
    return {
        p.name: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(data.iterdir())
        if p.name != "lock.mdb"
    }


@pytest.mark.timeout(60)
def test_replay_leaves_the_data_directory_untouched(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(recorded)
    assert "data.mdb" in before
    assert main(["replay", str(recorded), "--app", V1]) == 0
    assert main(["replay", str(recorded), "--app", V2]) == 1
    capsys.readouterr()
    assert _snapshot(recorded) == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["postgresql://db/aion", "--app", V1], "only a data directory"),
        (["--app", V1], "name a data directory"),
        (["{data}", "--from-files", "x.json", "--app", V1], "not both"),
        (["--from-files", "x.json", "--status", "open", "--app", V1], "with --from-files"),
        (["{data}", "--app", V1, "--limit", "-1"], "--limit -1"),
        (["{data}", "--app", "tests.cli.replay_other:nothing"], "no attribute"),
        (["{data}/missing", "--app", V1], "does not exist"),
        (["{data}/data.mdb", "--app", V1], "is a file, not a data directory"),
        (["--from-files", "{data}/nothing.json", "--app", V1], "no such file"),
        (["--from-files", "{data}", "--app", V1], "is a directory"),
    ],
)
@pytest.mark.timeout(60)
def test_replay_bad_usage_is_one_line_and_exit_2(
    recorded: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.replace("{data}", str(recorded)) for a in argv]
    assert main(["replay", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "is created" not in err  # replay creates nothing


@pytest.mark.timeout(60)
def test_a_bad_history_file_fails_alone_and_the_other_files_are_replayed(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", str(recorded), "order-1", "--json"]) == 0
    good = tmp_path / "order-1.json"
    good.write_text(capsys.readouterr().out)
    doc = json.loads(good.read_text())
    doc["events"][1]["kind"] = "Nope"
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps(doc))
    doc = json.loads(good.read_text())
    doc["events"][1]["seq"] = 99
    renumbered = tmp_path / "renumbered.json"
    renumbered.write_text(json.dumps(doc))
    files = [str(good), str(unknown), str(recorded / "data.mdb"), str(renumbered), str(good)]
    assert main(["replay", "--from-files", *files, "--app", V1]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("ok") and lines[4].startswith("ok"), out
    assert lines[1].startswith(f"failed   history file {unknown}: events[1]: unknown event kind")
    assert "cannot read it as JSON" in lines[2]
    assert "events[1] has seq 99, expected 2" in lines[3]
    assert all("export it again with" in line for line in lines[1:4]), out
    assert "data directory" not in out
    assert "5 run(s): 2 ok, 0 diverged, 3 failed, 0 skipped" in out
    code, doc = replay_json(capsys, "--from-files", *files, "--app", V1)
    assert code == 1 and [r["verdict"] for r in doc["runs"]][1:4] == ["failed"] * 3
    assert doc["runs"][1]["source"] == str(unknown)


@pytest.mark.timeout(60)
def test_open_runs_of_a_type_not_in_the_app_fail_the_gate_unless_allowed(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = "tests.cli.replay_other"  # defines audit only: checkout and held are unknown
    assert main(["replay", str(recorded), "--app", other]) == 1
    out = capsys.readouterr().out
    held = next(line for line in out.splitlines() if "held-1" in line)
    assert held.startswith("failed") and "this run is open" in held
    assert any(line.startswith("skipped") and "order-1" in line for line in out.splitlines())
    assert "4 run(s): 1 ok, 0 diverged, 1 failed, 2 skipped" in out
    assert "open runs of workflow types not in the app: held (1 run)" in out
    assert "--allow-unknown-types" in out
    code, doc = replay_json(capsys, str(recorded), "--app", other)
    assert (code, doc["unknown_types"]) == (1, {"held": 1})
    assert main(["replay", str(recorded), "--app", other, "--allow-unknown-types"]) == 0
    out = capsys.readouterr().out
    assert "4 run(s): 1 ok, 0 diverged, 0 failed, 3 skipped" in out
    assert "not in the app: held" not in out


def test_replay_of_a_json_file_as_a_directory_points_to_from_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exported = tmp_path / "order-1.json"
    exported.write_text("{}")
    assert main(["replay", str(exported), "--app", V1]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a data directory" in err and f"--from-files {exported}" in err
