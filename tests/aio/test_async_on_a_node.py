"""`AsyncEngine` on a node keeps `Engine`'s promise to a caller that gave up waiting: its
signal (or terminate) is "not lost ... do not send it again", and when its run's
partition leaves the node before it is recorded, it goes to the partition's owner
(`HandedOn`), which applies it once — here this same node, once it takes the partition
back. (Before: it said "may still be recorded", and such a request was dropped without
a word.)

Deterministic, with no outage: the run's append is held (a store that does not answer)
past the caller's timeout, and meanwhile the partition moves in the database (a new
epoch, as another node's claim after a lapsed lease makes it); the held write, once let
go, is refused whole by the fence, nothing of it recorded.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence

import pytest

from aion_actors import Engine
from aion_actors.aio import AsyncEngine
from aion_actors.core import AionError, Event
from aion_actors.core import events as ev
from aion_actors.store import AppendRequest
from aion_actors.store.postgres.nodestore import NodeSettings, NodeStore
from tests.nodes import flows
from tests.nodes.conftest import said_lost, until
from tests.nodes.test_calls_between_nodes import _requests_left
from tests.nodes.test_moved_calls import _move

pytestmark = pytest.mark.timeout(60)


class HeldNodeStore(NodeStore):
    """A node's store whose appends wait while `free` is clear."""

    def __init__(self, url: str) -> None:
        # a lease that outlives the test (renewed every 10 s): only the test moves it
        super().__init__(url, NodeSettings.of("solo", 30.0, 10.0))
        self.free = threading.Event()
        self.free.set()

    def append_batch(self, requests: Sequence[AppendRequest]) -> list[list[Event] | AionError]:
        self.free.wait(30)
        return super().append_batch(requests)


@pytest.mark.parametrize("verb", ["signal", "terminate", "signal, its await cancelled"])
def test_an_awaited_request_given_up_goes_to_the_partitions_owner_when_the_partition_moves(
    pg_url: str, verb: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aion_actors")
    store = HeldNodeStore(pg_url)

    async def main() -> list[Event]:
        engine = AsyncEngine(Engine(store, workers=1))
        try:
            await engine.register(*flows.ALL)
            await engine.start(flows.waiter, 1, workflow_id="kept")
            store.free.clear()  # from here no append is answered
            if verb.endswith("cancelled"):  # (a web client that disconnected, say)
                call = asyncio.ensure_future(engine.signal("kept", "item", "x", timeout=30))
                await asyncio.sleep(0.2)
                call.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await call
            else:
                with pytest.raises(TimeoutError) as late:
                    if verb == "signal":
                        await engine.signal("kept", "item", "x", timeout=0.2)
                    else:
                        await engine.terminate("kept", "enough", timeout=0.2)
                assert "it is not lost" in str(late.value), late.value
                assert str(late.value).endswith("do not send it again")
            _move(pg_url, "kept")  # the partition leaves this node
            store.free.set()  # the held write is refused: the request is handed on
            if verb.startswith("signal"):
                assert await engine.result("kept", timeout=30) == ["x"]
            else:  # (the run's end is in the store: its history, once applied)
                until(lambda: engine.engine.describe("kept").status.is_terminal, 30)
            until(lambda: _requests_left(engine.engine) == 0, 30)
            return await engine.history("kept")
        finally:
            store.free.set()
            await engine.aclose()

    history = asyncio.run(main())
    if verb.startswith("signal"):
        assert [e.payload for e in history if isinstance(e, ev.SignalReceived)] == ["x"]
    else:
        assert [e.kind for e in history].count("WorkflowTerminated") == 1
        assert isinstance(history[-1], ev.WorkflowTerminated)
    assert "goes to its partition's owner" in caplog.text  # handed on, written
    assert not said_lost(caplog)
