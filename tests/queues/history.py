"""Reading a queue's behaviour back from the runs' histories."""

from __future__ import annotations

from aion_actors import Engine
from aion_actors.core import events as ev


def started_at(engine: Engine, workflow_id: str) -> int | None:
    """When the run's code was let run (its `RunDequeued`), None if never."""
    return next(
        (e.recorded_at for e in engine.history(workflow_id) if isinstance(e, ev.RunDequeued)),
        None,
    )


def start_order(engine: Engine, workflow_ids: list[str]) -> list[str]:
    """The runs that started, in the order they were given their slots."""
    started = [(started_at(engine, w), w) for w in workflow_ids]
    return [w for at, w in sorted((at, w) for at, w in started if at is not None)]


def interval(events: list[ev.Event]) -> tuple[int, int] | None:
    """[dequeued, closed] of one run's history (None if it never started)."""
    start = next((e.recorded_at for e in events if isinstance(e, ev.RunDequeued)), None)
    if start is None:
        return None
    end = next(e.recorded_at for e in events if isinstance(e, ev.ENDINGS))
    return start, end


def most_at_once(intervals: list[tuple[int, int]]) -> int:
    """The largest number of intervals that overlap at one instant."""
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    most = now = 0
    for _, step in points:  # at one instant, an end (-1) sorts before a start
        now += step
        most = max(most, now)
    return most


def most_in_window(times: list[int], window_ns: int) -> int:
    """The most of `times` (unix ns) that lie in one half-open window `[a, a + window_ns)`."""
    times = sorted(times)
    most = start = 0
    for end, at in enumerate(times):
        while at - times[start] >= window_ns:
            start += 1
        most = max(most, end - start + 1)
    return most
