"""`aion-actors schedules DIR`: the schedules of a data directory, read without owning it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from aion_actors.cli import main
from aion_actors.store import LmdbStore
from aion_actors.testing import TestEngine
from tests.schedules import flows

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    with TestEngine(start=START, store=LmdbStore(tmp_path)) as engine:
        engine.register(*flows.ALL)
        engine.schedule("nightly", flows.tick, ["n"], cron="0 2 * * *", timezone="Europe/Berlin")
        engine.schedule("often", flows.tick, ["o"], every=dt.timedelta(minutes=5))
        engine.clock.advance(dt.timedelta(minutes=11))
        engine.get_schedule("nightly").pause()
        engine.schedule("gone", flows.tick, ["g"], every=60).delete()
    return tmp_path


def test_schedules_lists_each_live_schedule_with_its_rule_next_fire_and_last_run(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schedules", str(data), "--json"]) == 0
    listed = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
    assert sorted(listed) == ["nightly", "often"]  # a deleted schedule is not listed
    nightly, often = listed["nightly"], listed["often"]
    assert nightly["spec"] == "cron '0 2 * * *' Europe/Berlin" and nightly["paused"] is True
    assert nightly["next_fire"] is None and nightly["last_run"] is None
    assert often["spec"] == "every 300s" and often["paused"] is False
    assert often["last_run"] == "often-2024-01-01T00:10:00Z" and often["fired"] == 2
    assert often["next_fire"].startswith("2024-01-01T00:15:00")

    assert main(["schedules", str(data)]) == 0
    table = capsys.readouterr().out
    assert "2 schedule(s)" in table and "nightly" in table and "2024-01-01 00:15:00" in table
