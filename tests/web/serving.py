"""Serving a dashboard for a test: uvicorn in a thread on a socket that already listens
(so a request made at once waits in the backlog instead of failing)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from aion_actors.web.serve import listen


@contextmanager
def served(app: Any) -> Iterator[str]:
    """The base URL of `app` served on 127.0.0.1 until the block ends."""
    sock = listen(0)
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
