"""The tables of a Postgres store, created and versioned by the store, and its partitions.

Everything lives in one Postgres schema (default `aion`):

- `meta (key, value)`: `schema_version` (this layout), `event_schema` (the
  msgpack event schema), `partitions` (fixed at creation);
- `events (workflow_id, run_id, seq, partition, data)`: one row per event,
  `data` the msgpack-encoded event, keyed by (workflow_id, run_id, seq);
- `runs (workflow_id, run_id, partition, workflow_type, status, started_at,
  head, summary, ended_at, parent_workflow_id, parent_run_id, freed_at)`: the
  run index (`summary` the msgpack summary, the other columns what queries
  filter on; times shifted as `fire_at` is). `freed_at` is set once a run is
  closed and its parent is not open: its retention counts from then (`_prune`,
  index `runs_expiry`);
- `search_terms (workflow_id, run_id, term)`: what `search` filters on besides
  the `runs` columns (attributes, parent), see `_search`; deleted with its run;
- `doomed (workflow_id, run_id, partition)`: runs being deleted (gone from
  `runs`, some events left), finished by the next writable open;
- `timers (workflow_id, run_id, timer_id, partition, fire_at)`: durable
  timers; `fire_at` (like `ended_at` and `freed_at`) is stored minus 2**63 so
  unix ns up to 2**64-1 fit a bigint in the same order;
- `partitions (partition, owner, epoch, expires_at)`: one row per partition,
  unowned until nodes lease them;
- `owner (host, pid, since)`: which engine holds the store's advisory lock.

`partition` is `crc32(workflow_id) % partitions`: stable across processes,
versions and machines.
"""

from __future__ import annotations

import zlib
from typing import Any, Final

from aion_actors.core import SCHEMA_VERSION, ConfigError, SchemaMismatch
from aion_actors.store import _projection as proj
from aion_actors.store.postgres import _copying
from aion_actors.store.postgres._connect import Target

#: the version of this table layout (not of the events inside); 2 added retention
#: (`runs.ended_at`, `parent_*`, `freed_at`, `doomed`) and search (`search_terms`, the
#: `runs_by_*start` indexes, `runs.started_at` shifted). A version-1 store was never
#: released, so it gets `SchemaMismatch` rather than a migration.
LAYOUT_VERSION: Final = 2
DEFAULT_PARTITIONS: Final = 64
#: the statuses of a run that may still record events, as SQL: `status IN {OPEN_SQL}`
OPEN_SQL: Final = "(" + ", ".join(f"'{status}'" for status in sorted(proj.OPEN)) + ")"
#: added to unix ns before they are stored as bigint, and taken off when read
TIME_SHIFT: Final = 1 << 63


def partition_of(workflow_id: str, partitions: int) -> int:
    return zlib.crc32(workflow_id.encode()) % partitions


def lock_key(schema: str) -> int:
    """The advisory lock key of a store schema (a signed 64-bit int)."""
    return int.from_bytes(zlib.crc32(b"aion-actors:" + schema.encode()).to_bytes(4, "big"), "big")


_ID = 'text COLLATE "C" NOT NULL'  # byte order, as every store lists runs


