"""The exception types the package raises on purpose."""

from __future__ import annotations

__all__ = ["DuplicateChild", "SupervisorError"]


class SupervisorError(Exception):
    """A supervisor call could not be done: unknown key, failed start, stopped supervisor.

    When a child failed to start, the child's own exception is the ``__cause__``.
    """


class DuplicateChild(SupervisorError):
    """The supervisor already has a child under this key (perhaps one that has just
    exited and whose exit it has yet to handle)."""
