"""An engine on a fresh LMDB directory per test, checked for leaks when it closes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest

from aion_actors import Engine
from tests.runtime import flows, ops_flows
from tests.workers.helpers import wait_until


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    threads_before = set(threading.enumerate())
    flows.FAULTS["crashes"] = 0
    engine = Engine.open(data_dir, workers=2)
    engine.register(*flows.ALL)
    yield engine
    engine.close()
    assert pykka.ActorRegistry.get_all() == []
    wait_until(lambda: set(threading.enumerate()) <= threads_before, 10, "engine threads to end")


@pytest.fixture
def ops(data_dir: Path) -> Iterator[Engine]:
    """An engine with the pause and reset flows (`ops_flows`) registered, its gate closed."""
    ops_flows.GATE.clear()
    engine = Engine.open(data_dir, workers=1)
    engine.register(*ops_flows.ALL)
    yield engine
    ops_flows.GATE.set()
    engine.close()
