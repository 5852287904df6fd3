"""What only the Postgres store has: its schema, its lock, its errors, its partitions."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from aion_actors import Engine
from aion_actors.config import Config
from aion_actors.core import ConfigError, DataDirLocked, SchemaMismatch, StoreUnavailable
from aion_actors.core import events as ev
from aion_actors.store.postgres import LAYOUT_VERSION, PostgresStore, partition_of
from aion_actors.store.postgres.nodestore import NodeSettings, NodeStore
from aion_actors.testing.postgres import ThrowawayServer
from tests.runtime import flows
from tests.store.helpers import started

ROOT = Path(__file__).resolve().parents[2]


def test_a_store_of_another_schema_version_is_refused_naming_both_and_untouched(
    pg_url: str,
) -> None:
    PostgresStore(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE aion.meta SET value = 99 WHERE key = 'schema_version'")
    with pytest.raises(SchemaMismatch, match=rf"version 99.*version {LAYOUT_VERSION}"):
        PostgresStore(pg_url)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT value FROM aion.meta WHERE key='schema_version'").fetchone()
        assert conn.execute("SELECT count(*) FROM aion.owner").fetchone() == (1,)


def _holder(pg_url: str) -> subprocess.Popen[str]:
    """Another process holding the store at `pg_url`; it prints HELD, then waits for stdin."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from aion_actors.store.postgres import PostgresStore\n"
            f"s = PostgresStore({pg_url!r}); print('HELD', flush=True); input()",
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_second_writer_gets_data_dir_locked_naming_the_holders_host_and_pid(
    pg_url: str,
) -> None:
    holder = _holder(pg_url)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "HELD"
        started = time.monotonic()
        with pytest.raises(DataDirLocked) as caught:
            PostgresStore(pg_url)
        assert time.monotonic() - started < 5, "the second engine must be told at once"
        assert caught.value.holder_pid == holder.pid
        assert f"process {holder.pid} on host {socket.gethostname()}" in str(caught.value)
        with PostgresStore(pg_url, readonly=True) as view:  # inspection takes no lock
            assert view.runs() == []
    finally:
        holder.kill()
        holder.wait()
    with PostgresStore(pg_url) as store:  # a dead holder's lock goes with its session
        assert store.runs() == []


def test_an_unreachable_server_is_store_unavailable_naming_host_and_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StoreUnavailable, match=rf"127\.0\.0\.1:{port} does not answer.*check"):
        PostgresStore(f"postgresql://nobody@127.0.0.1:{port}/nothing")


