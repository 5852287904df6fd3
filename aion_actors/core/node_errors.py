"""Errors of engines sharing one PostgreSQL store as nodes (see README "Running several
replicas"): a write refused because its partition moved, a call made on the wrong node."""

from __future__ import annotations

from aion_actors.core.errors import AionError


class OwnershipLost(AionError):
    """A write was refused because its partition is no longer this node's.

    Raised by the store, atomically with the write it refuses (nothing of
    that write is recorded). The engine drops the partition's runs at once;
    their new owner rebuilds them by replay. Never a workflow crash.
    """

    def __init__(
        self, partition: int, node_id: str, held_epoch: int | None, epoch: int, owner: str | None
    ) -> None:
        self.partition = partition
        self.node_id = node_id
        self.held_epoch = held_epoch
        self.epoch = epoch
        self.owner = owner
        held = "never held it" if held_epoch is None else f"held epoch {held_epoch}"
        now = f"node {owner!r} owns it" if owner else "no node owns it"
        super().__init__(
            f"node {node_id!r} lost partition {partition}: it {held}, the store is at epoch "
            f"{epoch} and {now}; nothing of this write was recorded — the partition's runs go "
            "on on their new owner"
        )


class NotOwner(AionError):
    """A call that changes a run, and that nodes do not forward to the owner (`pause`,
    `update`, signal-with-start, ...), was made on a node that does not own the run's
    partition. (`start`, `signal`, `cancel`, `terminate` and `resume` are forwarded.)"""

    def __init__(
        self, workflow_id: str, what: str, partition: int, node_id: str, owner: str | None
    ):
        self.workflow_id = workflow_id
        self.partition = partition
        self.node_id = node_id
        self.owner = owner
        where = f"node {owner!r} owns it" if owner else "no node owns it right now (it moves)"
        super().__init__(
            f"cannot {what} workflow {workflow_id!r} on node {node_id!r}: its partition "
            f"{partition} is not this node's — {where}; make the call on that node, or retry "
            'shortly (this call is not forwarded between nodes: see README "Calls from any '
            'node")'
        )
