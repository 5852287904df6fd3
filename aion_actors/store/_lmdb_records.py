"""How run index entries and timer keys read back from LMDB, damage included."""

from __future__ import annotations

from typing import Any

from aion_actors.core import CorruptEvent, unpackb
from aion_actors.store.protocol import DueTimer


def unpack_summary(data: bytes, workflow_id: str, run_id: str) -> dict[str, Any]:
    """A stored run index entry; anything but a msgpack map is a `CorruptEvent`."""
    try:
        record = unpackb(data)
    except Exception as exc:
        record = exc
    if not isinstance(record, dict):
        raise CorruptEvent(
            f"run index entry is not a msgpack map ({record!r:.80})",
            workflow_id=workflow_id,
            run_id=run_id,
        )
    return record


def head_of(record: dict[str, Any]) -> int:
    head = record.get("head")
    if not isinstance(head, int):
        raise CorruptEvent(
            f"run index entry has no head ({head!r})",
            workflow_id=record.get("workflow_id"),
            run_id=record.get("run_id"),
        )
    return head


def due_timer(key: bytes, fire_at: int) -> DueTimer:
    """The timer a `timers` key names: 8 bytes of fire_at, then its ids joined by NUL."""
    workflow_id, run_id, timer_id = key[8:].decode().split("\0", 2)
    return DueTimer(workflow_id, run_id, timer_id, fire_at)
