"""`runs DIR` takes the filters of `list_runs`: --attr (repeated), --status, --type, and
pages with --limit and the --cursor it prints — on a data directory and on a
`postgresql://` URL alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aion_actors.cli import main
from aion_actors.core import events as ev
from aion_actors.store import EventStore, LmdbStore

SECOND = 10**9


@pytest.fixture(params=["lmdb", "postgres"])
def data(tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """r0..r5, newest last; even ones of customer c-7, r0..r2 priority 1; r5 completed;
    in a data directory, or in a Postgres database (its URL)."""
    target: Path | str
    opened: EventStore
    if request.param == "postgres":
        from aion_actors.store.postgres import PostgresStore

        target = request.getfixturevalue("pg_url")
        opened = PostgresStore(target)
    else:
        target = tmp_path / "data"
        opened = LmdbStore(target, durability="nosync")
    with opened as store:
        for i in range(6):
            at = (1_700_000_000 + i) * SECOND
            events: list[ev.Event] = [
                ev.WorkflowStarted(
                    workflow_type="order" if i < 4 else "ship",
                    input=None,
                    run_id=f"run{i}",
                    version="v1",
                    seq=1,
                    recorded_at=at,
                ),
                ev.AttributesSet(
                    attributes={"customer": f"c-{7 + i % 2}", "priority": int(i < 3)},
                    seq=2,
                    recorded_at=at,
                ),
            ]
            if i == 5:
                events.append(ev.WorkflowCompleted(result=1, seq=3, recorded_at=at))
            store.append(f"r{i}", f"run{i}", events, 0)
    return target


def listed(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[list[str], str]:
    assert main(["runs", *argv, "--json"]) == 0
    out, err = capsys.readouterr()
    return [run["workflow_id"] for run in json.loads(out)], err


def test_runs_filters_by_attributes_status_and_type(
    data: Path | str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert listed(capsys, str(data), "--attr", "customer=c-7")[0] == ["r4", "r2", "r0"]
    both = listed(capsys, str(data), "--attr", "customer=c-7", "--attr", "priority=1")
    assert both[0] == ["r2", "r0"]
    assert listed(capsys, str(data), "--attr", 'priority="1"')[0] == []  # text, not a number
    assert listed(capsys, str(data), "--status", "completed")[0] == ["r5"]
    assert listed(capsys, str(data), "--type", "ship", "--attr", "customer=c-7")[0] == ["r4"]


def test_runs_prints_the_next_cursor_and_cursor_shows_the_next_page(
    data: Path | str, capsys: pytest.CaptureFixture[str]
) -> None:
    first, err = listed(capsys, str(data), "--limit", "4")
    assert first == ["r5", "r4", "r3", "r2"]
    cursor = err.split("--cursor ")[1].split()[0]
    assert listed(capsys, str(data), "--limit", "4", "--cursor", cursor) == (["r1", "r0"], "")
    assert main(["runs", str(data), "--limit", "2"]) == 0
    table = capsys.readouterr().out
    assert "… 4 more, older runs: --limit 0 lists all, --cursor " in table


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--attr", "customer"], "error: --attr 'customer': expected NAME=VALUE"),
        (["--attr", "bad-name=1"], "error: attributes['bad-name']: attribute name"),
        (["--cursor", "nonsense"], "error: cursor 'nonsense' is not one list_runs returned"),
    ],
)
def test_runs_bad_attr_or_cursor_is_a_usage_error_naming_it(
    data: Path | str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["runs", str(data), *argv]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(message), line


def test_describe_and_history_show_the_attributes(
    data: Path | str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["describe", str(data), "r1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["attributes"] == {"customer": "c-8", "priority": 1} and doc["memo"] is None
    assert main(["history", str(data), "r1"]) == 0
    assert 'search attributes {"customer":"c-8","priority":1}' in capsys.readouterr().out
