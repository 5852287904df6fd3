"""The live dashboard: runs, a run's timeline, supervision and the engine, as an ASGI app.

`engine.dashboard_app()` serves a live engine (pids, residency, counters; a resume
button when the app passes `write_actions=True`); `aion-actors ui DIR|URL` serves a
store opened read-only beside a running engine. Needs the `web` extra (starlette,
jinja2, uvicorn).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aion_actors.web.source import EngineSource, Source

if TYPE_CHECKING:
    from aion_actors.engine import Engine
    from aion_actors.store import EventStore

__all__ = ["engine_dashboard", "store_dashboard"]


def _dashboard(source: Source, write_actions: bool, refresh_seconds: float) -> Any:
    try:
        from aion_actors.web.app import Dashboard
    except ImportError as exc:
        raise ImportError(
            f"the dashboard needs the web extra ({exc.name} is missing): "
            "pip install 'aion-actors[web]'"
        ) from exc
    return Dashboard(source, write_actions=write_actions, refresh_seconds=refresh_seconds).app


def engine_dashboard(
    engine: Engine, *, write_actions: bool = False, refresh_seconds: float = 5.0
) -> Any:
    """The dashboard of a live engine, as an ASGI app (see `Engine.dashboard_app`)."""
    return _dashboard(EngineSource(engine), write_actions, refresh_seconds)


def store_dashboard(store: EventStore, label: str, *, refresh_seconds: float = 5.0) -> Any:
    """The read-only dashboard of a store (opened read-only beside its engine)."""
    return _dashboard(Source(store, label), False, refresh_seconds)
