"""`aion.toml`: engine options, restart policies, worker supervision and activity settings.

Precedence, lowest first: the file, then what a `@workflow`/`@activity`
decorator sets explicitly, then explicit arguments (`Engine.open(...,
workers=4)`, `engine.register(defn, restart=...)`). So an operator can tune a
deployment without touching code, and code that insists on a policy keeps it.

Every mistake is a `ConfigError` naming the file, the table, the key and
what is allowed: a typo must not silently fall back to a default.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

from aion_actors._config_names import unknown_tables
from aion_actors.core import MAX_PAYLOAD_BYTES, ConfigError
from aion_actors.runtime.definitions import (
    DEFAULT_RUN_RESTART,
    ActivityDefinition,
    RetryPolicy,
    WorkflowDefinition,
    check_process_activity,
    run_restart_policy,
)
from aion_actors.workers import DEFAULT_WORKER_RESTART
from supervisor import RestartPolicy

__all__ = [
    "UNSET",
    "ActivityConfig",
    "Config",
    "EngineConfig",
    "Unset",
    "configure",
    "configure_activity",
    "configure_workflow",
]


class Unset(enum.Enum):
    """The type of `UNSET`: an argument left out, as opposed to one passed as None."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET


@dataclass(frozen=True)
class EngineConfig:
    """The `[engine]` table; every field holds the built-in default unless the file sets it.

    `workers=None` means one worker process per CPU; `map_size=None` the
    store's default (1 GiB, grown when full); `idle_evict_after=None` never
    evicts idle runs (`false` in the file).
    """

    data_dir: Path | None = None
    workers: int | None = None
    threads: int = 32
    max_resident: int = 10_000
    idle_evict_after: float | None = 30.0
    durability: Literal["sync", "nosync"] = "sync"
    map_size: int | None = None
    max_payload_bytes: int = MAX_PAYLOAD_BYTES

    def override(self, **given: Any) -> EngineConfig:
        """These settings with the arguments a caller passed explicitly on top.

        An argument left `UNSET`, or None (except `idle_evict_after`, where
        None means "never"), keeps the file's value.
        """
        explicit = {
            key: value
            for key, value in given.items()
            if value is not UNSET and (value is not None or key == "idle_evict_after")
        }
        return dataclasses.replace(self, **explicit)


@dataclass(frozen=True)
class ActivityConfig:
    """One `[activity.<name>]` table; None where the file does not say."""

    retry: RetryPolicy | None = None
    timeout: float | None = None
    executor: Literal["process", "thread"] | None = None


@dataclass(frozen=True)
class Config:
    """A parsed `aion.toml`. `Config()` is the empty file: built-in defaults everywhere."""

    source: str = "<defaults>"
    engine: EngineConfig = field(default_factory=EngineConfig)
    default_restart: RestartPolicy = DEFAULT_RUN_RESTART
    restart: Mapping[str, RestartPolicy] = field(default_factory=lambda: MappingProxyType({}))
    activities: Mapping[str, ActivityConfig] = field(default_factory=lambda: MappingProxyType({}))
    worker_restart: RestartPolicy = DEFAULT_WORKER_RESTART  #: `[workers]`: see `WorkerPool`

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Config:
        """Read and validate the file at `path`; a relative `data_dir` is relative to it."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"{path}: cannot read the config file ({exc.strerror or exc}); check the path"
            ) from None
        return cls.parse(text, source=str(path), base_dir=path.parent)

    @classmethod
    def parse(cls, text: str, *, source: str = "<string>", base_dir: Path | None = None) -> Config:
        """Validate TOML `text`; `source` names it in error messages."""
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML ({exc}); fix the syntax") from None
        return _Parser(source, base_dir or Path.cwd()).config(doc)

    @classmethod
    def coerce(cls, config: str | os.PathLike[str] | Config | None) -> Config:
        """A `Config` from a path, a `Config`, or None (the built-in defaults)."""
        if config is None:
            return cls()
        return config if isinstance(config, Config) else cls.load(config)

    def restart_policy(self, workflow_type: str) -> RestartPolicy:
        """The file's policy for `workflow_type`: its own table over `[restart.default]`."""
        return self.restart.get(workflow_type, self.default_restart)

    def unknown_names(self, workflows: Iterable[str], activities: Iterable[str]) -> list[str]:
        """A message per `[restart.<type>]` / `[activity.<name>]` naming none of these names.

        Each names the file, the table, the closest registered name and the
        registered ones; `[]` when every table applies to something.
        """
        restart = unknown_tables(self.source, "restart", "workflow type", self.restart, workflows)
        return restart + unknown_tables(
            self.source, "activity", "activity", self.activities, activities
        )


