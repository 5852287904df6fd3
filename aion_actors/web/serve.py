"""`aion-actors ui DIR|URL`: the dashboard of a store opened read-only, served on
127.0.0.1 until interrupted (beside a running engine: it takes no lock), answering only
requests addressed to 127.0.0.1, localhost or [::1] (see `web.hosts`)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console
from rich.markup import escape

from aion_actors.cli._when import UsageError
from aion_actors.cli.inspection import open_readonly
from aion_actors.web import store_dashboard

HOST = "127.0.0.1"
#: the `Host` names it answers to (any other, as a DNS-rebinding page sends: 400)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
DEFAULT_PORT = 8233


def listen(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:`port` (0: any free port); a clear error if taken."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: expected 0 (any free port) to 65535")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {HOST}:{port} ({exc.strerror or exc}); pick another with --port"
        ) from None
    return sock


def serve(data: Path | str, port: int, out: Console) -> int:
    """Serve the dashboard of `data` until Ctrl-C; prints the URL once it listens."""
    try:
        import uvicorn
    except ImportError:
        raise UsageError(
            "the dashboard needs the web extra: pip install 'aion-actors[web]'"
        ) from None
    with open_readonly(data) as store:
        label = str(data) if isinstance(data, Path) else _without_password(data)
        app = store_dashboard(store, label, allowed_hosts=LOCAL_HOSTS)
        sock = listen(port)
        host, bound = sock.getsockname()[:2]
        out.print(
            f"dashboard of {escape(label)} on http://{host}:{bound}/ (read-only; Ctrl-C stops)",
            soft_wrap=True,
            highlight=False,
        )
        sys.stdout.flush()  # a caller reading the URL from a pipe gets it now
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()
    return 0


def _without_password(url: str) -> str:
    """A database URL as the page may show it: user, host and database, no password."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{user}{host}{port}", query="").geturl()
