"""An engine on a fresh LMDB store per test, with the queue flows registered."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest

from aion_actors import Engine
from tests.queues import flows
from tests.workers.helpers import wait_until


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    threads_before = set(threading.enumerate())
    engine = Engine.open(tmp_path / "data", workers=1)
    engine.register(*flows.ALL)
    yield engine
    engine.close()
    assert pykka.ActorRegistry.get_all() == []
    wait_until(lambda: set(threading.enumerate()) <= threads_before, 10, "engine threads to end")
