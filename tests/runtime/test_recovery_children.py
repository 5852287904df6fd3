"""A child whose workflow type is not registered waits for it, as an activity does.

A service registers its workflows after `Engine.open`, so recovery meets a
child whose workflow type is not registered yet. It must wait for that
registration, not fail the child: a run woken meanwhile (here by a query,
with its own type registered) would otherwise record `ChildFailed` for a
child that never had a chance to run (found by the randomized crash test).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aion_actors import Engine
from aion_actors.core import QueryError
from aion_actors.core import events as ev
from tests.runtime import flows
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
ON_POSTGRES = True  # (`data_dir` is then a fresh Postgres database's URL)


@pytest.mark.timeout(120)
def test_a_child_of_a_type_registered_after_reopening_is_started_not_failed(
    data_dir: Path | str,
) -> None:
    data = data_dir
    child = subprocess.run(
        [sys.executable, "-m", "tests.runtime.child_starter", str(data)],
        cwd=ROOT,
        env={**os.environ, "AION_FAULTS": "child.starting:1"},
        capture_output=True,
        timeout=60,
    )
    assert child.returncode == -9, child.stderr.decode()[-2000:]

    with Engine.open(data, workers=1) as engine:
        engine.register(flows.parent_of_doubles)
        # Wake the parent by replay while its child's type is still unknown.
        with pytest.raises(QueryError):
            engine.query("parent", "no-such-query")
        wait_until(lambda: engine.describe("parent").residency == "resident", 10, "replay")
        waiting = engine.describe("parent").waiting_for or ""
        assert "workflow type 'doubles' of its child to be registered" in waiting
        assert not any(isinstance(e, ev.ChildFailed) for e in engine.history("parent"))

        engine.register(flows.doubles)
        assert engine.result("parent", timeout=30) == 41


@pytest.mark.timeout(60)
def test_a_live_child_of_an_unregistered_type_waits_for_it_like_an_activity(
    data_dir: Path | str,
) -> None:
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(flows.parent_of_doubles)
        handle = engine.start(flows.parent_of_doubles, 4, workflow_id="live")
        wait_until(
            lambda: "of its child to be registered" in (engine.describe("live").waiting_for or ""),
            10,
            "the child to wait for its type",
        )
        engine.register(flows.doubles)
        assert handle.result(timeout=30) == 9
        assert not any(isinstance(e, ev.ChildFailed) for e in engine.history("live"))
