"""The demo's card processor: a SQLite ledger of every charge attempt and every charge.

It plays the payment provider the demo must not double-charge. `executions`
has one row per time the charge code ran; `charges` has one row per card
charge, keyed by the activity's idempotency key. An activity attempt that
ran but whose result the engine never recorded (its worker died, or the
engine was killed) runs again with the same key, finds the charge and
returns it: executed twice, charged once.

WAL with `synchronous=NORMAL` survives the process crashes the demo causes
(not a power loss, which the demo does not cause).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

LEDGER_FILE = "ledger.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    idempotency_key TEXT NOT NULL, order_id TEXT NOT NULL, attempt INTEGER NOT NULL,
    started_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS charges (
    idempotency_key TEXT PRIMARY KEY, order_id TEXT NOT NULL, amount INTEGER NOT NULL,
    charge_id TEXT NOT NULL, charged_ns INTEGER NOT NULL
);
"""

_connections: dict[str, sqlite3.Connection] = {}


@dataclass(frozen=True)
class Execution:
    idempotency_key: str
    order_id: str
    attempt: int
    started_ns: int


@dataclass(frozen=True)
class Charge:
    idempotency_key: str
    order_id: str
    amount: int
    charge_id: str


def create(path: Path) -> None:
    """Create the ledger (idempotent), before any worker writes to it."""
    with _connect(path) as db:
        db.executescript(_SCHEMA)


def charge(path: str, key: str, order_id: str, amount: int, attempt: int) -> str:
    """Charge `amount` once per `key` and return the charge id; every call logs an execution."""
    started = time.time_ns()
    db = _cached(path)
    with _transaction(db):
        db.execute("INSERT INTO executions VALUES (?, ?, ?, ?)", (key, order_id, attempt, started))
        row = db.execute(
            "SELECT charge_id FROM charges WHERE idempotency_key = ?", (key,)
        ).fetchone()
        if row is not None:
            return str(row[0])
        charge_id = f"ch_{order_id}_{started % 1_000_000:06d}"
        db.execute(
            "INSERT INTO charges VALUES (?, ?, ?, ?, ?)",
            (key, order_id, amount, charge_id, time.time_ns()),
        )
    return charge_id


def read(path: Path) -> tuple[list[Execution], list[Charge]]:
    """Everything the ledger holds, for the verdict."""
    with _connect(path) as db:
        executions = [Execution(*row) for row in db.execute("SELECT * FROM executions")]
        charges = [
            Charge(*row)
            for row in db.execute(
                "SELECT idempotency_key, order_id, amount, charge_id FROM charges"
            )
        ]
    return executions, charges


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    db = _open(str(path))
    try:
        yield db
    finally:
        db.close()


def _open(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=60.0, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def _cached(path: str) -> sqlite3.Connection:
    """One connection per worker process (workers are never forked after this)."""
    db = _connections.get(path)
    if db is None:
        db = _connections[path] = _open(path)
    return db


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
