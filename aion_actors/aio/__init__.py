"""The engine from asyncio: `AsyncEngine` and its `AsyncRunHandle` (README "From asyncio
and FastAPI")."""

from aion_actors.aio.engine import AsyncEngine
from aion_actors.aio.handle import AsyncRunHandle

__all__ = ["AsyncEngine", "AsyncRunHandle"]
