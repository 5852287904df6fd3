"""`[retention]` in aion.toml and `@workflow(retention=...)`: durations, precedence, errors."""

from __future__ import annotations

import datetime as dt

import pytest

from aion_actors import WorkflowContext, workflow
from aion_actors.config import Config, configure_workflow
from aion_actors.core import ConfigError


async def flow(ctx: WorkflowContext) -> None:
    return None


def test_retention_is_kept_forever_unless_something_says_otherwise() -> None:
    assert workflow(flow).retention is None
    assert configure_workflow(workflow(flow), Config()).retention is None
    assert Config.parse("").retention_of("flow") is None


@pytest.mark.parametrize(
    ("given", "seconds"),
    [(90, 90.0), (0.2, 0.2), (dt.timedelta(hours=2), 7200.0), ("15m", 900.0), ("30d", 2592000.0)],
)
def test_the_decorator_takes_seconds_a_timedelta_or_a_duration_string(
    given: object, seconds: float
) -> None:
    assert workflow(retention=given)(flow).retention == seconds  # type: ignore[arg-type]


@pytest.mark.parametrize("given", [0, -1, "soon", "5 years", True, float("inf")])
def test_the_decorator_refuses_a_retention_that_is_not_a_positive_duration(given: object) -> None:
    with pytest.raises(ConfigError, match=r"workflow 'flow': retention = .*expected seconds"):
        workflow(retention=given)(flow)  # type: ignore[arg-type]


def test_file_default_then_type_table_then_decorator() -> None:
    config = Config.parse('[retention]\ndefault = "30d"\n[retention.flow]\nkeep = "12h"\n')
    assert config.retention_of("other") == 30 * 86400
    assert configure_workflow(workflow(flow), config).retention == 12 * 3600
    assert configure_workflow(workflow(retention="1h")(flow), config).retention == 3600
    assert configure_workflow(workflow(retention=None)(flow), config).retention is None
    forever = Config.parse('[retention]\ndefault = "30d"\n[retention.flow]\nkeep = "forever"\n')
    assert configure_workflow(workflow(flow), forever).retention is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[retention]\ndefault = "soon"', r'aion\.toml: \[retention\] default = "soon": expected'),
        ("[retention]\ndefault = -5", r"\[retention\] default = -5: expected seconds"),
        ('[retention]\nflow = "7d"', r'\[retention\] flow = "7d": .*\[retention\.flow\] keep'),
        ('[retention.flow]\nkeep = "7x"', r'\[retention\.flow\] keep = "7x": expected'),
        ('[retention.flow]\nfor = "7d"', r"\[retention\.flow\] unknown key 'for'"),
        ("[retention.flow]", r"\[retention\.flow\] no keep key"),
        ('retention = "7d"', r"aion\.toml: retention must be a table"),
        (
            '[retention.default]\nkeep = "1s"',
            r"\[retention\.default\] cannot be a table: default in \[retention\] is the "
            r'retention of every workflow type, a duration; write \[retention\] default = "1s"',
        ),
    ],
)
def test_config_errors_name_the_file_table_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.parse(text, source="aion.toml")


def test_a_retention_table_naming_no_registered_type_is_reported() -> None:
    config = Config.parse('[retention.flwo]\nkeep = "1d"', source="aion.toml")
    assert config.unknown_names(["flow"], []) == [
        "aion.toml: [retention.flwo] names no registered workflow type; did you mean [flow]? "
        "registered: flow"
    ]


@pytest.mark.parametrize("given", ["99999999999w", 1e300, 600 * 365 * 86400])
def test_a_retention_ending_past_the_last_instant_a_store_records_keeps_runs_forever(
    given: str | float,
) -> None:
    value = f'"{given}"' if isinstance(given, str) else repr(given)
    config = Config.parse(f"[retention]\ndefault = {value}\n[retention.flow]\nkeep = {value}\n")
    assert config.retention_of("other") is None and config.retention_of("flow") is None
    assert workflow(retention=given)(flow).retention is None  # the decorator agrees
    assert workflow(retention="20000w")(flow).retention == 20000 * 7 * 86400  # ends in 2400s
