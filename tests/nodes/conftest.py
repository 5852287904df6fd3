"""Two nodes on one throwaway PostgreSQL, each holding half the partitions."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from aion_actors import Engine
from tests.nodes import flows
from tests.workers.helpers import wait_until

#: short leases, quick renewals: partitions settle within a second
OPTS = {"workers": 1, "lease": 2.0, "renew_every": 0.3}


def until(check: Callable[[], object], timeout: float = 30.0) -> None:
    """Wait until `check()` is true (a test's wait: the suite's `wait_until`)."""
    wait_until(lambda: bool(check()), timeout)


def said_lost(caplog: pytest.LogCaptureFixture) -> bool:
    """Whether the engine logged a request as lost (its own message, not a traceback's
    source line that happens to hold the words)."""
    return any("was lost" in record.getMessage() for record in caplog.records)


@pytest.fixture
def pair(pg_url: str) -> Iterator[tuple[Engine, Engine]]:
    with (
        Engine.open(pg_url, node_id="a", **OPTS) as a,  # type: ignore[arg-type]
        Engine.open(pg_url, node_id="b", **OPTS) as b,  # type: ignore[arg-type]
    ):
        halves = lambda: a.stats()["partitions"] == b.stats()["partitions"] == 32  # noqa: E731
        wait_until(halves, 30, "two nodes holding 32 partitions each")
        a.register(*flows.ALL)
        b.register(*flows.ALL)
        yield a, b
