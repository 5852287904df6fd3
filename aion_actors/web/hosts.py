"""`AllowedHosts`: the dashboard answers only requests whose `Host` header names it.

A page on another site can make a browser send requests to `127.0.0.1` under
its own name (DNS rebinding: `evil.example` resolving to 127.0.0.1), and read
the answers as its own. The browser still sends that name as the `Host`
header, so a server that answers only to the names it is reached by —
`127.0.0.1`, `localhost`, `[::1]` for `aion-actors ui` — gives such a page
nothing but a 400.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send


def checked_hosts(hosts: Sequence[str] | None) -> tuple[str, ...] | None:
    """`hosts` as `AllowedHosts` takes them (lower case); a `ValueError` naming a bad one."""
    if hosts is None:
        return None
    if isinstance(hosts, str) or not all(isinstance(h, str) and h for h in hosts) or not hosts:
        raise ValueError(
            f"allowed_hosts must be a list of host names (e.g. ['ops.example.com', "
            f"'*.example.com', 'localhost']), or None for any; got {hosts!r}"
        )
    for host in hosts:
        bracketed = host.startswith("[") and host.endswith("]")  # an IPv6 address
        if "*" in host.removeprefix("*.") or (":" in host and not bracketed):
            raise ValueError(
                f"allowed_hosts: {host!r} is not a host name; give the name without a port "
                "('localhost', '[::1]'), or '*.example.com' for its subdomains"
            )
    return tuple(h.lower() for h in hosts)


def host_of(header: str) -> str:
    """The host a `Host` header names, without its port, in lower case (IPv6 in [ ])."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[: header.find("]") + 1] if "]" in header else ""
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def allowed(host: str, hosts: Sequence[str]) -> bool:
    return bool(host) and any(
        host == h or (h.startswith("*.") and host.endswith(h[1:])) for h in hosts
    )


class AllowedHosts:
    """The ASGI app `app`, answering 400 to a request for any host not in `hosts`."""

    def __init__(self, app: ASGIApp, hosts: Sequence[str]) -> None:
        self._app = app
        self._hosts = tuple(hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = host_of(Headers(scope=scope).get("host", ""))
            if not allowed(host, self._hosts):
                refused = PlainTextResponse(
                    f"Invalid host header {host!r}: this dashboard answers only to "
                    f"{', '.join(self._hosts)} (its allowed_hosts)",
                    status_code=400,
                )
                await refused(scope, receive, send)
                return
        await self._app(scope, receive, send)
