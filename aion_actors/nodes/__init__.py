"""Several engines on one PostgreSQL store, each a node owning partitions under leases.

See README "Running several replicas". `Node` is the engine part that takes
and keeps its share of partitions, recovers the runs of each partition it
takes and drops those of each one it loses or gives away.
"""

from aion_actors.nodes.node import Node
from aion_actors.nodes.share import fair_share

__all__ = ["Node", "fair_share"]
