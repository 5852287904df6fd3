"""File < decorator < explicit argument, seen in how real runs behave.

The file parks crashed runs and allows activities one attempt; a decorator
or an explicit argument that says otherwise must win, and the runs show it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest

from aion_actors import (
    ConfigError,
    Engine,
    PayloadError,
    RetryPolicy,
    WorkflowFailed,
    WorkflowStatus,
    activity,
    workflow,
)
from aion_actors.config import Config, configure_activity
from tests.config import flows
from tests.workers.helpers import wait_until

CONFIG = """
[engine]
data_dir = "from-file"
max_payload_bytes = 1000
durability = "nosync"

[restart.default]
max_restarts = 0
on_exhausted = "park"

[activity.flaky]
retry_max_attempts = 1

[activity.flaky_decorated]
retry_max_attempts = 1
"""
WAIT = 30.0


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "aion.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def engine(tmp_path: Path, config_file: Path) -> Iterator[Engine]:
    threads_before = set(threading.enumerate())
    engine = Engine.open(tmp_path / "data", workers=1, config=config_file)
    yield engine
    engine.close()
    assert pykka.ActorRegistry.get_all() == []
    wait_until(lambda: set(threading.enumerate()) <= threads_before, WAIT, "engine threads to end")


def _status(engine: Engine, workflow_id: str) -> WorkflowStatus:
    return engine.describe(workflow_id).status


def test_the_file_sets_the_restart_policy_of_undecorated_workflows(engine: Engine) -> None:
    engine.register(flows.crashes)
    engine.start(flows.crashes, workflow_id="by-file")
    wait_until(lambda: _status(engine, "by-file") == WorkflowStatus.PARKED, WAIT, "park")


def test_a_decorator_policy_beats_the_file(engine: Engine) -> None:
    engine.register(flows.crashes_decorated)
    run = engine.start(flows.crashes_decorated, workflow_id="by-decorator")
    with pytest.raises(WorkflowFailed):
        run.result(timeout=WAIT)


def test_an_explicit_policy_beats_the_file(engine: Engine) -> None:
    engine.register(flows.crashes, restart=flows.EXIT_AT_ONCE)
    run = engine.start(flows.crashes, workflow_id="by-argument")
    with pytest.raises(WorkflowFailed):
        run.result(timeout=WAIT)


def test_the_file_sets_the_retry_of_undecorated_activities(engine: Engine) -> None:
    engine.register(flows.flaky, flows.calls_flaky)
    with pytest.raises(WorkflowFailed, match="first attempt fails"):
        engine.start(flows.calls_flaky).result(timeout=WAIT)


def test_a_decorator_retry_beats_the_file(engine: Engine) -> None:
    engine.register(flows.flaky_decorated, flows.calls_flaky_decorated)
    assert engine.start(flows.calls_flaky_decorated).result(timeout=WAIT) == 2


def test_an_explicit_retry_beats_the_decorator(engine: Engine) -> None:
    engine.register(flows.calls_flaky_decorated)
    engine.register(flows.flaky_decorated, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(WorkflowFailed, match="first attempt fails"):
        engine.start(flows.calls_flaky_decorated).result(timeout=WAIT)


def test_without_a_file_the_built_in_retry_applies(tmp_path: Path) -> None:
    with Engine.open(tmp_path / "plain", workers=1) as engine:
        engine.register(flows.flaky, flows.calls_flaky)
        assert engine.start(flows.calls_flaky).result(timeout=WAIT) == 2


def test_engine_options_come_from_the_file_unless_passed(config_file: Path) -> None:
    with Engine.from_config(config_file) as engine:
        assert engine.store.path == config_file.parent / "from-file"
        assert engine.store.durability == "nosync"
        assert engine.max_payload_bytes == 1000
        engine.register(flows.echo)
        with pytest.raises(PayloadError):
            engine.start(flows.echo, "x" * 2000)
    override = config_file.parent / "override"
    with Engine.from_config(
        config_file, data_dir=override, max_payload_bytes=10_000, durability="sync"
    ) as engine:
        assert engine.store.path == override
        assert engine.store.durability == "sync"
        assert engine.start(flows.echo, "x" * 2000).result(timeout=WAIT) == "x" * 2000


def test_open_accepts_a_parsed_config(tmp_path: Path) -> None:
    config = Config.parse("[engine]\nmax_payload_bytes = 1234\n")
    with Engine.open(tmp_path / "d", config=config) as engine:
        assert engine.max_payload_bytes == 1234
        assert engine.config is config


def test_from_config_needs_a_data_dir(tmp_path: Path) -> None:
    path = tmp_path / "aion.toml"
    path.write_text("[engine]\nworkers = 1\n")
    with pytest.raises(ConfigError, match=r"\[engine\] data_dir is not set"):
        Engine.from_config(path)


def test_a_bad_file_fails_open_before_anything_is_created(tmp_path: Path) -> None:
    path = tmp_path / "aion.toml"
    path.write_text("[restart.default]\nmax_restarts = -1\n")
    with pytest.raises(ConfigError, match="max_restarts = -1"):
        Engine.open(tmp_path / "never", config=path)
    assert not (tmp_path / "never").exists()


@activity
def undecorated() -> None:
    """No settings in its decorator: every one may come from the file."""


def test_timeout_and_executor_follow_the_same_order() -> None:
    text = '[activity.{}]\ntimeout = 5\nexecutor = "thread"\nretry_max_attempts = 9\n'
    plain = configure_activity(undecorated, Config.parse(text.format("undecorated")))
    assert (plain.timeout, plain.executor, plain.retry.max_attempts) == (5, "thread", 9)
    # flaky's decorator chose executor="thread" only: the file may still set its timeout
    config = Config.parse(text.format("flaky").replace('"thread"', '"process"'))
    decorated = configure_activity(flows.flaky, config)
    assert (decorated.timeout, decorated.executor) == (5, "thread")
    explicit = configure_activity(flows.flaky, config, timeout=1.0, executor="process")
    assert (explicit.timeout, explicit.executor) == (1.0, "process")


def _thread_work() -> int:
    return 1


async def _flow(ctx: object) -> int:
    return 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retry": 3}, r"retry must be a RetryPolicy\(\.\.\.\), or None .*got int 3"),
        ({"timeout": "5"}, r"timeout must be a number of seconds > 0 .*got str '5'"),
        ({"timeout": True}, r"timeout must be a number of seconds > 0 .*got bool True"),
        ({"heartbeat_timeout": "1"}, r"heartbeat_timeout must be a number of seconds > 0"),
        ({"cancel_grace": "1"}, r"cancel_grace must be a finite number of seconds >= 0"),
        ({"cancel": "never"}, r"cancel must be one of \('try', 'wait', 'abandon'\)"),
        ({"executor": "fiber"}, r"executor must be one of \('process', 'thread'\)"),
        ({"concurrency": 0}, r"concurrency=0 must be an int >= 1"),
    ],
)
def test_a_bad_activity_option_is_refused_at_decoration_naming_activity_and_option(
    options: dict[str, object], message: str
) -> None:
    options.setdefault("executor", "thread")
    with pytest.raises(ConfigError, match=r"^activity '_thread_work': " + message):
        activity(**options)(_thread_work)  # type: ignore[call-overload]


@pytest.mark.parametrize("name", ["", 5])
def test_an_activity_or_workflow_name_must_be_a_non_empty_str(name: object) -> None:
    message = rf"name={name!r} must be a non-empty str, or None for the function's own name"
    with pytest.raises(ConfigError, match=r"^activity _thread_work: " + message):
        activity(name=name, executor="thread")(_thread_work)  # type: ignore[call-overload]
    with pytest.raises(ConfigError, match=r"^workflow _flow: " + message):
        workflow(name=name)(_flow)  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"restart": 3}, r"restart must be a RestartPolicy\(\.\.\.\), or None .*got int 3"),
        ({"fail_on": ("ValueError",)}, r"fail_on must be a tuple of exception types"),
        ({"retention": "soon"}, r"retention = 'soon': expected seconds"),
    ],
)
def test_a_bad_workflow_option_is_refused_at_decoration_naming_workflow_and_option(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=r"^workflow '_flow': " + message):
        workflow(**options)(_flow)  # type: ignore[call-overload]


def test_register_refuses_bad_settings_naming_the_definition_and_option(
    tmp_path: Path,
) -> None:
    work = activity(executor="thread")(_thread_work)
    flow = workflow(_flow)  # type: ignore[arg-type]
    bad: list[dict[str, object]] = [{"retry": 3}, {"timeout": "5"}, {"executor": "fiber"}]
    with Engine.open(tmp_path / "data", workers=1) as engine:
        for options in bad:
            with pytest.raises(ConfigError, match=r"^engine\.register\(\) of activity '_thread_"):
                engine.register(work, **options)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match=r"restart must be a RestartPolicy\(\.\.\.\)"):
            engine.register(flow, restart=3)  # type: ignore[arg-type]