def test_a_missing_psycopg_says_which_extra_to_install(tmp_path: Path) -> None:
    blocker = tmp_path / "psycopg.py"
    blocker.write_text("raise ImportError('No module named psycopg')\n")
    code = (
        "from aion_actors.store.postgres import PostgresStore\n"
        "PostgresStore('postgresql://u@127.0.0.1:1/db')\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}:{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert "pip install 'aion-actors[postgres]'" in done.stderr


def test_events_runs_and_timers_carry_the_stable_partition_of_their_workflow(pg_url: str) -> None:
    with PostgresStore(pg_url, partitions=16) as store:
        store.append("order-7", "r1", [started(), ev.TimerStarted(timer_id="t", fire_at=5)], 0)
    with PostgresStore(pg_url) as store:
        assert store.partitions == 16  # fixed at creation
    want = partition_of("order-7", 16)
    assert want == partition_of("order-7", 16) and 0 <= want < 16
    with psycopg.connect(pg_url) as conn:
        for table in ("events", "runs", "timers"):
            rows = conn.execute(f"SELECT DISTINCT partition FROM aion.{table}").fetchall()
            assert rows == [(want,)], table
        assert conn.execute("SELECT count(*) FROM aion.partitions").fetchone() == (16,)


def test_a_schema_named_in_the_url_keeps_stores_apart(pg_url: str) -> None:
    with PostgresStore(pg_url + "?schema=one") as one, PostgresStore(pg_url, schema="two") as two:
        one.append("w", "r", [started()], 0)
        assert two.runs() == [] and [r.workflow_id for r in one.runs()] == ["w"]
    with pytest.raises(ConfigError, match="not a plain PostgreSQL name"):
        PostgresStore(pg_url + "?schema=Bad-Name")


def test_read_only_inspection_of_an_empty_database_says_no_store_is_there(pg_url: str) -> None:
    with pytest.raises(ConfigError, match="holds no aion-actors store"):
        PostgresStore(pg_url, readonly=True)


def test_engine_open_and_the_config_file_choose_postgres_by_url(
    pg_url: str, tmp_path: Path
) -> None:
    with Engine.open(pg_url, workers=1) as engine:
        engine.register(*flows.ALL)
        assert engine.start(flows.three_steps, 1, workflow_id="a").result(timeout=30) is not None
    config = tmp_path / "aion.toml"
    config.write_text(f'[engine]\nstore = "{pg_url}"\nworkers = 1\n')
    assert Config.load(config).engine.store == pg_url
    with Engine.from_config(config) as engine:
        assert [r.workflow_id for r in engine.list_runs()] == ["a"]


def test_a_server_that_refuses_at_open_is_named_with_its_reason_and_promises_no_waiting_run(
    pg_url: str,
) -> None:
    bad_database = pg_url.rsplit("/", 1)[0] + "/nosuchdb"
    bad_role = pg_url.replace("postgres@", "nosuchrole@")
    for url, reason in ((bad_database, 'database "nosuchdb"'), (bad_role, '"nosuchrole"')):
        with pytest.raises(StoreUnavailable) as caught:
            Engine.open(url, workers=1)
        message = str(caught.value)
        assert "refused the connection (FATAL:" in message and reason in message, message
        assert "runs wait" not in message and "does not answer" not in message, message
    with pytest.raises(ConfigError, match=r'bad parameter: .*invalid sslmode value: "bogus"'):
        Engine.open(pg_url + "?sslmode=bogus", workers=1)


def test_a_read_during_an_outage_says_it_cannot_read(
    pg_server: ThrowawayServer, pg_url: str
) -> None:
    with PostgresStore(pg_url, retry_for=0.5) as store:
        store.append("w", "r", [started()], 0)
        with pg_server.outage(), pytest.raises(StoreUnavailable) as caught:
            store.runs()
    assert "cannot read" in str(caught.value) and "cannot write" not in str(caught.value)
    assert "recorded nothing" not in str(caught.value)


def test_a_store_answers_again_within_seconds_of_the_server_after_a_long_outage(
    pg_server: ThrowawayServer, pg_url: str
) -> None:
    """psycopg_pool doubles its pause between reconnections for as long as they fail
    (1, 2, 4, 8 s…): with every connection of the pool being made again (one here; an
    engine's threads use them all), its next try came about 7 s after the server was
    back. The store starts its reconnection over every few seconds instead."""
    with PostgresStore(pg_url, retry_for=0.5, pool_size=1) as store:
        store.append("w", "r", [started()], 0)
        with pg_server.outage():
            with pytest.raises(StoreUnavailable):
                store.runs()  # the pool hears the server is gone: it reconnects from now
            time.sleep(5.5)
        back = time.monotonic()
        while True:
            try:
                assert [run.workflow_id for run in store.runs()] == ["w"]
                break
            except StoreUnavailable:  # (each try waits 1.5 s: no busy loop)
                assert time.monotonic() - back < 4, "the pool did not reconnect"


def test_a_write_waiting_out_an_outage_holds_no_other_write_back(
    pg_server: ThrowawayServer, pg_url: str
) -> None:
    """A group commit retried through an outage (5 s here) held the store's write lock all
    along: a node's `forget` (its runs leaving as its lease lapsed) and a write bounded to
    1 s (a close's wake of the listener, a request handed on) waited for it first."""
    store = NodeStore(pg_url, NodeSettings.of("solo"), retry_for=5.0)
    raised: list[BaseException] = []

    def append() -> None:
        try:
            store.append("w", "r", [started()], 0)
        except BaseException as exc:
            raised.append(exc)

    try:
        with pg_server.outage():
            appending = threading.Thread(target=append)
            appending.start()
            time.sleep(0.5)  # its commit is under way: it waits out the outage
            began = time.monotonic()
            store.forget({partition_of("w", store.partitions)})
            with pytest.raises(StoreUnavailable):
                store.announce("aion_test", "x", within=1.0)
            assert time.monotonic() - began < 3  # (before: 5 s more)
            appending.join(30)
        assert [type(exc) for exc in raised] == [StoreUnavailable], raised
    finally:
        store.close()


def test_a_postgres_store_held_elsewhere_points_to_nodes_not_to_postgres(pg_url: str) -> None:
    with PostgresStore(pg_url), pytest.raises(DataDirLocked) as here:
        Engine.open(pg_url, workers=1)
    assert "another PostgresStore in this process" in str(here.value)
    assert "another Engine" not in str(here.value) and "node_id=" in str(here.value)
    holder = _holder(pg_url)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "HELD"
        with pytest.raises(DataDirLocked) as there:
            Engine.open(pg_url, workers=1)
    finally:
        holder.kill()
        holder.wait()
    message = str(there.value)
    assert f"held by process {holder.pid}" in message and "node_id=" in message, message
    assert "need a PostgreSQL store" not in message and "data directory" not in message
