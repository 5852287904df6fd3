"""From what `Engine.open` is given to what an engine is built from: the options, checked
before anything is created (no directory, no thread), and the store a path names."""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

from aion_actors.config import Config, EngineConfig
from aion_actors.config.keys import ENGINE_KEYS
from aion_actors.core import ConfigError
from aion_actors.store import EventStore, LmdbStore
from aion_actors.store.postgres import is_url

#: a URL's scheme (two letters at least: `C://` may be a Windows drive); only
#: PostgreSQL's are stores, and a path that looks like another would make an LMDB
#: directory named after it
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


class NodeOptions(TypedDict, total=False):
    """`Engine.open` options of a node on a Postgres store (see README "Running several
    replicas"); None, or left out, takes `[engine]`'s, else the default."""

    #: this engine's id among the nodes (generated when None)
    node_id: str | None
    #: seconds a lease lasts unrenewed (10)
    lease: float | None
    #: seconds between renewals (3, or a third of the lease if shorter)
    renew_every: float | None


def node_options(node: NodeOptions, open_: Callable[..., object]) -> NodeOptions:
    """`node`, the options `open_` (`Engine.open`) took as keywords beyond its own; a
    `TypeError` naming one it does not take, and every one it does (its signature's)."""
    if unknown := sorted(set(node) - set(NodeOptions.__annotations__)):
        own = [p for p in inspect.signature(open_).parameters if p not in ("path", "node")]
        raise TypeError(
            f"Engine.open() got an unknown option {', '.join(map(repr, unknown))}; it takes "
            f"{', '.join([*own, *NodeOptions.__annotations__])}"
        )
    return node


def check_options(**options: object) -> None:
    """Refuse nonsensical engine options before anything is created (None: the default),
    by the rule `aion.toml` and `check-config` apply (`ENGINE_KEYS`)."""
    for name, value in options.items():
        if value is None:
            continue
        key = ENGINE_KEYS[name]
        if value is False or not key.check(value):  # (False is the file's "never")
            wanted = key.allowed.replace("false for never", "None for never")
            raise ConfigError(f"Engine option {name}={value!r} is invalid: expected {wanted}")


def engine_options(settings: EngineConfig) -> dict[str, Any]:
    """The `Engine(...)` keyword arguments `settings` stand for, checked."""
    options = {
        "workers": settings.workers,
        "threads": settings.threads,
        "max_payload_bytes": settings.max_payload_bytes,
        "max_resident": settings.max_resident,
        "idle_evict_after": settings.idle_evict_after,
    }
    check_options(**options)
    return options


def data_dir_of(config: Config, given: str | os.PathLike[str] | None) -> Any:
    """The store `Engine.from_config` opens: the one given, else `[engine] store` (a
    `postgresql://` URL), else `[engine] data_dir`."""
    data_dir = given or config.engine.store or config.engine.data_dir
    if data_dir is None:
        raise ConfigError(
            f"{config.source}: [engine] data_dir is not set (nor [engine] store, a "
            "postgresql:// URL); set one in the file or pass data_dir= to Engine.from_config"
        )
    return data_dir


def open_store(path: str | os.PathLike[str], settings: EngineConfig) -> EventStore:
    """The store `path` names, created if needed, as `settings` configure it: a
    `postgresql://` URL is a `PostgresStore`, anything else an LMDB data directory."""
    if is_url(
        path
    ):  # each engine on a Postgres store is a node (README "Running several replicas")
        from aion_actors.store.postgres.nodestore import NodeSettings, NodeStore

        node = NodeSettings.of(settings.node_id, settings.lease, settings.renew_every)
        return NodeStore(str(path), node)
    if isinstance(path, str) and (scheme := _SCHEME.match(path)):
        raise ConfigError(
            f"Engine.open({path!r}): {scheme[0]!r} names no store this engine opens; give a "
            "postgresql:// URL for PostgreSQL, or a directory path for the embedded LMDB store"
        )
    options: dict[str, Any] = {"durability": settings.durability}
    check_options(map_size=settings.map_size)
    if settings.map_size is not None:
        options["map_size"] = settings.map_size
    return LmdbStore(Path(path).expanduser(), **options)  # ("~/data", as aion.toml's data_dir)
