"""The ``async`` client of ``throughput``: one asyncio task per run in flight, on one loop.

Each task starts a run with `AsyncEngine.start` (awaiting its commit) and
awaits its result; ``inflight`` tasks share one event loop and one thread,
where the ``threads`` client needs a thread per run in flight.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aion_actors.aio import AsyncEngine
from aion_actors.engine import Engine


def measure_async(engine: Engine, flow: Any, runs: int, inflight: int) -> tuple[float, list[float]]:
    """Keep `inflight` runs going from asyncio tasks until `runs` have completed;
    workflows/s and latencies (ms)."""

    async def main() -> tuple[float, list[float]]:
        async_engine = AsyncEngine(engine)
        latencies: list[float] = []
        todo = iter(range(runs))

        async def client() -> None:
            for value in todo:  # the tasks share one iterator: each value once
                started = time.perf_counter()
                handle = await async_engine.start(flow, value)
                await handle.result(timeout=600)
                latencies.append((time.perf_counter() - started) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(inflight)))
        elapsed = time.perf_counter() - began
        return runs / elapsed, latencies

    return asyncio.run(main())
