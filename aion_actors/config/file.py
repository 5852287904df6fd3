"""`Config`: one `aion.toml`, read and validated, with the built-in defaults where it is silent."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from aion_actors.config.names import unknown_tables
from aion_actors.config.tables import read_tables
from aion_actors.config.values import ActivityConfig, EngineConfig, QueueConfig
from aion_actors.core import ConfigError
from aion_actors.runtime.definitions import DEFAULT_RUN_RESTART
from aion_actors.workers import DEFAULT_WORKER_RESTART
from supervisor import RestartPolicy

__all__ = ["Config"]


@dataclass(frozen=True)
class Config:
    """A parsed `aion.toml`. `Config()` is the empty file: built-in defaults everywhere."""

    source: str = "<defaults>"
    engine: EngineConfig = field(default_factory=EngineConfig)
    default_restart: RestartPolicy = DEFAULT_RUN_RESTART
    restart: Mapping[str, RestartPolicy] = field(default_factory=lambda: MappingProxyType({}))
    activities: Mapping[str, ActivityConfig] = field(default_factory=lambda: MappingProxyType({}))
    worker_restart: RestartPolicy = DEFAULT_WORKER_RESTART  #: `[workers]`: see `WorkerPool`
    #: `[retention] default`: seconds a closed run is kept; None (the default) keeps it forever
    default_retention: float | None = None
    #: `[retention.<workflow_type>] keep`, over the default
    retention: Mapping[str, float | None] = field(default_factory=lambda: MappingProxyType({}))
    #: `[queue.<name>]`: queues the engine registers at start, or limits for a `Queue` in code
    queues: Mapping[str, QueueConfig] = field(default_factory=lambda: MappingProxyType({}))

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
        tables = read_tables(text, source, base_dir or Path.cwd())
        return cls(
            source=source,
            engine=tables.engine,
            default_restart=tables.default_restart,
            restart=tables.restart,
            activities=tables.activities,
            worker_restart=tables.worker_restart,
            default_retention=tables.default_retention,
            retention=tables.retention,
            queues=tables.queues,
        )

    @classmethod
    def coerce(cls, config: str | os.PathLike[str] | Config | None) -> Config:
        """A `Config` from a path, a `Config`, or None (the built-in defaults)."""
        if config is None:
            return cls()
        return config if isinstance(config, Config) else cls.load(config)

    def restart_policy(self, workflow_type: str) -> RestartPolicy:
        """The file's policy for `workflow_type`: its own table over `[restart.default]`."""
        return self.restart.get(workflow_type, self.default_restart)

    def retention_of(self, workflow_type: str) -> float | None:
        """The file's retention for `workflow_type` (seconds; None: forever)."""
        return self.retention.get(workflow_type, self.default_retention)

    def unknown_names(self, workflows: Iterable[str], activities: Iterable[str]) -> list[str]:
        """A message per `[restart.<type>]` / `[activity.<name>]` naming none of these names.

        Each names the file, the table, the closest registered name and the
        registered ones; `[]` when every table applies to something.
        """
        workflows = list(workflows)
        restart = unknown_tables(self.source, "restart", "workflow type", self.restart, workflows)
        restart += unknown_tables(
            self.source, "retention", "workflow type", self.retention, workflows
        )
        return restart + unknown_tables(
            self.source, "activity", "activity", self.activities, activities
        )
