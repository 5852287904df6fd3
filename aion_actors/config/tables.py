"""Reading an `aion.toml` document into typed values, refusing every mistake.

Every mistake is a `ConfigError` naming the file, the table, the key and
what is allowed: a typo must not silently fall back to a default. What each
key accepts is in `keys`; `[workers]` and `[restart.*]` are read by the same
`Reader.restart_policy`, each with its own keys.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from aion_actors.config.keys import (
    ACTIVITY_KEYS,
    ENGINE_KEYS,
    QUEUE_KEYS,
    RESTART_KEYS,
    UNLIMITED,
    WHY_NOT,
    WORKERS_KEYS,
    Key,
)
from aion_actors.config.values import ActivityConfig, EngineConfig, QueueConfig
from aion_actors.core import ConfigError, check_id
from aion_actors.core.durations import ALLOWED, parse_retention
from aion_actors.runtime.definitions import DEFAULT_RUN_RESTART, RetryPolicy
from aion_actors.runtime.rates import rate_of
from aion_actors.workers import DEFAULT_WORKER_RESTART
from supervisor import RestartPolicy

__all__ = ["Reader", "Tables", "read_tables"]

_TABLES = ("engine", "workers", "restart", "activity", "retention", "queue")
#: `[retention] default = ...` and `[retention.<type>] keep = ...`: "forever" keeps closed runs
FOREVER = "forever"


@dataclass(frozen=True)
class Tables:
    """The validated tables of one file: built-in defaults where it says nothing."""

    engine: EngineConfig
    default_restart: RestartPolicy  #: `[restart.default]`
    restart: Mapping[str, RestartPolicy]  #: `[restart.<workflow_type>]`, over the default
    activities: Mapping[str, ActivityConfig]  #: `[activity.<name>]`
    worker_restart: RestartPolicy  #: `[workers]`
    default_retention: float | None = None  #: `[retention] default`, seconds; None: forever
    #: `[retention.<type>] keep`
    retention: Mapping[str, float | None] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )
    #: `[queue.<name>]`
    queues: Mapping[str, QueueConfig] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )


def read_tables(text: str, source: str, base_dir: Path) -> Tables:
    """Validate TOML `text`; `source` names it in errors, `base_dir` anchors `data_dir`."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc}); fix the syntax") from None
    return Reader(source, base_dir).tables(doc)


