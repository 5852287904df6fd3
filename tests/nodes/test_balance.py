"""Partition balance as nodes join and leave, and a node cut off from the database: it stops
claiming, says so in its log, drops its runs once its leases ran out, the other node takes
them over, and it rejoins once the database answers again."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from aion_actors import Engine
from aion_actors.core import events as ev
from tests.crashes import kill_engine
from tests.nodes import flows
from tests.nodes.node_child import LEASE
from tests.nodes.test_failover import ROOT, N, _all_completed, _check_histories, _spawn, _until

#: a lease no test waits for: every move below happens without any lease expiring
LONG = {"workers": 1, "lease": 30.0, "renew_every": 0.3}


def _even(counts: list[int]) -> bool:
    return sum(counts) == 64 and max(counts) - min(counts) <= 1


@pytest.mark.timeout(90)
def test_nodes_joining_one_by_one_and_one_leaving_share_the_partitions_within_one_of_even(
    pg_url: str,
) -> None:
    a = Engine.open(pg_url, node_id="a", **LONG)  # type: ignore[arg-type]
    b = c = None
    try:
        assert a.stats()["partitions"] == 64
        b = Engine.open(pg_url, node_id="b", **LONG)  # type: ignore[arg-type]
        nodes = [a, b]
        _until(lambda: _even([n.stats()["partitions"] for n in nodes]), timeout=10)
        c = Engine.open(pg_url, node_id="c", **LONG)  # type: ignore[arg-type]
        nodes = [a, b, c]
        _until(lambda: _even([n.stats()["partitions"] for n in nodes]), timeout=10)
        assert sorted(n.stats()["partitions"] for n in nodes) == [21, 21, 22]
        b.close()  # a graceful leave: its leases are released, no expiry waited for
        nodes = [a, c]
        _until(lambda: _even([n.stats()["partitions"] for n in nodes]), timeout=10)
        assert [n.stats()["partitions"] for n in nodes] == [32, 32]
    finally:
        for engine in (c, b, a):
            if engine is not None:
                engine.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _proxy(port: int, target: int) -> subprocess.Popen[str]:
    proxy = subprocess.Popen(
        [sys.executable, "-m", "tests.nodes.proxy", str(port), str(target)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proxy.stdout is not None and proxy.stdout.readline().strip() == "READY"
    return proxy


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit(":", 1)[0] + f":{port}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.mark.timeout(150)
def test_a_node_cut_off_from_the_database_stops_claiming_says_so_and_rejoins_when_it_answers(
    pg_url: str, tmp_path: Path
) -> None:
    ledger, log = tmp_path / "ledger", tmp_path / "a.log"
    port = _free_port()
    proxy = _proxy(port, int(urlsplit(pg_url).port or 5432))
    a = _spawn(_through(pg_url, port), "a", ledger, log, N, 0.2, 4.0)  # a reaches it via proxy
    try:
        with Engine.open(pg_url, workers=1, node_id="b", **LEASE) as b:  # type: ignore[arg-type]
            b.register(*flows.ALL)
            _until(lambda: b.stats()["partitions"] == 32)
            _until(
                lambda: sum(ln.startswith("done") for ln in ledger.read_text().splitlines()) >= N
            )
            proxy.send_signal(signal.SIGKILL)  # a's connections break; new ones are refused
            proxy.wait()
            _until(lambda: b.stats()["partitions"] == 64)  # a's leases ran out: b took them
            _until(lambda: "their leases expired unrenewed" in log.read_text())
            text = log.read_text()
            said = [ln for ln in text.splitlines() if "it claims nothing until it can" in ln]
            assert said and said[0].startswith("aion_actors.nodes node a: "), text[-3000:]
            assert f"PostgreSQL at 127.0.0.1:{port} does not answer" in said[0], said
            _until(lambda: _all_completed(b), timeout=60)  # a's runs finished on b
            _check_histories(b, ledger)
            proxy = _proxy(port, int(urlsplit(pg_url).port or 5432))  # the database answers
            _until(lambda: "node a reaches the database again" in log.read_text())
            _until(lambda: b.stats()["partitions"] == 32)  # b gave a its share back
            _until(lambda: log.read_text().count("node a took partitions") >= 2)
    finally:
        if a.poll() is None:
            kill_engine(a)
        if proxy.poll() is None:
            proxy.kill()
            proxy.wait()


@pytest.mark.timeout(60)
def test_a_cut_off_node_whose_write_waits_for_the_database_still_drops_its_runs_in_a_lease_term(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A write waiting for the database (retried for the store's 30 s window) holds the
    store's write lock; the lease thread does not wait for it: the node drops its runs a
    lease term after its last renewal (not once the write gave up), takes them back as
    soon as the database answers, and the signal whose write waited is recorded once."""
    caplog.set_level(logging.INFO, logger="aion_actors.nodes")
    said = lambda words: any(words in r.getMessage() for r in caplog.records)  # noqa: E731
    port, target = _free_port(), int(urlsplit(pg_url).port or 5432)
    proxy = _proxy(port, target)
    a = Engine.open(_through(pg_url, port), workers=1, node_id="a", **LEASE)  # type: ignore[arg-type]
    try:
        a.register(*flows.ALL)
        a.start(flows.waiter, 1, workflow_id="w")
        proxy.send_signal(signal.SIGKILL)
        proxy.wait()
        outcome: list[BaseException | None] = []

        def send() -> None:
            try:
                a.signal("w", "item", "x", timeout=40)
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()  # its append retries while the database does not answer
        _until(lambda: said("their leases expired unrenewed"), timeout=10)
        proxy = _proxy(port, target)
        _until(lambda: said("node a reaches the database again"), timeout=10)
        _until(lambda: a.stats()["partitions"] == 64, timeout=10)
        sender.join(40)
        assert outcome == [None], outcome
        assert a.result("w", timeout=30) == ["x"]
        assert [e.payload for e in a.history("w") if isinstance(e, ev.SignalReceived)] == ["x"]
    finally:
        if proxy.poll() is not None:  # (a close waits for the writes in flight)
            proxy = _proxy(port, target)
        try:
            a.close()
        finally:
            proxy.kill()
            proxy.wait()
