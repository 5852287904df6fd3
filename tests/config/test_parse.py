"""`aion.toml` parsing: every setting read, every mistake named with file, table and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import ConfigError, Engine, RetryPolicy
from aion_actors.config import Config
from aion_actors.runtime.definitions import DEFAULT_RUN_RESTART
from supervisor import Backoff, RestartPolicy

FULL = """
[engine]
data_dir = "data"
workers = 3
threads = 8
max_resident = 500
idle_evict_after = 2.5
durability = "nosync"
map_size = 1048576
max_payload_bytes = 4096

[restart.default]
max_restarts = 5
within_seconds = 30
on_exhausted = "park"
backoff_initial = 0.5

[restart.order]
strategy = "one_for_one"
restart = "temporary"
max_restarts = 0
backoff_multiplier = 3
backoff_max = 4.0
backoff_jitter = 0.2

[activity.charge]
retry_max_attempts = 7
retry_initial = 0.2
retry_multiplier = 1.5
retry_max_interval = 9
timeout = 12.5
executor = "thread"

[activity.ship]
timeout = 3
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aion.toml"
    path.write_text(text)
    return path


def test_every_setting_is_read(tmp_path: Path) -> None:
    config = Config.load(write(tmp_path, FULL))
    engine = config.engine
    assert engine.data_dir == tmp_path / "data"  # relative to the file, not the cwd
    assert (engine.workers, engine.threads, engine.max_resident) == (3, 8, 500)
    assert (engine.idle_evict_after, engine.durability) == (2.5, "nosync")
    assert (engine.map_size, engine.max_payload_bytes) == (1048576, 4096)

    default = config.default_restart
    assert (default.max_restarts, default.within_seconds, default.on_exhausted) == (5, 30, "park")
    assert default.backoff == Backoff(initial=0.5, multiplier=2.0, max=10.0, jitter=0.1)
    assert default.restart == DEFAULT_RUN_RESTART.restart

    order = config.restart_policy("order")  # its own table over [restart.default]
    assert order == RestartPolicy(
        strategy="one_for_one",
        restart="temporary",
        max_restarts=0,
        within_seconds=30,
        on_exhausted="park",
        backoff=Backoff(initial=0.5, multiplier=3, max=4.0, jitter=0.2),
    )
    assert config.restart_policy("anything-else") == default

    charge = config.activities["charge"]
    assert charge.retry == RetryPolicy(max_attempts=7, initial=0.2, multiplier=1.5, max_interval=9)
    assert (charge.timeout, charge.executor) == (12.5, "thread")
    ship = config.activities["ship"]
    assert (ship.retry, ship.timeout, ship.executor) == (None, 3, None)


def test_an_empty_file_means_the_built_in_defaults(tmp_path: Path) -> None:
    assert Config.load(write(tmp_path, "")) == Config(source=str(tmp_path / "aion.toml"))
    assert Config().restart_policy("x") == DEFAULT_RUN_RESTART


