"""The two exception types the package raises on purpose."""

from __future__ import annotations

__all__ = ["RegistryError", "SupervisorError"]


class SupervisorError(Exception):
    """A supervisor call could not be done: unknown key, failed start, stopped supervisor.

    When a child failed to start, the child's own exception is the ``__cause__``.
    """


class RegistryError(Exception):
    """A `Registry` call failed, or the registry was left unusable by an earlier failure."""