class Reader:
    """Reads the tables of one parsed document named `source`."""

    def __init__(self, source: str, base_dir: Path) -> None:
        self.source = source
        self.base_dir = base_dir

    def tables(self, doc: dict[str, Any]) -> Tables:
        unknown = sorted(set(doc) - set(_TABLES))
        if unknown:
            raise ConfigError(
                f"{self.source}: unknown table {unknown[0]!r}; allowed tables: [engine], "
                "[workers], [restart.default], [restart.<workflow_type>], [activity.<name>], "
                "[retention], [retention.<workflow_type>], [queue.<name>]"
            )
        engine = self.engine(self.table(doc.get("engine", {}), "engine"))
        workers = self.table(doc.get("workers", {}), "workers")
        worker_restart = self.restart_policy(
            DEFAULT_WORKER_RESTART, workers, "workers", WORKERS_KEYS
        )
        restart = self.table(doc.get("restart", {}), "restart")
        for name, value in restart.items():
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{self.source}: [restart] {name} = {_toml(value)}: restart keys belong in "
                    "[restart.default] (every workflow type) or [restart.<workflow_type>]"
                )
        default = self.restart_policy(
            DEFAULT_RUN_RESTART, restart.get("default", {}), "restart.default", RESTART_KEYS
        )
        per_type = {
            name: self.restart_policy(default, table, f"restart.{name}", RESTART_KEYS)
            for name, table in restart.items()
            if name != "default"
        }
        activity = self.table(doc.get("activity", {}), "activity")
        activities = {
            name: self.activity(self.table(table, f"activity.{name}"), name)
            for name, table in activity.items()
        }
        default_retention, retention = self.retention(
            self.table(doc.get("retention", {}), "retention")
        )
        queue = self.table(doc.get("queue", {}), "queue")
        queues = {
            name: self.queue(self.table(t, f"queue.{name}"), name) for name, t in queue.items()
        }
        return Tables(
            engine=engine,
            default_restart=default,
            restart=MappingProxyType(per_type),
            activities=MappingProxyType(activities),
            worker_restart=worker_restart,
            default_retention=default_retention,
            retention=MappingProxyType(retention),
            queues=MappingProxyType(queues),
        )

    def retention(self, doc: dict[str, Any]) -> tuple[float | None, dict[str, float | None]]:
        """`[retention] default = "30d"` and `[retention.<type>] keep = "7d"` (or "forever")."""
        default: float | None = None
        per_type: dict[str, float | None] = {}
        for name, value in doc.items():
            if isinstance(value, dict):
                table = f"retention.{name}"
                if name == "default":
                    raise self.fail(table, _default_table(value))
                unknown = sorted(set(value) - {"keep"})
                if unknown or "keep" not in value:
                    what = f"unknown key {unknown[0]!r}" if unknown else "no keep key"
                    raise self.fail(table, f'{what}; write keep = "7d" (or "forever")')
                per_type[name] = self.duration(value["keep"], table, "keep")
            elif name == "default":
                default = self.duration(value, "retention", "default")
            else:
                raise self.fail(
                    "retention",
                    f"{name} = {_toml(value)}: only default = ... belongs in [retention]; a "
                    f'workflow type\'s retention goes in [retention.{name}] keep = "7d"',
                )
        return default, per_type

    def duration(self, value: Any, table: str, key: str) -> float | None:
        """A retention value of the file: a duration, or "forever" (None)."""
        if value == FOREVER:
            return None
        if isinstance(value, str | int | float) and value is not None:
            try:
                return parse_retention(value, key)
            except ConfigError:
                pass
        raise self.fail(table, f'{key} = {_toml(value)}: expected {ALLOWED}, or "{FOREVER}"')

    def engine(self, doc: dict[str, Any]) -> EngineConfig:
        values = dict(self.values(doc, "engine", ENGINE_KEYS))
        if "data_dir" in values:
            values["data_dir"] = self.base_dir / Path(values["data_dir"]).expanduser()
        if values.get("idle_evict_after") is False:
            values["idle_evict_after"] = None
        return EngineConfig(**values)

    def restart_policy(
        self, base: RestartPolicy, doc: dict[str, Any], table: str, keys: Mapping[str, Key]
    ) -> RestartPolicy:
        """`base` with the keys of `[table]` on top: `[restart.<type>]`, or `[workers]`."""
        values = self.values(doc, table, keys)
        backoff = {
            k.removeprefix("backoff_"): v for k, v in values.items() if k.startswith("backoff_")
        }
        policy = {k: v for k, v in values.items() if not k.startswith("backoff_")}
        if backoff:
            policy["backoff"] = dataclasses.replace(base.backoff, **backoff)
        return dataclasses.replace(base, **policy)

    def activity(self, doc: dict[str, Any], name: str) -> ActivityConfig:
        values = self.values(doc, f"activity.{name}", ACTIVITY_KEYS)
        retry = {k.removeprefix("retry_"): v for k, v in values.items() if k.startswith("retry_")}
        if retry.get("max_attempts") == UNLIMITED:
            retry["max_attempts"] = None
        return ActivityConfig(
            retry=RetryPolicy(**retry) if retry else None,
            timeout=values.get("timeout"),
            executor=values.get("executor"),
            concurrency=values.get("concurrency"),
            rate=rate_of(values.get("rate"), "rate"),
        )

    def queue(self, doc: dict[str, Any], name: str) -> QueueConfig:
        """`[queue.<name>]`: the limits of queue `name` (see `Queue`)."""
        try:
            check_id(name, "queue name")
        except ValueError as exc:
            raise self.fail(f"queue.{name}", f"is no valid queue name: {exc}") from None
        values = self.values(doc, f"queue.{name}", QUEUE_KEYS)
        return QueueConfig(
            concurrency=values.get("concurrency"),
            per_key=values.get("per_key"),
            rate=rate_of(values.get("rate"), "rate"),
            priority=values.get("priority"),
        )

    def table(self, value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ConfigError(
                f"{self.source}: {name} must be a table ([{name}]), not {_type_name(value)}"
            )
        return value

    def values(self, doc: dict[str, Any], table: str, keys: Mapping[str, Key]) -> dict[str, Any]:
        for key, value in doc.items():
            spec = keys.get(key)
            if spec is None:
                raise self.fail(table, f"unknown key {key!r}; allowed keys: {', '.join(keys)}")
            if not spec.check(value):
                why = WHY_NOT.get((key, value)) if isinstance(value, str) else None
                raise self.fail(
                    table,
                    f"{key} = {_toml(value)}: " + (why or f"expected {spec.allowed}"),
                )
        return doc

    def fail(self, table: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: [{table}] {problem}")


def _default_table(table: dict[str, Any]) -> str:
    """Why `[retention.default]` is refused: `default` in `[retention]` is the retention of
    every workflow type (a duration), never a type's table."""
    keep = _toml(table["keep"]) if "keep" in table else '"30d"'
    return (
        "cannot be a table: default in [retention] is the retention of every workflow type, "
        f"a duration; write [retention] default = {keep} (a type's own: "
        '[retention.<workflow_type>] keep = "7d")'
    )


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a table"
    return repr(value)
