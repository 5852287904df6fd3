"""`check-config FILE`: validate an `aion.toml` and show what it makes effective."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from aion_actors.cli.inspection import print_json
from aion_actors.config import ActivityConfig, Config
from supervisor import RestartPolicy

_DEFAULT_ROW = "default"
#: what an unset engine option means.
_ENGINE_NONE = {
    "data_dir": "not set: pass it to Engine.open / Engine.from_config",
    "workers": "one per CPU",
    "idle_evict_after": "never",
    "map_size": "1 GiB, doubled whenever it fills",
}


def check_config(path: Path, console: Console, *, as_json: bool = False) -> int:
    """Raises `ConfigError` (exit 2) on an invalid file; prints the effective settings."""
    config = Config.load(path)
    policies = {_DEFAULT_ROW: config.default_restart, **config.restart}
    if as_json:
        print_json(
            {
                "file": str(path),
                "engine": {
                    k: str(v) if isinstance(v, Path) else v
                    for k, v in dataclasses.asdict(config.engine).items()
                },
                "restart": {name: _policy(p) for name, p in policies.items()},
                "activity": {name: _activity(a) for name, a in config.activities.items()},
            }
        )
        return 0
    console.print(f"[green]valid:[/] {path}")
    engine = Table(title=escape("[engine]"), title_justify="left", show_header=False)
    for key, value in dataclasses.asdict(config.engine).items():
        engine.add_row(key, Text(_ENGINE_NONE[key] if value is None else _show(value)))
    console.print(engine)
    restarts = Table(title="effective restart policy per workflow type", title_justify="left")
    columns = ("workflow type", *_policy(config.default_restart))
    for column in columns:
        restarts.add_column(column)
    for name, policy in policies.items():
        label = "default (every other type)" if name == _DEFAULT_ROW else name
        restarts.add_row(Text(label), *(Text(_show(v)) for v in _policy(policy).values()))
    console.print(restarts)
    if config.activities:
        activities = Table(title=escape("[activity.<name>]"), title_justify="left")
        for column in ("activity", "retry", "timeout", "executor"):
            activities.add_column(column)
        for name, table in config.activities.items():
            row = _activity(table)
            activities.add_row(Text(name), *(Text(_show(row[k])) for k in row))
        console.print(activities)
    console.print(
        "[dim]A policy set in a @workflow/@activity decorator, or passed to "
        "Engine.open/engine.register, takes precedence over this file.[/]"
    )
    return 0


def _policy(policy: RestartPolicy) -> dict[str, Any]:
    backoff = policy.backoff
    return {
        "strategy": policy.strategy,
        "restart": policy.restart,
        "max_restarts": policy.max_restarts,
        "within_seconds": policy.within_seconds,
        "on_exhausted": policy.on_exhausted,
        "backoff_initial": backoff.initial,
        "backoff_multiplier": backoff.multiplier,
        "backoff_max": backoff.max,
        "backoff_jitter": backoff.jitter,
    }


def _activity(table: ActivityConfig) -> dict[str, Any]:
    retry = table.retry
    return {
        "retry": None
        if retry is None
        else {
            "max_attempts": retry.max_attempts,
            "initial": retry.initial,
            "multiplier": retry.multiplier,
            "max_interval": retry.max_interval,
        },
        "timeout": table.timeout,
        "executor": table.executor,
    }


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)
