from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.telemetry.capture import Capture

_capture: list[Capture] = []


@pytest.fixture
def otel() -> Iterator[Capture]:
    """The process's SDK (set up by the first test that asks), capturing for this test."""
    if not _capture:
        _capture.append(Capture())
    capture = _capture[0]
    capture.begin()
    yield capture
    capture.end()
