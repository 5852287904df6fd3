"""`check-config FILE [--app MODULE[:ATTR]]`: validate an `aion.toml`, show what it makes effective.

That is the engine options, the restart policy of each workflow type, the
restart policy of the worker processes (`[workers]`: only the keys a worker
pool uses), the retention of closed runs (`[retention]`: the default and each
type's) and the activity settings.

With `--app`, every `[restart.<type>]` and `[activity.<name>]` table must
name a workflow type or activity the app defines: a typo in a table name
would otherwise leave its settings applying to nothing.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from aion_actors.cli.inspection import print_json
from aion_actors.config import ActivityConfig, Config, QueueConfig
from aion_actors.config.keys import WORKERS_KEYS
from aion_actors.core import ConfigError
from aion_actors.core.durations import format_duration
from aion_actors.runtime.definitions import ActivityDefinition, WorkflowDefinition
from aion_actors.runtime.rates import Rate
from supervisor import RestartPolicy

_DEFAULT_ROW = "default"
#: what an unset engine option means.
_ENGINE_NONE = {
    "data_dir": "not set: pass it to Engine.open / Engine.from_config",
    "store": "not set: the LMDB data_dir (a postgresql:// URL chooses Postgres)",
    "workers": "one per CPU",
    "idle_evict_after": "never",
    "map_size": "1 GiB, doubled whenever it fills",
    "node_id": "generated (a Postgres store's node: host-pid-random)",
    "lease": "10 s (a Postgres store's node)",
    "renew_every": "3 s, or a third of the lease if shorter",
}


def check_config(
    path: Path,
    console: Console,
    *,
    as_json: bool = False,
    app: str | None = None,
    err: Console | None = None,
) -> int:
    """Raises `ConfigError` (exit 2) on an invalid file; prints the effective settings.

    With `app` (`module` or `module:attr`), a table naming none of the app's
    workflow types or activities is an error too: each is printed on `err`
    and the exit code is 2.
    """
    config = Config.load(path)
    if app is not None:
        app_workflows, app_activities = app_definitions(app)
        problems = config.unknown_names(
            (w.name for w in app_workflows), (a.name for a in app_activities)
        )
        for problem in problems:
            (err or Console(stderr=True)).print(
                f"[bold red]error:[/] {escape(problem)} (checked against --app {escape(app)})",
                soft_wrap=True,
                highlight=False,
            )
        if problems:
            return 2
    policies = {_DEFAULT_ROW: config.default_restart, **config.restart}
    workers = {k: v for k, v in _policy(config.worker_restart).items() if k in WORKERS_KEYS}
    if as_json:
        print_json(
            {
                "file": str(path),
                "app": app,
                "engine": {
                    k: str(v) if isinstance(v, Path) else v
                    for k, v in dataclasses.asdict(config.engine).items()
                },
                "restart": {name: _policy(p) for name, p in policies.items()},
                "workers": workers,
                "retention": _retention(config),
                "activity": {name: _activity(a) for name, a in config.activities.items()},
                "queue": {name: _queue(q) for name, q in config.queues.items()},
            }
        )
        return 0
    console.print(f"[green]valid:[/] {escape(str(path))}")
    if app is not None:
        console.print(
            f"every [restart.<type>] and [activity.<name>] table names a workflow type or "
            f"activity of {escape(app)}",
            highlight=False,
        )
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
    pool = Table(
        title=escape("effective restart policy of the worker processes ([workers])"),
        title_justify="left",
    )
    for column in ("pool", *workers):
        pool.add_column(column)
    pool.add_row(Text("every worker process"), *(Text(_show(v)) for v in workers.values()))
    console.print(pool)
    kept = Table(title=escape("[retention]: closed runs kept"), title_justify="left")
    for column in ("workflow type", "keep"):
        kept.add_column(column)
    for name, seconds in _retention(config).items():
        label = "default (every other type)" if name == _DEFAULT_ROW else name
        kept.add_row(Text(label), Text("forever" if seconds is None else format_duration(seconds)))
    console.print(kept)
    if config.activities:
        activities = Table(title=escape("[activity.<name>]"), title_justify="left")
        for column in ("activity", "retry", "timeout", "executor", "concurrency", "rate"):
            activities.add_column(column)
        for name, table in config.activities.items():
            row = _activity(table)
            activities.add_row(Text(name), *(Text(_show(row[k])) for k in row))
        console.print(activities)
    if config.queues:
        queues = Table(title=escape("[queue.<name>]"), title_justify="left")
        for column in ("queue", "concurrency", "per_key", "rate", "priority"):
            queues.add_column(column)
        for name, queue in config.queues.items():
            queues.add_row(Text(name), *(Text(_show(v)) for v in _queue(queue).values()))
        console.print(queues)
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


def _retention(config: Config) -> dict[str, float | None]:
    """Seconds a closed run is kept (None: forever): `[retention] default`, then each type's."""
    return {_DEFAULT_ROW: config.default_retention, **config.retention}


def _activity(table: ActivityConfig) -> dict[str, Any]:
    retry = table.retry
    return {
        "retry": None
        if retry is None
        else {
            "max_attempts": "unlimited" if retry.max_attempts is None else retry.max_attempts,
            "initial": retry.initial,
            "multiplier": retry.multiplier,
            "max_interval": retry.max_interval,
        },
        "timeout": table.timeout,
        "executor": table.executor,
        "concurrency": table.concurrency,
        "rate": _rate(table.rate),
    }


def _queue(table: QueueConfig) -> dict[str, Any]:
    rate = _rate(table.rate)
    return {
        "concurrency": table.concurrency,
        "per_key": table.per_key,
        "rate": rate,
        "priority": table.priority,
    }


def _rate(rate: Rate | None) -> list[Any] | None:
    """A rate as the file writes it: [limit, seconds]."""
    return None if rate is None else [rate.limit, rate.per]


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def app_definitions(
    spec: str,
) -> tuple[list[WorkflowDefinition], list[ActivityDefinition[Any, Any]]]:
    """The workflows and activities of `module` (at module level) or of `module:attr`.

    `attr` (dotted) may hold one definition, an iterable or a mapping of them. The
    current directory is searched first, as `python -m` would.
    """
    module_name, _, attr = spec.partition(":")
    if not module_name:
        raise ConfigError(f"--app {spec!r}: expected MODULE or MODULE:ATTR, e.g. --app shop.flows")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(
            f"--app {spec}: cannot import {module_name!r} ({type(exc).__name__}: {exc}); "
            "run from the directory that holds it, or add that directory to PYTHONPATH"
        ) from exc
    found: Any = module
    for part in attr.split(".") if attr else ():
        if not hasattr(found, part):
            raise ConfigError(f"--app {spec}: {module_name} has no attribute {attr!r}")
        found = getattr(found, part)
    if not attr:
        candidates: Iterable[Any] = vars(module).values()
    elif isinstance(found, Mapping):
        candidates = found.values()
    else:
        candidates = found if isinstance(found, Iterable) else [found]
    definitions = [d for d in candidates if isinstance(d, WorkflowDefinition | ActivityDefinition)]
    if not definitions:
        where = f"{module_name}.{attr}" if attr else f"module {module_name}"
        raise ConfigError(
            f"--app {spec}: {where} holds no @workflow or @activity definition; name the "
            "module that defines them, or MODULE:ATTR for a list of them"
        )
    workflows = [d for d in definitions if isinstance(d, WorkflowDefinition)]
    activities = [d for d in definitions if isinstance(d, ActivityDefinition)]
    return workflows, activities
