"""`ThrowawayServer.stop()` deletes the cluster without first writing it to disk.

A `pg_ctl stop -m fast` writes a shutdown checkpoint: with fsync on, every dirty
page of every database, which took 10-20 s at the end of a test session, for
data deleted right after.
"""

from __future__ import annotations

import pytest

from aion_actors.testing.postgres import ThrowawayServer, find_binaries

pytestmark = pytest.mark.skipif(find_binaries() is None, reason="no PostgreSQL binaries")


def test_stop_deletes_the_cluster_without_a_shutdown_checkpoint() -> None:
    psycopg = pytest.importorskip("psycopg")
    server = ThrowawayServer.start()
    try:
        with psycopg.connect(server.create_database("dirty"), autocommit=True) as conn:
            conn.execute("CREATE TABLE t (n int)")
            conn.execute("INSERT INTO t SELECT generate_series(1, 10000)")
        log = (server.root / "server.log").open()  # still readable once deleted
    except BaseException:
        server.stop()
        raise
    with log:
        server.stop()
        written = log.read()

    assert not server.root.exists()
    assert "shutdown request" in written, written  # the log is the server's
    assert "checkpoint starting: shutdown" not in written, written
