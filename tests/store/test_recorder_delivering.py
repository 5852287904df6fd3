"""`Recorder(delivering=...)`: one commit's callbacks are called inside one window (the
engine's `Dispatcher.batch`, so the runs they tell are woken for together, once)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import pytest

from aion_actors.core import Event
from aion_actors.store import EventStore, Recorder
from aion_actors.store.recorder import Then
from tests.store.helpers import started

pytestmark = pytest.mark.timeout(60)


def test_a_commits_callbacks_are_all_called_inside_one_delivering_window(
    store: EventStore,
) -> None:
    windows: list[list[str]] = []
    inside = threading.local()

    @contextlib.contextmanager
    def delivering() -> Iterator[None]:
        windows.append([])
        inside.open = True
        try:
            yield
        finally:
            inside.open = False

    with Recorder(store, delivering=delivering) as recorder:
        called: list[tuple[str, bool]] = []

        def then(run: str) -> Then:
            def call(events: list[Event] | None, error: BaseException | None) -> None:
                called.append((run, getattr(inside, "open", False)))
                windows[-1].append(run)

            return call

        commits = [recorder.append_then("w", run, [started()], 0, then(run)) for run in "abc"]
        for commit in commits:
            commit.wait(10)
        assert sorted(called) == [("a", True), ("b", True), ("c", True)]
        assert sorted(run for window in windows for run in window) == ["a", "b", "c"]
        assert len(windows) <= 3  # (each commit its window; together when they share one)
