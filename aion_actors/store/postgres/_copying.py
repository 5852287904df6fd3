"""A Postgres store that `copy_store` is filling, and what a copy of one must not leave out.

The mark is the `meta` row `copy_started` (when the copy began, unix ns), written in a
transaction of its own before the copy's first run and deleted in its last, after every
run was written and checked: while it is there every open but the copy's own
(`PostgresStore(copying=True)`) raises `IncompleteCopy` (checked in `_schema.prepare`).

`pending_calls` counts the calls between nodes recorded and not yet applied by their
partition's owner (`_requests`): they are in no run yet, so a copy would lose them.
"""

from __future__ import annotations

from typing import Any, Final

from aion_actors.core import IncompleteCopy

KEY: Final = "copy_started"


def check(meta: dict[str, int], where: str, schema: str, *, copying: bool) -> None:
    """Refuse a store a copy is filling (its `meta` rows), unless the opener is that copy."""
    since = meta.get(KEY)
    if since is not None and not copying:
        raise IncompleteCopy(where, since, f"drop its schema (DROP SCHEMA {schema} CASCADE)")


def started(conn: Any, s: str) -> int | None:
    row = conn.execute(f"SELECT value FROM {s}.meta WHERE key = %s", (KEY,)).fetchone()
    return None if row is None else int(row[0])


def set_meta(conn: Any, s: str, key: str, value: int | None) -> None:
    """Set one `meta` row (the mark, the writability probe); None deletes it."""
    if value is None:
        conn.execute(f"DELETE FROM {s}.meta WHERE key = %s", (key,))
    else:
        conn.execute(
            f"""INSERT INTO {s}.meta VALUES (%s, %s)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value""",
            (key, value),
        )


def pending_calls(conn: Any, s: str) -> int:
    """Requests between nodes not yet applied (0 where no node ever made the table)."""
    if conn.execute("SELECT to_regclass(%s)", (f"{s}.requests",)).fetchone()[0] is None:
        return 0
    return int(conn.execute(f"SELECT count(*) FROM {s}.requests").fetchone()[0])
