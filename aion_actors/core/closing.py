"""`with thing:` closes `thing` at the end of the block: one mixin for every part that
opens something (stores, the recorder, the engine)."""

from __future__ import annotations

from typing import Self


class CloseOnExit:
    """A context manager whose exit is its `close()`; the class defines `close`."""

    __slots__ = ()

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
