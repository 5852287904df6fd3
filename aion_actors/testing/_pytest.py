"""The pytest plugin: `pytest -p aion_actors.testing` gives tests an `aion_engine`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aion_actors.testing.engine import TestEngine


@pytest.fixture
def aion_engine() -> Iterator[TestEngine]:
    """A fresh `TestEngine` (in memory, virtual clock, thread activities), closed after the
    test. Register workflows on it; fake activities with `aion_engine.fake(real, fn)`."""
    engine = TestEngine()
    try:
        yield engine
    finally:
        engine.close()
