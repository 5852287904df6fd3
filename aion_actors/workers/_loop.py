"""`LoopThread`: one asyncio event loop on a daemon thread, shared by many coroutines.

The thread executor runs every `async def` activity on one of these, so a
thousand attempts waiting on the network hold no thread each. Coroutines are
handed over with `spawn` from any thread; the `concurrent.futures.Future` it
returns cancels the coroutine (`Future.cancel`) from any thread too.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any

log = logging.getLogger("aion_actors.workers")

#: seconds `close` waits for cancelled coroutines to unwind
_CLOSE_GRACE = 1.0


class LoopThread:
    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._closing = False
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._started.wait()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> Future[None]:
        """Run `coroutine` on the loop; the future cancels it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def is_current(self) -> bool:
        """Whether the caller runs on this loop's thread."""
        return threading.current_thread() is self._thread

    def close(self, *, join: bool = True) -> None:
        """Cancel what still runs, stop the loop; wait for its thread unless `join` is False
        (a call from the loop's own thread). Safe to call twice."""
        if self.loop.is_closed():
            return
        self._closing = True
        try:
            self.loop.call_soon_threadsafe(self.loop.stop)
        except RuntimeError:  # closed meanwhile
            return
        if join and threading.current_thread() is not self._thread:
            self._thread.join(_CLOSE_GRACE * 2)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._started.set)
        try:
            self._serve()
            left = asyncio.all_tasks(self.loop)
            for task in left:
                task.cancel()
            if left:
                ending = asyncio.wait(left, timeout=_CLOSE_GRACE)
                self.loop.run_until_complete(ending)
        except Exception:
            log.exception("the activity event loop failed")
        finally:
            self.loop.close()

    def _serve(self) -> None:
        """Run the loop until `close` stops it.

        asyncio lets a SystemExit or KeyboardInterrupt raised in a task (one an activity
        started or gathered) out of `run_forever`, having stored it as that task's outcome,
        so whoever awaits the task still gets it. On this thread they cannot mean "stop
        the service", and the loop is every async activity's: it serves on.
        """
        while True:
            try:
                self.loop.run_forever()
                return
            except (SystemExit, KeyboardInterrupt) as exc:
                log.warning(
                    "an async activity's task raised %s; the loop serves on", type(exc).__name__
                )
                if self._closing:  # a stop asked meanwhile may have been lost with it
                    return
