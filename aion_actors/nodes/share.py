"""How many partitions each live node should own: an even split, the remainder going to
the first nodes by id, so every node computes the same shares without talking."""

from __future__ import annotations

from collections.abc import Iterable


def fair_share(node_id: str, live: Iterable[str], partitions: int) -> int:
    """`node_id`'s share of `partitions` among `live` nodes (itself counted live)."""
    nodes = sorted({*live, node_id})
    base, extra = divmod(partitions, len(nodes))
    return base + (1 if nodes.index(node_id) < extra else 0)


def to_claim(owned: int, share: int, free: list[int]) -> list[int]:
    """Which free (or expired) partitions to try to take: up to the share, lowest first."""
    return sorted(free)[: max(0, share - owned)]


def to_release(held: Iterable[int], share: int) -> list[int]:
    """Which held partitions to give away beyond the share: the highest."""
    ordered = sorted(held)
    return ordered[share:] if len(ordered) > share else []
