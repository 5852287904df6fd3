"""An engine on a fresh store per test, checked for leaks when it closes.

The store is an LMDB directory; a test module that sets `ON_POSTGRES = True`
runs each test that takes `data_dir` (or `engine`) on Postgres too, `data_dir`
then being the URL of a fresh database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pykka
import pytest

from aion_actors import Engine
from tests.runtime import flows, ops_flows
from tests.workers.helpers import wait_until


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "data_dir" in metafunc.fixturenames and getattr(metafunc.module, "ON_POSTGRES", False):
        metafunc.parametrize("store_kind", ["lmdb", "postgres"])


@pytest.fixture
def store_kind() -> str:
    return "lmdb"


@pytest.fixture
def data_dir(tmp_path: Path, store_kind: str, request: pytest.FixtureRequest) -> Any:
    """A data directory (a Path), or a Postgres URL (a str): `Engine.open` takes either."""
    if store_kind == "postgres":
        return request.getfixturevalue("pg_url")
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
