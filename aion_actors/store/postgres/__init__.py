"""`PostgresStore`: the `EventStore` in PostgreSQL, chosen by a `postgresql://` URL.

psycopg 3 and psycopg_pool are an optional extra (`pip install
'aion-actors[postgres]'`); importing this package does not need them, opening
a store does.
"""

from aion_actors.store.postgres._connect import is_url
from aion_actors.store.postgres._schema import DEFAULT_PARTITIONS, LAYOUT_VERSION, partition_of
from aion_actors.store.postgres.store import PostgresStore

__all__ = ["DEFAULT_PARTITIONS", "LAYOUT_VERSION", "PostgresStore", "is_url", "partition_of"]
