"""Terminal output that stops quietly when its reader goes away (`aion-actors runs DIR | head`)."""

from __future__ import annotations

import errno
import os
import sys
from typing import Final

import rich.console

#: a shell's status for a command stopped by SIGPIPE (128 + 13), as `ls | head` leaves it.
EXIT_PIPE: Final = 141


class Console(rich.console.Console):
    """A rich `Console` whose broken pipe reaches the command as `BrokenPipeError`.

    rich's own reaction is `SystemExit(1)`, which would skip the command's
    clean-up and report a failure for what is a reader that has seen enough.
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def reader_gone() -> int:
    """Stdout's reader went away: nothing more can be said, so stop quietly with `EXIT_PIPE`.

    Stdout is pointed at /dev/null so that flushing it at exit cannot fail
    (and print a traceback) a second time.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass  # stdout has no descriptor of its own (captured): nothing to flush there
    return EXIT_PIPE
