"""Frames on a worker's pipe, read and written in bulk: one system call for all that is there.

The wire format is `multiprocessing.Connection`'s (a 4-byte big-endian
length, or -1 and an 8-byte length for a frame over 2 GiB, then the bytes),
so either end may still use a `Connection` on its side. What this adds: a
`FrameReader` takes every byte the pipe holds with one `read` and splits off
every complete frame, instead of two reads per frame; `frames` joins several
messages into one buffer for one `write`. Each read or write releases the
GIL, and the engine's thread that makes it then waits for the GIL again behind
the run threads: fewer of them is the point.
"""

from __future__ import annotations

import os
import select
import struct
from collections.abc import Iterable

_CHUNK = 1 << 16  # bytes asked for per read: many small frames, or a large one in parts
_SHORT = struct.Struct("!i")
_LONG = struct.Struct("!Q")


def frames(messages: Iterable[bytes]) -> bytes:
    """`messages` framed for the pipe, joined for one write."""
    parts: list[bytes] = []
    for message in messages:
        size = len(message)
        if size > 0x7FFFFFFF:
            parts += [_SHORT.pack(-1), _LONG.pack(size), message]
        else:
            parts += [_SHORT.pack(size), message]
    return b"".join(parts)


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to the (blocking) descriptor `fd`; OSError if its reader is gone."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class FrameReader:
    """The frames arriving on descriptor `fd` (blocking), in order, however the reads cut them."""

    __slots__ = ("_buffer", "_fd", "_poller", "ended")

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()
        self.ended = False  # the pipe's end was read: no more frames will come
        self._poller = select.poll()
        self._poller.register(fd, select.POLLIN)

    def read(self) -> list[bytes]:
        """One read (blocking until something arrives; EOFError at the end of the pipe): the
        frames it completed, possibly none."""
        data = os.read(self._fd, _CHUNK)
        if not data:
            self.ended = True
            raise EOFError
        self._buffer += data
        return self._split()

    def ready(self) -> bool:
        """Whether a read would not block (data, or the end of the pipe, is there)."""
        return bool(self._poller.poll(0))

    def drain(self) -> list[bytes]:
        """Every complete frame there is now, without blocking; at the end of the pipe, those
        before it (and `ended` is set)."""
        taken = self._split()
        while not self.ended and self.ready():
            try:
                taken += self.read()
            except EOFError:
                break
        return taken

    def _split(self) -> list[bytes]:
        buffer, taken, at = self._buffer, [], 0
        while len(buffer) - at >= 4:
            (size,) = _SHORT.unpack_from(buffer, at)
            head = 4
            if size == -1:
                if len(buffer) - at < 12:
                    break
                (size,) = _LONG.unpack_from(buffer, at + 4)
                head = 12
            end = at + head + size
            if end > len(buffer):
                break
            taken.append(bytes(buffer[at + head : end]))
            at = end
        if at:
            del buffer[:at]
        return taken
