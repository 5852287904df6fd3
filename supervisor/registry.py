"""`Registry`: a thread-safe table of `Handle`s keyed by any hashable key.

It is a cache (a host rebuilds it from its store), so it fails loudly rather than
limping: if anything fails while the lock is held, the table is left as it was
(every operation computes its change before applying it in one dict operation), the
registry marks itself *poisoned*, and this and every later call raise `RegistryError`
— never a bare exception — until the host builds a new one. A key that cannot be
hashed, or a handle filed under a different key, is refused before the lock is taken
and poisons nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from supervisor.errors import RegistryError
from supervisor.handle import Handle, Residency

__all__ = ["Registry"]

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


class Registry(Generic[K]):
    """Handles by key. Every method returns ``None`` for an unknown key."""

    __slots__ = ("_handles", "_lock", "_poisoned")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handles: dict[K, Handle[K]] = {}
        self._poisoned: BaseException | None = None

    def insert(self, key: K, handle: Handle[K]) -> Handle[K] | None:
        """Register ``handle`` under ``key``; return the handle it replaced, if any."""
        _check_key(key, "insert")
        try:
            same = handle.key == key
        except Exception as exc:
            raise RegistryError(f"Registry.insert: cannot compare keys {key!r}: {exc!r}") from exc
        if not same:
            raise RegistryError(
                f"Registry.insert: handle.key {handle.key!r} differs from key {key!r}"
            )

        def op(handles: dict[K, Handle[K]]) -> Handle[K] | None:
            previous = handles.get(key)
            handles[key] = handle
            return previous

        return self._locked("insert", key, op)

    def get(self, key: K) -> Handle[K] | None:
        """Without the lock: one dict lookup is atomic and handles are immutable, and
        every message to a run looks its handle up."""
        if self._poisoned is None:
            try:
                return self._handles.get(key)
            except Exception:  # the locked path below says what failed
                pass
        _check_key(key, "get")
        return self._locked("get", key, lambda handles: handles.get(key))

    def remove(self, key: K) -> Handle[K] | None:
        """Remove ``key`` only; return its handle."""
        _check_key(key, "remove")
        return self._locked("remove", key, lambda handles: handles.pop(key, None))

    def list(self) -> list[Handle[K]]:
        """A snapshot taken under the lock; later changes never show in it."""
        return self._locked("list", None, lambda handles: list(handles.values()))

    def update(self, key: K, change: Callable[[Handle[K]], Handle[K]]) -> Handle[K] | None:
        """Replace ``key``'s handle with ``change(handle)`` atomically; return the result.

        Read-modify-write through `get` and `insert` can overwrite a change another
        thread made in between; ``change`` runs under the lock, so it cannot.
        ``change`` must be quick and must not call back into the registry.
        """
        _check_key(key, "update")
        return self._locked("update", key, _updater(key, change))

    def replace_residency(self, key: K, residency: Residency) -> Handle[K] | None:
        """Set ``key``'s residency, touching nothing else; return the updated handle."""
        _check_key(key, "replace_residency")
        residency = Residency(residency)
        return self._locked(
            "replace_residency", key, _updater(key, lambda h: h.replace(residency=residency))
        )

    def reconcile(self, key: K, projected_status: str) -> Handle[K] | None:
        """Overwrite ``key``'s cached status with the projected one (the projection
        always wins); residency is untouched. Return the updated handle."""
        _check_key(key, "reconcile")
        return self._locked(
            "reconcile", key, _updater(key, lambda h: h.replace(status=projected_status))
        )

    def __len__(self) -> int:
        return self._locked("len", None, len)

    def _locked(self, op: str, key: object, fn: Callable[[dict[K, Handle[K]]], R]) -> R:
        with self._lock:
            if self._poisoned is not None:
                raise RegistryError(
                    f"Registry.{op}: the registry is unusable since an earlier failure "
                    f"({self._poisoned!r}); build a new one from the store"
                ) from self._poisoned
            try:
                return fn(self._handles)
            except Exception as exc:
                self._poisoned = exc
                raise RegistryError(
                    f"Registry.{op} failed for key {key!r}: {exc!r}; the registry is now "
                    "unusable, build a new one from the store"
                ) from exc
            except BaseException as exc:
                self._poisoned = exc
                raise


def _check_key(key: object, op: str) -> None:
    try:
        hash(key)
    except Exception as exc:
        raise RegistryError(f"Registry.{op}: key {key!r} is not hashable: {exc!r}") from exc


def _updater(
    key: K, change: Callable[[Handle[K]], Handle[K]]
) -> Callable[[dict[K, Handle[K]]], Handle[K] | None]:
    def op(handles: dict[K, Handle[K]]) -> Handle[K] | None:
        handle = handles.get(key)
        if handle is None:
            return None
        updated = change(handle)
        handles[key] = updated
        return updated

    return op
