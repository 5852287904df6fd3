"""The live dashboard: runs, a run's timeline, supervision and the engine, as an ASGI app.

`engine.dashboard_app()` serves a live engine (pids, residency, counters; a resume
button when the app passes `write_actions=True`); `aion-actors ui DIR|URL` serves a
store opened read-only beside a running engine. Needs the `web` extra (starlette,
jinja2, uvicorn).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from aion_actors.web.source import EngineSource, Source

if TYPE_CHECKING:
    from aion_actors.engine import Engine
    from aion_actors.store import EventStore

__all__ = ["DashboardOptions", "engine_dashboard", "store_dashboard"]


def _dashboard(
    source: Source,
    write_actions: bool,
    refresh_seconds: float,
    allowed_hosts: Sequence[str] | None,
) -> Any:
    try:
        from aion_actors.web.app import Dashboard
    except ImportError as exc:
        raise ImportError(
            f"the dashboard needs the web extra ({exc.name} is missing): "
            "pip install 'aion-actors[web]'"
        ) from exc
    return Dashboard(
        source,
        write_actions=write_actions,
        refresh_seconds=refresh_seconds,
        allowed_hosts=allowed_hosts,
    ).app


class DashboardOptions(TypedDict, total=False):
    """What `Engine.dashboard_app` takes (see README "The dashboard")."""

    #: a Resume button on parked runs (a POST carrying a token only these pages know)
    write_actions: bool
    #: seconds between the auto-refreshes of a page (5 by default)
    refresh_seconds: float
    #: the only `Host` names it answers (any other: 400); None (the default): any
    allowed_hosts: Sequence[str] | None


def engine_dashboard(engine: Engine, **options: Unpack[DashboardOptions]) -> Any:
    """The dashboard of a live engine, as an ASGI app (see `Engine.dashboard_app`)."""
    unknown = set(options) - set(DashboardOptions.__annotations__)
    if unknown:
        raise TypeError(f"unexpected dashboard option(s): {', '.join(sorted(unknown))}")
    return _dashboard(
        EngineSource(engine),
        options.get("write_actions", False),
        options.get("refresh_seconds", 5.0),
        options.get("allowed_hosts"),
    )


def store_dashboard(
    store: EventStore,
    label: str,
    *,
    refresh_seconds: float = 5.0,
    allowed_hosts: Sequence[str] | None = None,
) -> Any:
    """The read-only dashboard of a store (opened read-only beside its engine)."""
    return _dashboard(Source(store, label), False, refresh_seconds, allowed_hosts)