def test_idle_eviction_can_be_switched_off(tmp_path: Path) -> None:
    config = Config.load(write(tmp_path, "[engine]\nidle_evict_after = false\n"))
    assert config.engine.idle_evict_after is None


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        # unknown tables and keys
        (
            "[engnie]\nworkers = 2",
            ["unknown table 'engnie'", "[engine]", "[restart.<workflow_type>]"],
        ),
        ("[engine]\nwrokers = 2", ["[engine]", "unknown key 'wrokers'", "workers, threads"]),
        (
            "[restart.default]\nmax_restart = 2",
            ["[restart.default]", "'max_restart'", "max_restarts"],
        ),
        (
            "[activity.charge]\nretries = 2",
            ["[activity.charge]", "'retries'", "retry_max_attempts"],
        ),
        ("[restart]\nmax_restarts = 2", ["[restart] max_restarts = 2", "[restart.default]"]),
        ("engine = 3", ["engine must be a table", "an integer"]),
        # wrong types
        ('[engine]\nworkers = "4"', ['[engine] workers = "4"', "expected an integer >= 1"]),
        ("[engine]\nworkers = 2.5", ["[engine] workers = 2.5", "expected an integer >= 1"]),
        ("[engine]\nthreads = true", ["[engine] threads = true", "an integer >= 1"]),
        (
            '[restart.order]\nwithin_seconds = "60"',
            ["[restart.order] within_seconds", "a finite number > 0"],
        ),
        ("[engine]\ndata_dir = 5", ["[engine] data_dir = 5", "a path (string)"]),
        # impossible values
        ("[restart.order]\nmax_restarts = -1", ["[restart.order] max_restarts = -1", ">= 0"]),
        (
            "[restart.default]\nmax_restarts = 9223372036854775807",
            ["max_restarts = 9223372036854775807", "an integer >= 0 and at most 1_000_000_000"],
        ),
        ("[restart.order]\nwithin_seconds = inf", ["within_seconds = inf", "a finite number > 0"]),
        ("[restart.order]\nwithin_seconds = 0", ["within_seconds = 0", "a finite number > 0"]),
        (
            "[restart.default]\nbackoff_initial = -0.1",
            ["backoff_initial = -0.1", "a finite number >= 0"],
        ),
        ("[restart.default]\nbackoff_multiplier = 0.5", ["backoff_multiplier = 0.5", ">= 1"]),
        ("[restart.default]\nbackoff_jitter = -1", ["backoff_jitter = -1", ">= 0"]),
        ("[activity.a]\nretry_initial = -1", ["[activity.a] retry_initial = -1", ">= 0"]),
        ("[activity.a]\nretry_max_interval = -2", ["retry_max_interval = -2", ">= 0"]),
        ("[activity.a]\nretry_max_attempts = 0", ["retry_max_attempts = 0", "an integer >= 1"]),
        ("[activity.a]\ntimeout = 0", ["[activity.a] timeout = 0", "a finite number > 0"]),
        ("[engine]\nidle_evict_after = -5", ["idle_evict_after = -5", "or false for never"]),
        ("[engine]\nmax_resident = 0", ["max_resident = 0", "an integer >= 1"]),
        ("[engine]\nmap_size = inf", ["map_size = inf", "an integer >= 1"]),
        # unknown and inapplicable choices
        (
            '[restart.default]\nstrategy = "one_for_none"',
            ['strategy = "one_for_none"', '"one_for_one", "one_for_all", "rest_for_one"'],
        ),
        ('[restart.default]\nstrategy = "one_for_all"', ["supervised on its own", '"one_for_one"']),
        (
            '[restart.order]\non_exhausted = "escalate"',
            ['[restart.order] on_exhausted = "escalate"', '"fail"', '"park"'],
        ),
        ('[restart.order]\non_exhausted = "explode"', ['one of "fail", "park"']),
        ('[restart.order]\nrestart = "permanent"', ['"transient"', '"temporary"']),
        ('[activity.a]\nexecutor = "gpu"', ['executor = "gpu"', 'one of "process", "thread"']),
        ('[engine]\ndurability = "fast"', ['durability = "fast"', 'one of "sync", "nosync"']),
        # not TOML at all
        ("[engine\nworkers = 2", ["not valid TOML"]),
    ],
)
def test_mistakes_name_the_file_table_key_and_what_is_allowed(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        Config.load(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in message


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        Config.load(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("key", "toml", "value"),
    [
        ("idle_evict_after", "nan", float("nan")),
        ("idle_evict_after", "inf", float("inf")),
        ("idle_evict_after", "-1", -1),
        ("idle_evict_after", "0", 0),
        ("idle_evict_after", "0.5", 0.5),
        ("map_size", "1024", 1024),
        ("map_size", "1048575", (1 << 20) - 1),
        ("map_size", "1048576", 1 << 20),
    ],
)
def test_an_engine_option_is_valid_in_the_file_exactly_when_it_is_in_code(
    tmp_path: Path, key: str, toml: str, value: float
) -> None:
    """`Engine.open(**{key: value})` and `[engine] key = toml` (what check-config reads)
    accept or refuse alike; what they accept opens a store."""
    path = write(tmp_path, f"[engine]\n{key} = {toml}\n")
    try:
        Config.load(path)
    except ConfigError as refused:
        in_file: str | None = str(refused)
    else:
        in_file = None
    try:
        Engine.open(tmp_path / "data", workers=1, **{key: value}).close()
    except ConfigError as refused:
        in_code: str | None = str(refused)
    else:
        in_code = None
    assert (in_file is None) == (in_code is None), (in_file, in_code)
    if in_code is not None:
        assert f"{key}={value!r} is invalid" in in_code and "expected" in in_code
        assert not (tmp_path / "data").exists()
