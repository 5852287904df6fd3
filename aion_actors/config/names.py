"""Config tables that name no registered workflow type or activity (`Config.unknown_names`).

A typo in a table name (`[restart.chekout]`) parses fine, so nothing else
would say that its settings apply to nothing.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Final

_SHOWN: Final = 10


def unknown_tables(
    source: str, prefix: str, kind: str, tables: Iterable[str], registered: Iterable[str]
) -> list[str]:
    """One message per name in `tables` that is not in `registered`, in `tables` order.

    `prefix` is the table's prefix (`restart`, `activity`) and `kind` what a
    name should be (`workflow type`, `activity`); each message names the
    file, the table, the closest registered name and the registered names.
    """
    known = sorted(set(registered))
    return [
        f"{source}: [{prefix}.{name}] names no registered {kind}; "
        f"{_suggestion(name, known)}{_listing(kind, known)}"
        for name in tables
        if name not in known
    ]


def closest(name: str, known: Iterable[str]) -> str | None:
    """The name in `known` most like `name` (a typo's likely intent), if one is close."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def _suggestion(name: str, known: list[str]) -> str:
    close = closest(name, known)
    return f"did you mean [{close}]? " if close else ""


def _listing(kind: str, known: list[str]) -> str:
    if not known:
        return f"no {kind} is registered"
    shown = ", ".join(known[:_SHOWN])
    more = f" and {len(known) - _SHOWN} more" if len(known) > _SHOWN else ""
    return f"registered: {shown}{more}"