def ddl(s: str, partitions: int) -> list[str]:
    return [
        f"CREATE SCHEMA IF NOT EXISTS {s}",
        f"CREATE TABLE {s}.meta (key text PRIMARY KEY, value bigint NOT NULL)",
        f"""CREATE TABLE {s}.events (
            workflow_id {_ID}, run_id {_ID}, seq bigint NOT NULL,
            partition integer NOT NULL, data bytea NOT NULL,
            PRIMARY KEY (workflow_id, run_id, seq))""",
        f"""CREATE TABLE {s}.runs (
            workflow_id {_ID}, run_id {_ID}, partition integer NOT NULL,
            workflow_type {_ID}, status text NOT NULL, started_at bigint NOT NULL,
            head bigint NOT NULL, summary bytea NOT NULL, ended_at bigint,
            parent_workflow_id text COLLATE "C", parent_run_id text COLLATE "C",
            freed_at bigint, PRIMARY KEY (workflow_id, run_id)) WITH (fillfactor = 70)""",
        f"""CREATE INDEX runs_open ON {s}.runs (partition, workflow_id, run_id)
            WHERE status IN {OPEN_SQL}""",
        f"CREATE INDEX runs_by_type ON {s}.runs (workflow_type, workflow_id, run_id)",
        f"""CREATE INDEX runs_expiry ON {s}.runs (workflow_type, freed_at, workflow_id, run_id)
            WHERE freed_at IS NOT NULL""",
        f"""CREATE INDEX runs_waiting ON {s}.runs (parent_workflow_id, parent_run_id)
            WHERE ended_at IS NOT NULL AND freed_at IS NULL""",
        f"""CREATE TABLE {s}.doomed (
            workflow_id {_ID}, run_id {_ID}, partition integer NOT NULL,
            PRIMARY KEY (workflow_id, run_id))""",
        f"""CREATE TABLE {s}.timers (
            workflow_id {_ID}, run_id {_ID}, timer_id {_ID},
            partition integer NOT NULL, fire_at bigint NOT NULL,
            PRIMARY KEY (workflow_id, run_id, timer_id))""",
        f"CREATE INDEX timers_due ON {s}.timers (fire_at, workflow_id, run_id, timer_id)",
        # search (`_search`): runs in search order per filter, and the terms side table
        f"CREATE INDEX runs_by_start ON {s}.runs (started_at DESC, workflow_id, run_id)",
        f"""CREATE INDEX runs_by_status_start ON {s}.runs
            (status, started_at DESC, workflow_id, run_id)""",
        f"""CREATE INDEX runs_by_type_start ON {s}.runs
            (workflow_type, started_at DESC, workflow_id, run_id)""",
        f"""CREATE TABLE {s}.search_terms (
            workflow_id {_ID}, run_id {_ID}, term bytea NOT NULL,
            PRIMARY KEY (workflow_id, run_id, term),
            FOREIGN KEY (workflow_id, run_id) REFERENCES {s}.runs ON DELETE CASCADE)""",
        f"CREATE INDEX search_terms_by_term ON {s}.search_terms (term, workflow_id, run_id)",
        f"""CREATE TABLE {s}.partitions (
            partition integer PRIMARY KEY, owner text, epoch bigint NOT NULL DEFAULT 0,
            expires_at bigint)""",
        f"INSERT INTO {s}.partitions (partition) SELECT generate_series(0, {partitions - 1})",
        f"""CREATE TABLE {s}.owner (
            id integer PRIMARY KEY CHECK (id = 1), host text NOT NULL, pid integer NOT NULL,
            since bigint NOT NULL)""",
        f"""INSERT INTO {s}.meta VALUES ('schema_version', {LAYOUT_VERSION}),
            ('event_schema', {SCHEMA_VERSION}), ('partitions', {partitions})""",
    ]


def prepare(conn: Any, target: Target, create: bool, partitions: int, copying: bool = False) -> int:
    """Create the schema if it is missing (and `create`), check its version; returns the
    number of partitions. A mismatch is `SchemaMismatch`, with nothing touched; a store a
    copy is filling is `IncompleteCopy` unless `copying` (see `_copying`)."""
    s = target.schema
    with conn.transaction():
        # two processes creating one store at once: the second waits, then finds it made
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(s) + 1,))
        exists = conn.execute("SELECT to_regclass(%s)", (f"{s}.meta",)).fetchone()[0]
        if exists is None:
            if not create:
                raise ConfigError(
                    f"{target.where} holds no aion-actors store (schema {s} has no meta table); "
                    "open it writable once to create one, or check the URL and schema"
                )
            for statement in ddl(s, partitions):
                conn.execute(statement)
            return partitions
        meta = dict(conn.execute(f"SELECT key, value FROM {s}.meta").fetchall())
    found = meta.get("schema_version")
    if found != LAYOUT_VERSION:
        raise SchemaMismatch(target.where, int(found or 0), LAYOUT_VERSION)
    _copying.check(meta, target.where, s, copying=copying)
    return int(meta["partitions"])
