"""`[workers]`: the worker pool's restart policy, validated like the `[restart.*]` tables.

And the process executor chosen by a file for an activity no worker could
import is refused, naming the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aion_actors import ConfigError
from aion_actors.config import Config, configure_activity
from aion_actors.runtime.definitions import ActivityDefinition
from aion_actors.workers import DEFAULT_WORKER_RESTART
from supervisor import Backoff, RestartPolicy

WORKERS = """
[workers]
max_restarts = 4
within_seconds = 30
backoff_initial = 0.25
backoff_multiplier = 3
backoff_max = 8
backoff_jitter = 0.5
"""


def _load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "aion.toml"
    path.write_text(text)
    return Config.load(path)


def test_the_workers_table_sets_the_pool_restart_policy(tmp_path: Path) -> None:
    config = _load(tmp_path, WORKERS)

    assert config.worker_restart == RestartPolicy(
        max_restarts=4,
        within_seconds=30,
        backoff=Backoff(initial=0.25, multiplier=3, max=8, jitter=0.5),
    )
    # A partial table keeps the built-in values of the keys it leaves out.
    partial = _load(tmp_path, "[workers]\nmax_restarts = 1\n").worker_restart
    assert partial == RestartPolicy(
        max_restarts=1,
        within_seconds=DEFAULT_WORKER_RESTART.within_seconds,
        backoff=DEFAULT_WORKER_RESTART.backoff,
    )
    assert Config().worker_restart == DEFAULT_WORKER_RESTART
    assert _load(tmp_path, "").worker_restart == DEFAULT_WORKER_RESTART


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("[workers]\nmax_restarts = -1", ["[workers] max_restarts = -1: expected an integer >= 0"]),
        ("[workers]\nmax_restarts = 1.5", ["[workers] max_restarts = 1.5", "an integer >= 0"]),
        (
            "[workers]\nwithin_seconds = 0",
            ["[workers] within_seconds = 0: expected a finite number > 0"],
        ),
        (
            "[workers]\nbackoff_initial = -1",
            ["[workers] backoff_initial = -1", "a finite number >= 0"],
        ),
        (
            "[workers]\nbackoff_multiplier = 0.5",
            ["backoff_multiplier = 0.5", "a finite number >= 1"],
        ),
        ('[workers]\nbackoff_max = "5"', ['[workers] backoff_max = "5"', "a finite number >= 0"]),
        ("[workers]\nbackoff_jitter = -0.1", ["backoff_jitter = -0.1", "a finite number >= 0"]),
        (
            '[workers]\non_exhausted = "park"',
            [
                "[workers] unknown key 'on_exhausted'; allowed keys: max_restarts, "
                "within_seconds, backoff_initial, backoff_multiplier, backoff_max, backoff_jitter"
            ],
        ),
        ("workers = 3", ["workers must be a table ([workers]), not an integer"]),
        ("[wrokers]\nmax_restarts = 1", ["unknown table 'wrokers'", "[workers]"]),
    ],
)
def test_workers_table_mistakes_name_the_file_table_key_and_what_is_allowed(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, text)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'aion.toml'}: ")
    for fragment in fragments:
        assert fragment in message


def _thread_closure() -> ActivityDefinition[[], None]:
    """A closure on the thread executor, its executor left to the file (no decorator)."""

    def local() -> None:
        return None

    return ActivityDefinition(fn=local, name="local", executor="thread")


@pytest.mark.parametrize(
    ("choose", "prefix"),
    [
        (
            lambda d, c: configure_activity(d, c),
            "aion.toml: [activity.local] executor = \"process\": activity 'local'",
        ),
        (lambda d, c: configure_activity(d, c, executor="process"), "activity 'local'"),
    ],
)
def test_choosing_the_process_executor_for_a_closure_is_refused_naming_who_chose_it(
    choose: Callable[[Any, Config], Any], prefix: str
) -> None:
    config = Config.parse('[activity.local]\nexecutor = "process"\n', source="aion.toml")

    with pytest.raises(ConfigError) as error:
        choose(_thread_closure(), config)

    message = str(error.value)
    assert message.startswith(prefix)
    assert "is defined inside a function" in message
    assert (
        'define it at module level in an importable module, or run it with executor="thread"'
        in (message)
    )
    # On the thread executor, as declared, it is fine.
    thread = Config.parse('[activity.local]\nexecutor = "thread"\n', source="aion.toml")
    assert configure_activity(_thread_closure(), thread).executor == "thread"
