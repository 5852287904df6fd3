"""`aion.toml`: engine options, restart policies, worker supervision and activity settings.

Precedence, lowest first: the file, then what a `@workflow`/`@activity`
decorator sets explicitly, then explicit arguments (`Engine.open(...,
workers=4)`, `engine.register(defn, restart=...)`). So an operator can tune a
deployment without touching code, and code that insists on a policy keeps it.

Every mistake is a `ConfigError` naming the file, the table, the key and
what is allowed: a typo must not silently fall back to a default.

The parts, each importing only those before it:
- `values`: the typed `[engine]`, `[activity.*]` and `[queue.*]` settings, and `UNSET`;
- `keys`: what each key of each table accepts;
- `tables`: reading a document into typed values, refusing every mistake;
- `names`: tables that name no registered workflow type or activity;
- `file`: `Config`, one file read and validated;
- `apply`: a `Config` applied to definitions, with the precedence above.
"""

from aion_actors.config.apply import configure, configure_activity, configure_workflow
from aion_actors.config.file import Config
from aion_actors.config.values import UNSET, ActivityConfig, EngineConfig, QueueConfig, Unset

__all__ = [
    "UNSET",
    "ActivityConfig",
    "Config",
    "EngineConfig",
    "QueueConfig",
    "Unset",
    "configure",
    "configure_activity",
    "configure_workflow",
]
