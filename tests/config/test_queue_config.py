"""`[queue.<name>]` and the limits of `[activity.<name>]` in an `aion.toml`: read, refused
with the file, table and key named, and applied under what code sets (file < code)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aion_actors import ConfigError, Engine, Queue, WorkflowStatus, activity
from aion_actors.config import Config, QueueConfig, configure_activity
from aion_actors.queues.queue import configured
from aion_actors.runtime.rates import Rate
from tests.queues import flows
from tests.workers.helpers import wait_until

QUEUES = """
[queue.payments]
concurrency = 50
per_key = 2
rate = [20, 1.0]
priority = true

[queue.reports]
concurrency = 1

[activity.charge]
concurrency = 5
rate = [10, 2]
"""


def test_queue_and_activity_limits_are_read() -> None:
    config = Config.parse(QUEUES)
    assert config.queues["payments"] == QueueConfig(50, 2, Rate(20, 1.0), True)
    assert config.queues["reports"] == QueueConfig(concurrency=1)
    charge = config.activities["charge"]
    assert (charge.concurrency, charge.rate) == (5, Rate(10, 2.0))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[queue.q]\nrate = 20\n", r"\[queue\.q\] rate = 20: expected an array \[limit, seconds\]"),
        ("[queue.q]\nrate = [0, 1.0]\n", r"\[queue\.q\] rate = \[0, 1\.0\]: expected an array"),
        ("[queue.q]\nrate = [5, 0]\n", r"\[queue\.q\] rate = \[5, 0\]: expected an array"),
        ("[queue.q]\nconcurrency = 0\n", r"\[queue\.q\] concurrency = 0: expected an integer >= 1"),
        ("[queue.q]\nper_key = 1.5\n", r"\[queue\.q\] per_key = 1\.5: expected an integer >= 1"),
        ("[queue.q]\npriority = 1\n", r"\[queue\.q\] priority = 1: expected true or false"),
        (
            "[queue.q]\nconcurency = 2\n",
            r"\[queue\.q\] unknown key 'concurency'; allowed keys: concurrency, per_key, rate",
        ),
        ("[queue]\nconcurrency = 2\n", r"queue\.concurrency must be a table"),
        ('[queue.""]\nconcurrency = 2\n', r"\[queue\.\] is no valid queue name"),
        ("[activity.a]\nconcurrency = -1\n", r"\[activity\.a\] concurrency = -1: expected"),
        ('[activity.a]\nrate = "20/s"\n', r'\[activity\.a\] rate = "20/s": expected an array'),
    ],
)
def test_a_bad_limit_is_refused_naming_the_file_table_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"<string>: " + message):
        Config.parse(text)


def test_a_queue_in_code_wins_over_the_file_field_by_field() -> None:
    table = QueueConfig(concurrency=1, per_key=3, rate=Rate(5, 1.0), priority=True)
    merged = configured(Queue("payments", concurrency=4, rate=(2, 1.0)), table)
    # the code set concurrency and rate: they stay; it left per_key and priority: the file's
    assert merged == Queue("payments", concurrency=4, per_key=3, rate=(2, 1.0), priority=True)
    assert configured(Queue("payments"), None) == Queue("payments")


@activity(executor="thread")
def charge() -> None:
    """No limits of its own: the file's apply."""


@activity(executor="thread", concurrency=2)
def charge_decorated() -> None:
    """Its decorator chose concurrency: the file may still set the rate."""


def test_activity_limits_follow_file_under_decorator() -> None:
    text = "[activity.{}]\nconcurrency = 5\nrate = [10, 2]\n"
    plain = configure_activity(charge, Config.parse(text.format("charge")))
    assert (plain.concurrency, plain.rate) == (5, Rate(10, 2.0))
    decorated = configure_activity(charge_decorated, Config.parse(text.format("charge_decorated")))
    assert (decorated.concurrency, decorated.rate) == (2, Rate(10, 2.0))


@pytest.mark.timeout(60)
def test_a_queue_of_the_file_is_usable_by_name_and_a_queue_in_code_raises_its_bound(
    tmp_path: Path,
) -> None:
    path = tmp_path / "aion.toml"
    path.write_text("[queue.reports]\nconcurrency = 1\n")
    with Engine.open(tmp_path / "data", workers=1, config=path) as engine:
        engine.register(*flows.ALL)
        for name in ("a", "b", "c"):
            engine.enqueue("reports", flows.held, workflow_id=name)
        statuses = [engine.describe(w).status for w in ("a", "b", "c")]
        assert statuses == [WorkflowStatus.RUNNING, WorkflowStatus.QUEUED, WorkflowStatus.QUEUED]
        engine.register(Queue("reports", concurrency=2))  # code wins: one more slot
        wait_until(lambda: engine.describe("b").status is WorkflowStatus.RUNNING, 10, "b")
        assert engine.describe("c").status is WorkflowStatus.QUEUED
        for name in ("a", "b", "c"):
            engine.signal(name, "go", name)
        assert [engine.result(w, timeout=10) for w in ("a", "b", "c")] == ["a", "b", "c"]


def test_check_config_shows_queues_and_activity_limits_as_the_file_writes_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "aion.toml"
    path.write_text(QUEUES)
    done = subprocess.run(
        [sys.executable, "-m", "aion_actors", "check-config", str(path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    shown = json.loads(done.stdout)
    assert shown["queue"]["payments"] == {
        "concurrency": 50,
        "per_key": 2,
        "rate": [20, 1.0],
        "priority": True,
    }
    assert (shown["activity"]["charge"]["concurrency"], shown["activity"]["charge"]["rate"]) == (
        5,
        [10, 2.0],
    )
