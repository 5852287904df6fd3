"""Bad payloads and bad configuration: a clear error naming what is wrong, nothing recorded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest

from aion_actors import (
    ConfigError,
    Engine,
    PayloadError,
    WorkflowFailed,
    WorkflowNotFound,
)
from aion_actors.core import MAX_PAYLOAD_BYTES
from aion_actors.testing import replay
from supervisor import RestartPolicy
from tests.reliability import flows


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def _history_kinds(engine: Engine, workflow_id: str) -> list[str]:
    return [e.kind for e in engine.history(workflow_id)]


# -- not serialisable


def test_a_start_with_a_set_names_its_path_and_records_nothing(engine: Engine) -> None:
    with pytest.raises(PayloadError) as caught:
        engine.start(flows.waits, {"items": [1, 2, 3, {4}]}, workflow_id="bad")
    assert str(caught.value) == 'input[0]["items"][3]: set is not serialisable'
    assert engine.list_runs() == []
    with pytest.raises(WorkflowNotFound):
        engine.describe("bad")


def test_a_signal_with_an_object_is_refused_and_the_run_goes_on(engine: Engine) -> None:
    run = engine.start(flows.waits, workflow_id="w")
    before = _history_kinds(engine, "w")
    with pytest.raises(PayloadError, match=r'^payload\["when"\]: object is not serialisable'):
        engine.signal("w", "go", {"when": object()})
    assert _history_kinds(engine, "w") == before
    engine.signal("w", "go", "fine")
    assert run.result(timeout=30) == "fine"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e: e.signal("w", None, 1), "a signal name must be a non-empty str, got None"),
        (lambda e: e.signal("w", 5, 1), "a signal name must be a non-empty str, got 5"),
        (lambda e: e.signal("w", "", 1), "a signal name must be a non-empty str, got ''"),
        (lambda e: e.cancel("w", None), "a cancel reason must be a str, got NoneType None"),
        (lambda e: e.terminate("w", 42), "a terminate reason must be a str, got int 42"),
        (lambda e: e.pause("w", b"x"), "a pause reason must be a str, got bytes b'x'"),
    ],
)
def test_a_signal_name_or_reason_that_is_not_text_is_refused_and_the_run_reads_back(
    data_dir: Path, call: Callable[[Engine], None], message: str
) -> None:
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        engine.start(flows.waits, workflow_id="w")
        before = _history_kinds(engine, "w")
        with pytest.raises(TypeError) as caught:
            call(engine)
        assert str(caught.value) == message
        assert _history_kinds(engine, "w") == before
    with Engine.open(data_dir, workers=1) as engine:  # the history reads back whole
        engine.register(*flows.ALL)
        assert _history_kinds(engine, "w") == before
        engine.signal("w", "go", "fine")
        assert engine.result("w", timeout=30) == "fine"


@pytest.mark.parametrize(("child_id", "problem"), [(5, "must be a str"), ("", "must not be empty")])
def test_a_child_workflow_id_that_is_not_an_id_fails_the_parent_naming_it(
    engine: Engine, child_id: Any, problem: str
) -> None:
    run = engine.start(flows.names_child, child_id, workflow_id="parent")
    with pytest.raises(WorkflowFailed) as caught:
        run.result(timeout=60)
    assert caught.value.error["type"] == "PayloadError"
    assert f"child workflow_id: {problem}" in caught.value.error["message"]
    assert "ChildStarted" not in _history_kinds(engine, "parent")


def test_activity_arguments_that_are_not_serialisable_fail_the_run_naming_them(
    engine: Engine,
) -> None:
    run = engine.start(flows.sends_set, workflow_id="args")
    with pytest.raises(WorkflowFailed) as caught:
        run.result(timeout=60)
    assert caught.value.error["type"] == "PayloadError"
    assert 'echo() arguments[0]["tags"]: set is not serialisable' in caught.value.error["message"]
    assert _history_kinds(engine, "args") == ["WorkflowStarted", "WorkflowFailed"]


def test_an_activity_result_that_is_not_serialisable_fails_the_attempt_naming_it(
    engine: Engine,
) -> None:
    run = engine.start(flows.calls, "returns", "set", workflow_id="result")
    with pytest.raises(WorkflowFailed) as caught:
        run.result(timeout=60)
    message = caught.value.error["message"]
    assert 'result["ids"][2]: set is not serialisable' in message and "'returns'" in message
    assert "ActivityCompleted" not in _history_kinds(engine, "result")


def test_a_workflow_result_that_is_not_serialisable_fails_the_run(engine: Engine) -> None:
    run = engine.start(flows.returns_raw, "set", workflow_id="wf-result")
    with pytest.raises(WorkflowFailed, match="result: set is not serialisable"):
        run.result(timeout=30)


# -- too large


def test_the_default_payload_limit_is_4_mib(engine: Engine) -> None:
    assert MAX_PAYLOAD_BYTES == engine.max_payload_bytes == 4 * 1024 * 1024
    with pytest.raises(PayloadError, match=r"^input: encodes to \d+ bytes, over the 4194304-byte"):
        engine.start(flows.waits, b"x" * MAX_PAYLOAD_BYTES, workflow_id="huge")
    assert engine.list_runs() == []
    run = engine.start(flows.waits, workflow_id="big-signal")
    engine.signal("big-signal", "go", b"x" * (1024 * 1024))
    assert len(run.result(timeout=30)) == 1024 * 1024


def test_a_configured_limit_refuses_starts_and_signals_over_it(data_dir: Path) -> None:
    with Engine.open(data_dir, workers=1, max_payload_bytes=1024) as engine:
        engine.register(*flows.ALL)
        with pytest.raises(PayloadError, match="over the 1024-byte payload limit"):
            engine.start(flows.waits, "x" * 2000)
        run = engine.start(flows.waits, workflow_id="small")
        with pytest.raises(PayloadError, match=r"^payload: encodes to 2003 bytes"):
            engine.signal("small", "go", "x" * 2000)
        assert _history_kinds(engine, "small") == ["WorkflowStarted"]
        engine.signal("small", "go", "x" * 1000)
        assert run.result(timeout=30) == "x" * 1000


def test_a_configured_limit_applies_to_activity_results(data_dir: Path) -> None:
    with Engine.open(data_dir, workers=1, max_payload_bytes=1024) as engine:
        engine.register(*flows.ALL)
        run = engine.start(flows.calls, "sized", 4000, workflow_id="big-result")
        with pytest.raises(WorkflowFailed, match="over the 1024-byte payload limit") as caught:
            run.result(timeout=30)
        assert "returned by activity" in caught.value.error["message"]
        kinds = _history_kinds(engine, "big-result")
        assert "ActivityCompleted" not in kinds and kinds.count("ActivityScheduled") == 1
        assert engine.start(flows.calls, "sized", 500).result(timeout=30) == "x" * 500


@pytest.mark.parametrize(
    "where",
    ["activity arguments", "child arguments", "continue-as-new arguments", "workflow result"],
)
@pytest.mark.parametrize("on_exhausted", ["fail", "park"])
def test_a_payload_over_the_limit_fails_the_run_at_once_wherever_the_workflow_makes_it(
    data_dir: Path, where: str, on_exhausted: Literal["fail", "park"]
) -> None:
    """The same error would repeat on every replay: no crash, no restart, never parked."""
    with Engine.open(data_dir, workers=1, max_payload_bytes=1024) as engine:
        engine.register(*flows.ALL)
        engine.register(flows.grows, restart=RestartPolicy(on_exhausted=on_exhausted))
        run = engine.start(flows.grows, where, 2000, workflow_id="grows")
        with pytest.raises(WorkflowFailed, match="over the 1024-byte payload limit") as caught:
            run.result(timeout=30)
        assert caught.value.error["type"] == "PayloadError"
        assert _history_kinds(engine, "grows") == ["WorkflowStarted", "WorkflowFailed"]
        assert engine.stats()["crashes"] == 0


def test_a_payload_error_at_the_call_is_the_workflows_to_catch_and_replays_the_same(
    data_dir: Path,
) -> None:
    with Engine.open(data_dir, workers=1, max_payload_bytes=1024) as engine:
        engine.register(*flows.ALL)
        run = engine.start(flows.shrinks, 2000, workflow_id="shrinks")
        assert run.result(timeout=30) == "refused: echo() arguments"
        before = _history_kinds(engine, "shrinks")
        assert before.count("ActivityScheduled") == 1 and "RunCrashed" not in before
        report = replay([engine.history("shrinks")], flows.ALL, max_payload_bytes=1024)
    assert [r.verdict for r in report.runs] == ["ok"]


# -- nested too deeply


def test_deep_nesting_is_a_payload_error_never_a_recursion_error(engine: Engine) -> None:
    with pytest.raises(PayloadError, match=r"^input\[0\](\[0\]){63}: is nested more than 64"):
        engine.start(flows.waits, _nested(100_000), workflow_id="deep")
    deep_dict: dict[str, Any] = {}
    for _ in range(100_000):
        deep_dict = {"k": deep_dict}
    run = engine.start(flows.waits, workflow_id="w")
    with pytest.raises(PayloadError, match=r'^payload(\["k"\]){64}: is nested more than 64'):
        engine.signal("w", "go", deep_dict)
    assert engine.list_runs()[0].workflow_id == "w" and len(engine.list_runs()) == 1
    engine.signal("w", "go", _nested(60))
    assert run.result(timeout=30) == _nested(60)


def test_a_deeply_nested_activity_result_fails_the_attempt_clearly(engine: Engine) -> None:
    run = engine.start(flows.calls, "returns", "deep", workflow_id="deep-result")
    with pytest.raises(WorkflowFailed) as caught:
        run.result(timeout=60)
    assert "is nested more than 64 levels deep" in caught.value.error["message"]
    assert "RecursionError" not in str(caught.value.error)


def test_a_deeply_nested_workflow_result_fails_the_run_clearly(engine: Engine) -> None:
    run = engine.start(flows.returns_raw, "deep", workflow_id="deep-wf")
    with pytest.raises(WorkflowFailed, match="is nested more than 64 levels deep"):
        run.result(timeout=30)


# -- invalid configuration


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("[engine]\nworkers = 0\n", "[engine] workers = 0: expected an integer >= 1"),
        ("[engine]\nworker = 2\n", "[engine] unknown key 'worker'; allowed keys: data_dir"),
        ('[engine]\ndurability = "fast"\n', '[engine] durability = "fast": expected one of'),
        ("[restart.default]\nmax_restarts = -1\n", "[restart.default] max_restarts = -1"),
        ("[engine\n", "not valid TOML"),
    ],
)
def test_a_bad_config_file_names_file_table_and_key_and_touches_nothing(
    tmp_path: Path, data_dir: Path, text: str, complaint: str
) -> None:
    config = tmp_path / "aion.toml"
    config.write_text(text)
    with pytest.raises(ConfigError) as caught:
        Engine.open(data_dir, config=config)
    assert str(caught.value).startswith(f"{config}: ")
    assert complaint in str(caught.value)
    assert not data_dir.exists()


@pytest.mark.parametrize(
    "options",
    [
        {"workers": 0},
        {"threads": 0},
        {"max_resident": 0},
        {"max_payload_bytes": -1},
        {"idle_evict_after": -1.0},
        {"idle_evict_after": float("nan")},
        {"workers": "2"},
        {"durability": "fast"},
        {"map_size": -5},
        {"map_size": 1024},
    ],
    ids=lambda options: "-".join(f"{k}={v!r}" for k, v in options.items()),
)
def test_bad_engine_options_are_refused_before_anything_is_created(
    data_dir: Path, options: dict[str, Any]
) -> None:
    ((name, value),) = options.items()
    with pytest.raises(ConfigError, match=f"{name}.*{value!r}"):
        Engine.open(data_dir, **options).close()
    assert not data_dir.exists()


def test_a_map_size_beyond_the_address_space_is_refused_naming_map_size(data_dir: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        Engine.open(data_dir, workers=1, map_size=1 << 50).close()
    message = str(caught.value)
    assert message.startswith(f"map_size={1 << 50} bytes cannot be reserved")
    assert "give a smaller map_size" in message
