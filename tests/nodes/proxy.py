"""A TCP proxy in its own process: `python -m tests.nodes.proxy PORT TARGET_PORT` forwards
127.0.0.1:PORT to 127.0.0.1:TARGET_PORT and prints READY. Killing it cuts every connection
through it, and new ones are refused until it is started again on the same port: a
database that a node cannot reach, for real."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading


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


if __name__ == "__main__":
    main()