def configure(
    definition: WorkflowDefinition | ActivityDefinition[Any, Any],
    config: Config | None,
    *,
    restart: RestartPolicy | None = None,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    executor: Literal["process", "thread"] | None = None,
) -> WorkflowDefinition | ActivityDefinition[Any, Any]:
    """A workflow or activity definition with its effective settings (see the module docstring)."""
    if isinstance(definition, WorkflowDefinition):
        return configure_workflow(definition, config, restart=restart)
    if isinstance(definition, ActivityDefinition):
        return configure_activity(
            definition, config, retry=retry, timeout=timeout, executor=executor
        )
    return definition  # not a definition: the catalog refuses it with a clear message


def configure_workflow(
    definition: WorkflowDefinition,
    config: Config | None,
    *,
    restart: RestartPolicy | None = None,
) -> WorkflowDefinition:
    """`definition` with its effective restart policy: file < decorator < `restart`."""
    if restart is not None:
        policy = restart
    elif config is not None and "restart" not in definition.explicit:
        policy = config.restart_policy(definition.name)
    else:
        return definition
    return dataclasses.replace(definition, restart=run_restart_policy(policy))


def configure_activity(
    definition: ActivityDefinition[Any, Any],
    config: Config | None,
    *,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    executor: Literal["process", "thread"] | None = None,
) -> ActivityDefinition[Any, Any]:
    """`definition` with its effective retry, timeout and executor: file < decorator < argument."""
    changes: dict[str, Any] = {}
    table = config.activities.get(definition.name) if config is not None else None
    if table is not None:
        for name in ("retry", "timeout", "executor"):
            value = getattr(table, name)
            if value is not None and name not in definition.explicit:
                changes[name] = value
    for name, value in (("retry", retry), ("timeout", timeout), ("executor", executor)):
        if value is not None:
            changes[name] = value
    if changes.get("executor", definition.executor) == "process":  # can workers import it?
        source = config.source if config and executor is None and "executor" in changes else None
        check_process_activity(definition.name, definition.fn, source)
    return dataclasses.replace(definition, **changes) if changes else definition


# -- validation


@dataclass(frozen=True)
class _Key:
    """What one key accepts: a check on the parsed TOML value and its description."""

    allowed: str
    check: Callable[[Any], bool]


