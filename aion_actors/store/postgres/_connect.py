"""Reaching the server: the URL, psycopg (an optional extra), the pool, and what a lost
connection means — retried with backoff for a while, then `StoreUnavailable`."""

from __future__ import annotations

import importlib
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aion_actors.core import AionError, ConfigError, EngineClosed, StoreUnavailable

_T = TypeVar("_T")
log = logging.getLogger(__name__)

SCHEMES: Final = ("postgresql://", "postgres://")
EXTRA_HINT: Final = "pip install 'aion-actors[postgres]' (psycopg 3 and psycopg_pool)"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: the first pause after a lost connection, doubled up to `_MAX_PAUSE`
_FIRST_PAUSE: Final = 0.05
_MAX_PAUSE: Final = 1.0
#: seconds psycopg_pool tries to make a lost connection again before it gives up (and
#: `reconnect_again` starts over, with its first pause of 1 s)
RECONNECT_FOR: Final = 3.0
#: seconds a read waits for a pooled connection before it looks whether the engine closes
#: (psycopg_pool wakes no waiter but by closing the pool, which the close's writes need)
READ_SLICE: Final = 0.5
#: a URL parameter libpq refused before connecting (`?sslmode=bogus`)
_INVALID_VALUE = re.compile(r"invalid \w+ value|invalid URI query parameter|bad value for")


def is_url(target: object) -> bool:
    """Whether `target` names a PostgreSQL store (a path names LMDB)."""
    return isinstance(target, str) and target.startswith(SCHEMES)


def psycopg_modules() -> tuple[Any, Any]:
    """`psycopg` and `psycopg_pool`, or a `ConfigError` saying which extra installs them."""
    try:
        return importlib.import_module("psycopg"), importlib.import_module("psycopg_pool")
    except ImportError as exc:
        raise ConfigError(
            f"a postgresql:// store needs psycopg 3, which is not installed ({exc}); "
            f"install the extra: {EXTRA_HINT}"
        ) from None


@dataclass(frozen=True)
class Target:
    """A parsed store URL: what psycopg connects with and what messages name."""

    conninfo: str
    host: str
    port: int
    dbname: str
    schema: str

    @property
    def where(self) -> str:
        """How errors name the store: no password, ever."""
        return f"postgresql://{self.host}:{self.port}/{self.dbname} (schema {self.schema})"


def parse(url: str, schema: str | None = None) -> Target:
    """Split `url`; its `?schema=` (else `schema`, else "aion") names the Postgres schema."""
    if not is_url(url):
        raise ConfigError(f"{url!r} is not a postgresql:// URL")
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    chosen = query.pop("schema", None) or schema or "aion"
    if not _NAME.fullmatch(chosen):
        raise ConfigError(
            f"schema {chosen!r} is not a plain PostgreSQL name: use lowercase letters, "
            "digits and _ (at most 63), starting with a letter or _"
        )
    try:
        port = parts.port or 5432
    except ValueError as exc:
        raise ConfigError(f"store URL has a bad port: {exc}") from None
    conninfo = urlunsplit(parts._replace(query=urlencode(query)))
    dbname = parts.path.lstrip("/") or (parts.username or "")
    return Target(conninfo, parts.hostname or "localhost", port, dbname, chosen)


def unreachable(target: Target, exc: BaseException, *, reading: bool = False) -> StoreUnavailable:
    """The error for a server that does not answer, naming host and port and what to check
    (`reading`: a read's, which never writes)."""
    cause = f"PostgreSQL at {target.host}:{target.port} does not answer ({_first_line(exc)})"
    advice = (
        "check that the server runs and listens there, the database exists, "
        "and the URL's user may connect"
    )
    return (
        _Unreadable(target.where, cause, advice)
        if reading
        else StoreUnavailable(target.where, cause, advice)
    )


def not_opened(target: Target, exc: BaseException) -> AionError:
    """The error of a store that could not be opened: a bad URL parameter (`ConfigError`),
    the server's refusal and its reason, or no answer — no run waits on it yet."""
    first = _first_line(exc)
    if type(exc).__name__ == "ProgrammingError" or _INVALID_VALUE.search(first):
        return ConfigError(f"the store URL for {target.where} has a bad parameter: {first}")
    at = f"PostgreSQL at {target.host}:{target.port}"
    if "FATAL:" in str(exc):
        fatal = str(exc)[str(exc).index("FATAL:") :].strip().splitlines()[0]
        cause = f"{at} refused the connection ({fatal})"
        advice = "check the URL's database name, user and password"
    else:
        cause = f"{at} does not answer ({first})"
        advice = "check that the server runs and listens there"
    return _NotOpened(target.where, cause, advice)


