"""The event kinds of a run's history, named as they are on disk.

Every event is a frozen dataclass built with keyword arguments. `seq` and
`recorded_at` (unix ns) are stamped when the event is appended; a freshly
built event carries 0 for both. Payload fields (`input`, `result`,
`payload`) hold msgpack values; errors are `{type, message, traceback?}` maps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

ErrorInfo = dict[str, Any]


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    """Base of every event: its place in the run's history and when it was recorded."""

    seq: int = 0
    recorded_at: int = 0

    #: lifecycle events decide the projected status; supervision ones may too.
    lifecycle: ClassVar[bool] = False

    @property
    def kind(self) -> str:
        return type(self).__name__


def error_info(exc: BaseException, *, traceback: str | None = None) -> ErrorInfo:
    """The on-disk form of an exception: its class name and message, never a pickle."""
    info: ErrorInfo = {"type": type(exc).__name__, "message": exception_message(exc)}
    if traceback:
        info["traceback"] = traceback
    return info


def exception_message(exc: BaseException) -> str:
    """`str(exc)`, or, when that raises, what it raised: `<str() raised RuntimeError: boom>`.

    The message is user code (`__str__`, or the `repr` of its arguments) run to record a
    failure; what it raises belongs to the exception being described, so it is caught
    whatever it is: escaping, it would kill the executor thread or worker process that
    reports the failure, and the attempt would never be recorded.
    """
    try:
        return str(exc)
    except BaseException as broken:
        try:
            return f"<str() raised {type(broken).__name__}: {broken}>"
        except BaseException:  # its own message is broken too: its type says enough
            return f"<str() raised {type(broken).__name__}>"