def _number(low: float, *, strict: bool = False, integer: bool = False) -> _Key:
    kind = "an integer" if integer else "a number"
    bound = f"> {low:g}" if strict else f">= {low:g}"

    def check(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
            return False
        return math.isfinite(value) and (value > low if strict else value >= low)

    return _Key(f"{kind} {bound}", check)


def _choice(*values: str) -> _Key:
    return _Key("one of " + ", ".join(f'"{v}"' for v in values), lambda v: v in values)


def _seconds_or_false() -> _Key:
    positive = _number(0, strict=True)
    return _Key(
        f"{positive.allowed} (seconds), or false for never",
        lambda v: v is False or positive.check(v),
    )


_ENGINE_KEYS: Final = {
    "data_dir": _Key("a path (string)", lambda v: isinstance(v, str) and v != ""),
    "workers": _number(1, integer=True),
    "threads": _number(1, integer=True),
    "max_resident": _number(1, integer=True),
    "idle_evict_after": _seconds_or_false(),
    "durability": _choice("sync", "nosync"),
    "map_size": _number(1, integer=True),
    "max_payload_bytes": _number(1, integer=True),
}
_RESTART_KEYS: Final = {
    "strategy": _Key(
        '"one_for_one" (of the strategies "one_for_one", "one_for_all", "rest_for_one", '
        "only one_for_one applies to workflow runs)",
        lambda v: v == "one_for_one",
    ),
    "max_restarts": _number(0, integer=True),
    "within_seconds": _number(0, strict=True),
    "on_exhausted": _choice("fail", "park"),
    "restart": _choice("transient", "temporary"),
    "backoff_initial": _number(0),
    "backoff_multiplier": _number(1),
    "backoff_max": _number(0),
    "backoff_jitter": _number(0),
}
_RUN_ONLY_KEYS: Final = ("strategy", "on_exhausted", "restart")
_WORKERS_KEYS: Final = {k: v for k, v in _RESTART_KEYS.items() if k not in _RUN_ONLY_KEYS}
_ACTIVITY_KEYS: Final = {
    "retry_max_attempts": _number(1, integer=True),
    "retry_initial": _number(0),
    "retry_multiplier": _number(1),
    "retry_max_interval": _number(0),
    "timeout": _number(0, strict=True),
    "executor": _choice("process", "thread"),
}
_WHY_NOT: Final = {
    ("strategy", "one_for_all"): "each run is supervised on its own, so only "
    '"one_for_one" applies to workflow runs',
    ("strategy", "rest_for_one"): "each run is supervised on its own, so only "
    '"one_for_one" applies to workflow runs',
    ("on_exhausted", "escalate"): "escalating would stop every run of the engine because "
    'one run crashed too often; use "fail" (record WorkflowFailed) or "park" (keep it for '
    "engine.resume() after a fix)",
    ("restart", "permanent"): 'a run that completed is never restarted; use "transient" '
    '(restart after crashes) or "temporary" (never restart)',
}


class _Parser:
    def __init__(self, source: str, base_dir: Path) -> None:
        self.source = source
        self.base_dir = base_dir

    def fail(self, table: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: [{table}] {problem}")

    def table(self, value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ConfigError(
                f"{self.source}: {name} must be a table ([{name}]), not {_type_name(value)}"
            )
        return value

    def values(self, doc: dict[str, Any], table: str, keys: Mapping[str, _Key]) -> dict[str, Any]:
        for key, value in doc.items():
            spec = keys.get(key)
            if spec is None:
                raise self.fail(table, f"unknown key {key!r}; allowed keys: {', '.join(keys)}")
            if not spec.check(value):
                why = _WHY_NOT.get((key, value)) if isinstance(value, str) else None
                raise self.fail(
                    table,
                    f"{key} = {_toml(value)}: " + (why or f"expected {spec.allowed}"),
                )
        return doc

    def config(self, doc: dict[str, Any]) -> Config:
        unknown = sorted(set(doc) - {"engine", "workers", "restart", "activity"})
        if unknown:
            raise ConfigError(
                f"{self.source}: unknown table {unknown[0]!r}; allowed tables: [engine], "
                "[workers], [restart.default], [restart.<workflow_type>], [activity.<name>]"
            )
        engine = self.engine(self.table(doc.get("engine", {}), "engine"))
        workers = self.table(doc.get("workers", {}), "workers")
        worker_restart = self.policy(DEFAULT_WORKER_RESTART, workers, "workers", _WORKERS_KEYS)
        restart = self.table(doc.get("restart", {}), "restart")
        for name, value in restart.items():
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{self.source}: [restart] {name} = {_toml(value)}: restart keys belong in "
                    "[restart.default] (every workflow type) or [restart.<workflow_type>]"
                )
        default = self.policy(DEFAULT_RUN_RESTART, restart.get("default", {}), "restart.default")
        per_type = {
            name: self.policy(default, table, f"restart.{name}")
            for name, table in restart.items()
            if name != "default"
        }
        activity = self.table(doc.get("activity", {}), "activity")
        activities = {
            name: self.activity(self.table(table, f"activity.{name}"), name)
            for name, table in activity.items()
        }
        return Config(
            source=self.source,
            engine=engine,
            default_restart=default,
            restart=MappingProxyType(per_type),
            activities=MappingProxyType(activities),
            worker_restart=worker_restart,
        )

    def engine(self, doc: dict[str, Any]) -> EngineConfig:
        values = dict(self.values(doc, "engine", _ENGINE_KEYS))
        if "data_dir" in values:
            values["data_dir"] = self.base_dir / Path(values["data_dir"]).expanduser()
        if values.get("idle_evict_after") is False:
            values["idle_evict_after"] = None
        return EngineConfig(**values)

    def policy(
        self, base: RestartPolicy, doc: dict[str, Any], table: str, keys: Any = _RESTART_KEYS
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
        values = self.values(doc, f"activity.{name}", _ACTIVITY_KEYS)
        retry = {k.removeprefix("retry_"): v for k, v in values.items() if k.startswith("retry_")}
        return ActivityConfig(
            retry=RetryPolicy(**retry) if retry else None,
            timeout=values.get("timeout"),
            executor=values.get("executor"),
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