def reconnect_again(pool: Any) -> None:
    """psycopg_pool gave up making a connection again (after `RECONNECT_FOR` s): start
    over while the pool is under its minimum or a caller waits for a connection. Its own
    backoff doubles each pause (1, 2, 4, 8 s…) for as long as it tries: a server back
    after a 30 s outage was answered up to 16 s later; this way, within 2 s."""
    if pool.closed:
        return
    stats = pool.get_stats()
    if stats.get("pool_size", 0) < stats.get("pool_min", 1) or stats.get("requests_waiting"):
        pool.check()  # (grows the pool by one new connection, tried at once)


class _Unreadable(StoreUnavailable):
    """A read that found the server gone: it recorded nothing, as no read does."""

    def __init__(self, path: str, cause: str, advice: str) -> None:
        super().__init__(path, cause, advice)
        self.args = (
            f"the store at {path} cannot read: {cause}; {advice} — runs wait and go on by "
            "themselves once it answers again; repeat this call then",
        )


class _NotOpened(StoreUnavailable):
    """The store could not be opened: nothing runs on it yet."""

    def __init__(self, path: str, cause: str, advice: str) -> None:
        super().__init__(path, cause, advice)
        self.args = (f"the store at {path} cannot be opened: {cause}; {advice}",)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def pool_wait(deadline: float | None, reading: bool) -> float | None:
    """How long one try waits for a pooled connection: until a caller's `deadline` (None:
    the pool's timeout); a read's, `READ_SLICE` at most, then it tries again (`Backoff`)."""
    wait = None if deadline is None else max(0.01, deadline - time.monotonic())
    return min(wait or READ_SLICE, READ_SLICE) if reading else wait


class Backoff:
    """Retries an operation over lost connections, pausing longer each time, until
    `retry_for` seconds have passed: then `StoreUnavailable`. `close()` cuts the pause;
    `closing()` (the engine closes) makes a read that finds the server gone give up at once
    (`ReadGaveUp`) instead of waiting the outage out: what follows it is the close."""

    def __init__(
        self,
        target: Target,
        retry_for: float,
        connection_errors: tuple[type[BaseException], ...],
        pool_module: Any = None,
    ):
        self._target = target
        self._retry_for = retry_for
        self._errors = connection_errors
        #: a read's wait for a pooled connection ended one of its slices (see `pool_wait`)
        self._slice_ended: type[BaseException] = getattr(pool_module, "PoolTimeout", TimeoutError)
        self._changed = threading.Condition()
        self._closed = False
        self._closing = False
        #: why the first read of a closing engine gave up: the reads after it do at once
        self._gave_up: ReadGaveUp | None = None
        #: called after each lost connection, before the pause (drop broken connections)
        self.on_lost: Callable[[], None] = lambda: None

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def closing(self) -> None:
        """From now on a read that finds the server gone gives up (writes still retry)."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()

    def run(
        self, operation: Callable[[], _T], *, reading: bool = False, within: float | None = None
    ) -> _T:
        """`operation()`, retried after lost connections for `retry_for` seconds (or
        `within`, a caller's timeout, when that is sooner)."""
        retry_for = self._retry_for if within is None else min(self._retry_for, within)
        deadline = time.monotonic() + retry_for
        pause = _FIRST_PAUSE
        stopped = (lambda: self._closed or self._closing) if reading else lambda: self._closed
        while True:
            if self._closed:
                raise EngineClosed()
            if reading and self._gave_up is not None:
                raise ReadGaveUp(self._target, self._gave_up.why)
            try:
                return operation()
            except self._errors as exc:
                if reading and self._closing:
                    raise self._giving_up(exc) from exc
                if isinstance(exc, self._slice_ended) and time.monotonic() < deadline:
                    continue  # (no connection yet: wait on, having looked at `_closing`)
                self.on_lost()
                if time.monotonic() + pause > deadline:
                    raise unreachable(self._target, exc, reading=reading) from exc
                if pause == _FIRST_PAUSE:
                    log.warning("%s: %s; retrying", self._target.where, str(exc).strip() or exc)
            with self._changed:
                self._changed.wait_for(stopped, pause)
            pause = min(pause * 2, _MAX_PAUSE)

    def _giving_up(self, exc: BaseException) -> ReadGaveUp:
        error = ReadGaveUp(self._target, _first_line(exc))
        if self._gave_up is None:
            self._gave_up = error
            log.warning("%s (and so do the reads after it)", error)
        return error


class ReadGaveUp(EngineClosed):
    """A read of a closing engine found the server gone and did not wait for it: nothing
    was written, and runs it would have read back stay in the store for the next engine."""

    def __init__(self, target: Target, why: str) -> None:
        super().__init__()
        self.why = why
        self.args = (
            f"the engine is closing: a read of the store at {target.where} gave up waiting "
            f"for PostgreSQL at {target.host}:{target.port} ({why}); nothing is lost — runs "
            "it would have read back stay in the store for the next engine",
        )
