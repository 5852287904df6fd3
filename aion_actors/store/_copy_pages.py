"""How a copy reads its two ends: a page at a time, never a whole store.

Both stores list runs in (workflow_id, run_id) order and timers in (workflow_id, run_id,
timer_id) order from after a cursor (`runs_after`, `timers_after`: byte order, an index
range in each). A copy walks the source and the destination side by side in that order
(`joined`), a page of each in memory, and works on what it finds a page at a time
(`chunked`): resuming, copying and checking hold at most a page of summaries or timers
of each end, whatever the size of the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Final, TypeVar

from aion_actors.store.protocol import DueTimer, RunSummary

if TYPE_CHECKING:
    from aion_actors.store._copy_ends import Copyable

#: runs (or timers) a copy reads in one go, by default
DEFAULT_PAGE: Final = 1000
Key = tuple[str, str]
TimerKey = tuple[str, str, str]
_T = TypeVar("_T")
_K = TypeVar("_K", Key, TimerKey)


def ids(run: RunSummary) -> Key:
    return (run.workflow_id, run.run_id)


def timer_ids(timer: DueTimer) -> TimerKey:
    return (timer.workflow_id, timer.run_id, timer.timer_id)


def runs_of(store: Copyable, size: int) -> Iterator[RunSummary]:
    """Every run of `store` in id order, read `size` at a time."""
    after: Key | None = None
    while page := store.runs_after(after, size):
        yield from page
        after = ids(page[-1])


def timers_of(store: Copyable, size: int) -> Iterator[DueTimer]:
    """Every timer of `store` in id order, read `size` at a time."""
    after: TimerKey | None = None
    while page := store.timers_after(after, size):
        yield from page
        after = timer_ids(page[-1])


def joined(
    left: Iterator[_T], right: Iterator[_T], key: Callable[[_T], _K]
) -> Iterator[tuple[_K, _T | None, _T | None]]:
    """Two streams in `key` order side by side: each key with its item of each (None
    where that stream lacks it)."""
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        ka = key(a) if a is not None else None
        kb = key(b) if b is not None else None
        if kb is None or (ka is not None and ka < kb):
            assert ka is not None
            yield ka, a, None
            a = next(left, None)
        elif ka is None or kb < ka:
            yield kb, None, b
            b = next(right, None)
        else:
            yield ka, a, b
            a, b = next(left, None), next(right, None)


def chunked(items: Iterator[_T], size: int) -> Iterator[list[_T]]:
    """`items` in lists of `size` (the last shorter)."""
    while chunk := list(islice(items, size)):
        yield chunk
