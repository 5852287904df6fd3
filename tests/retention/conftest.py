"""An engine per test whose pruner reports each deleted run, and waiting for those reports."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import Engine
from aion_actors.store import RunSummary
from tests.retention import flows

WAIT = 30.0


class Pruned:
    """The runs an engine's pruner deleted, in order, and a wait for one of them."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.ids: list[str] = []

    def __call__(self, run: RunSummary) -> None:
        with self._cond:
            self.ids.append(run.workflow_id)
            self._cond.notify_all()

    def wait_for(self, *workflow_ids: str) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: set(workflow_ids) <= set(self.ids), WAIT):
                raise AssertionError(f"{workflow_ids} not pruned within {WAIT} s: {self.ids}")


def watch(engine: Engine) -> Pruned:
    pruned = Pruned()
    engine._pruner.when_pruned(pruned)  # noqa: SLF001 - the test's hook on the pruner thread
    return pruned


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(*flows.ALL)
        yield engine
