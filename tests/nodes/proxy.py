"""A TCP proxy in its own process: `python -m tests.nodes.proxy PORT TARGET_PORT` forwards
127.0.0.1:PORT to 127.0.0.1:TARGET_PORT and prints READY. Killing it cuts every connection
through it, and new ones are refused until it is started again on the same port: a
database that a node cannot reach, for real. `Proxy` runs one from a test."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_ROOT = Path(__file__).resolve().parents[2]


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


def _serve(client: socket.socket, target: int) -> None:
    try:
        upstream = socket.create_connection(("127.0.0.1", target))
    except OSError:
        client.close()
        return
    threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
    threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()


def main() -> None:
    port, target = int(sys.argv[1]), int(sys.argv[2])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    print("READY", flush=True)
    while True:
        client, _ = listener.accept()
        _serve(client, target)


class Proxy:
    """A proxy process between a test's engine and the database at `url`: `url` through
    it is `self.url`; `cut()` kills it (every connection through it breaks, new ones are
    refused), `restore()` starts it again on the same port, `close()` ends it."""

    def __init__(self, url: str) -> None:
        self._target = int(urlsplit(url).port or 5432)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit(":", 1)[0] + f":{self.port}"
        self.url = urlunsplit(parts._replace(netloc=netloc))
        self._process: subprocess.Popen[str] | None = None
        self.restore()

    def restore(self) -> None:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.nodes.proxy", str(self.port), str(self._target)],
            cwd=_ROOT,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self._process = process
        assert process.stdout is not None and process.stdout.readline().strip() == "READY"

    def cut(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None

    close = cut


if __name__ == "__main__":
    main()
