"""An engine per test on a fresh data directory, with the bad-input flows registered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import Engine
from tests.reliability import flows


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        yield engine
