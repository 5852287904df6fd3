"""Where each accepted update goes: to its handler, at its place in history.

`engine.update` asks the live run's validator first (read-only, like a query);
only an update it accepts is recorded, as `UpdateAccepted`. The machine then
hands it to its handler between the coroutine's steps, in history's order,
exactly where signal handlers run — so a replay re-runs accepted updates at
the same places and rebuilds the same state. The handler's answer is recorded
once as `UpdateCompleted`; a replay that finds it recorded records nothing.
An async handler's coroutine is handed to the machine, which drives it beside
the workflow's (`tasks.py`) and calls `finish` when it returns or raises.

An update runs only once its `UpdateAccepted` is committed (`committed`): the
coroutine does not step past an update still in flight to the store, so a
live run and its replay handle it at the same place, and a crash after the
acceptance leaves the update to run on replay, answered exactly once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from aion_actors.core import (
    PayloadConverter,
    PayloadError,
    UpdateRejected,
    check_payload,
    faults,
    unpackb,
)
from aion_actors.core import events as ev
from aion_actors.core import payloads as conv
from aion_actors.runtime.recorded import Outcomes

#: the error an async handler still awaiting when its run closes is answered with
ENDED_FIRST = "the workflow ended first: its update handler was still awaiting and never finished"


@dataclass(frozen=True)
class UpdateHandler:
    handler: Callable[[Any], Any]
    validator: Callable[[Any], object] | None


class UpdateRouter:
    """One run's update handlers, and how far its accepted updates have run."""

    def __init__(
        self,
        outcomes: Outcomes,
        whose: str,
        committed_to: int,
        converter: PayloadConverter | None,
        max_payload_bytes: int,
    ) -> None:
        self._outcomes = outcomes
        self._whose = whose
        self._handlers: dict[str, UpdateHandler] = {}
        #: index into `outcomes.updates` of the next update to run
        self._next = 0
        #: the last seq known committed: updates past it wait
        self.committed_to = committed_to
        self._converter = converter
        self._max_payload_bytes = max_payload_bytes

    def set_handler(
        self,
        name: str,
        handler: Callable[[Any], Any] | None,
        validator: Callable[[Any], object] | None,
    ) -> None:
        """Set (or with None remove) the handler of update `name`."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"ctx.on_update takes an update name, got {name!r}")
        if handler is None:
            self._handlers.pop(name, None)
            return
        if not callable(handler):
            raise TypeError(
                f"ctx.on_update({name!r}, ...) of workflow {self._whose!r} takes a function "
                f"or an async function as its handler (got {handler!r})"
            )
        if validator is not None and (
            not callable(validator) or inspect.iscoroutinefunction(validator)
        ):
            raise TypeError(
                f"ctx.on_update({name!r}, ...) of workflow {self._whose!r} takes a plain "
                f"function as its validator (got {validator!r}); a validator only reads "
                "state and raises to reject — it cannot await"
            )
        self._handlers[name] = UpdateHandler(handler, validator)

    def validate(self, name: str, payload: Any) -> None:
        """Raise `UpdateRejected` if update `name` must not be accepted now."""
        found = self._handlers.get(name)
        if found is None:
            known = ", ".join(sorted(self._handlers)) or "none registered yet"
            raise UpdateRejected(
                f"workflow {self._whose!r} has no update {name!r} (known updates: {known}); "
                "nothing was recorded"
            )
        if found.validator is None:
            return
        try:
            found.validator(payload)
        except Exception as exc:
            raise UpdateRejected(
                f"update {name!r} of workflow {self._whose!r} was rejected by its validator: "
                f"{type(exc).__name__}: {exc}; nothing was recorded"
            ) from exc

    def answer(self, update_id: str) -> ev.UpdateCompleted | None:
        """The recorded (or queued) answer of update `update_id`, if any."""
        return self._outcomes.update_results.get(update_id)

    def accepted(self, update_id: str) -> bool:
        return any(u.update_id == update_id for u in self._outcomes.updates)

    def due(self, before: int) -> ev.UpdateAccepted | None:
        """The next accepted update to run, if history places it before `before`."""
        updates = self._outcomes.updates
        if self._next < len(updates) and updates[self._next].seq < before:
            return updates[self._next]
        return None

    def run(
        self, accepted: ev.UpdateAccepted, out: list[ev.Event]
    ) -> bool | Coroutine[Any, Any, Any]:
        """Run `accepted`'s handler and record its answer unless history has it;
        False (nothing done) while its acceptance is not yet committed. An async
        handler's coroutine is returned unstarted: the machine drives it, then `finish`."""
        if accepted.seq > self.committed_to:
            return False
        self._next += 1
        found = self._handlers.get(accepted.name)
        if found is None:  # the code changed since it was accepted
            error = UpdateRejected(f"workflow {self._whose!r} has no update {accepted.name!r}")
            self.finish(accepted, out, error=error)
            return True
        try:
            result = found.handler(accepted.payload)
        except Exception as exc:
            self.finish(accepted, out, error=exc)
            return True
        if inspect.iscoroutine(result):
            return result
        self.finish(accepted, out, result=result)
        return True

    def finish(
        self,
        accepted: ev.UpdateAccepted,
        out: list[ev.Event],
        *,
        result: Any = None,
        error: BaseException | None = None,
    ) -> None:
        """Record the handler's answer to `accepted`, unless history has it already."""
        if accepted.update_id in self._outcomes.update_results:
            return  # a replay: answered once, already
        if faults.ARMED:
            faults.hit("update.accepted")
        out.append(self._answer(accepted.update_id, result, error))

    def _answer(self, update_id: str, result: Any, error: BaseException | None) -> ev.Event:
        if error is None:
            try:
                result = conv.encode(self._converter, result, "update result")
                encoded = check_payload(result, "update result", max_bytes=self._max_payload_bytes)
            except (Exception, PayloadError) as exc:
                error = exc
            else:
                return ev.UpdateCompleted(update_id=update_id, result=unpackb(encoded))
        return ev.UpdateCompleted(update_id=update_id, error=ev.error_info(error))
