"""A run whose history has no start (appends straight to a store, as the store benchmark
does) has nothing to trace: its history is read once, not on every commit."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

import pytest

from aion_actors.core import Event, stamp
from aion_actors.core import events as ev
from aion_actors.store.protocol import AppendRequest
from aion_actors.telemetry.facade import Append
from aion_actors.telemetry.otel import OtelTelemetry
from tests.telemetry.capture import Capture


@pytest.mark.timeout(30)
def test_a_run_without_a_start_has_its_history_read_once_not_per_commit(otel: Capture) -> None:
    history: list[Event] = []
    reads: list[tuple[str, str]] = []

    def read(workflow_id: str, run_id: str) -> Sequence[Event]:
        reads.append((workflow_id, run_id))
        return list(history)

    telemetry = OtelTelemetry(read)
    for seq in range(1, 21):
        done = stamp(ev.ActivityCompleted(activity_id=f"a{seq}", result=seq), seq, seq)
        history.append(done)
        append: Append = AppendRequest("w", "r", (done,), seq - 1)
        telemetry.committed([append], [[done]], 0.001)
    telemetry.close()
    assert reads == [("w", "r")]


@pytest.mark.timeout(60)
def test_without_a_provider_set_commits_do_no_telemetry_work_until_one_is_set() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.telemetry.unconfigured_child"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


@pytest.mark.timeout(60)
def test_a_provider_named_by_the_environment_is_seen_within_the_recheck_interval() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_PYTHON_")}
    done = subprocess.run(
        [sys.executable, "-m", "tests.telemetry.env_provider_child"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
