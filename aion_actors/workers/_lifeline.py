"""A worker process's tie to its engine: a process group of its own, which dies with the engine.

Each worker leads a new process group as its code starts, so whatever an
activity starts — a `subprocess`, a forked child — stays in that group unless
it leaves on purpose (`start_new_session=True`, `setsid`, a daemon). The pool
ends a worker by SIGKILLing its group, and SIGKILLs what is left of the group
after a worker exits on its own: nothing an activity started outlives its
worker.

The engine holds the write end of a pipe per worker, the lifeline; nothing is
ever written to it. However the engine process dies — even by SIGKILL of that
process alone — the kernel closes its end, the worker's end reads EOF, and the
worker's group is SIGKILLed at once: an attempt cut short by an engine crash
stops running before the next engine can run it again. Two watches see that
EOF, and either is enough:

- everywhere, a daemon thread blocked reading the lifeline. It needs the GIL
  to act, so an activity stuck in a long C call that holds the GIL delays it;
- on Linux, the kernel itself: the lifeline is armed for signal-driven I/O
  (`O_ASYNC`, owner the worker's group, signal SIGKILL by `F_SETSIG`), so the
  group is killed the moment the engine's end closes, whatever the worker is
  doing.

`PR_SET_PDEATHSIG` would not do: it fires when the *parent* dies, and a
worker's parent is the forkserver, which outlives the engine for as long as a
worker holds its "alive" pipe. The forkserver (and multiprocessing's resource
tracker) exit by themselves once the engine and its workers are gone.

In its own group, a worker no longer gets the terminal's signals: Ctrl-C,
Ctrl-\\ and Ctrl-Z go to the engine, whose pool stops the workers (and whose
death kills them). A worker ignores SIGTTOU and SIGTTIN, which the terminal
sends a background group that writes to it (with `stty tostop`) or reads from
it: its output still appears, and a read fails with EIO instead of stopping the
worker forever. Its children inherit the two ignored signals.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import threading
from typing import Final, NoReturn

#: the exit code of a worker whose engine died, if it leads no group to kill
EXIT_ORPHANED: Final = 75  # EX_TEMPFAIL of sysexits.h

_F_SETSIG: int | None = getattr(fcntl, "F_SETSIG", None)  # Linux only
_O_ASYNC: int | None = getattr(os, "O_ASYNC", None)


def hold(lifeline: int) -> None:
    """Lead a new process group, and end it when the engine's end of `lifeline` closes.

    Called first thing in a worker process, before any activity code runs.
    """
    # Before leaving the engine's group: until then Ctrl-C reaches this process too.
    for signum in (signal.SIGINT, signal.SIGTTOU, signal.SIGTTIN):
        signal.signal(signum, signal.SIG_IGN)
    # Never seen to fail; without a group of its own, the watches end this process only.
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    arm(lifeline)
    watch(lifeline)


def arm(lifeline: int) -> bool:
    """On Linux, make the kernel SIGKILL this process's group when `lifeline` reads EOF.

    Returns False where signal-driven I/O with a chosen signal is not available
    (the thread started by `watch` is then the only watch).
    """
    if _F_SETSIG is None or _O_ASYNC is None:
        return False
    owner = -os.getpid() if leads_its_group() else os.getpid()
    try:
        fcntl.fcntl(lifeline, fcntl.F_SETOWN, owner)
        fcntl.fcntl(lifeline, _F_SETSIG, signal.SIGKILL)
        fcntl.fcntl(lifeline, fcntl.F_SETFL, fcntl.fcntl(lifeline, fcntl.F_GETFL) | _O_ASYNC)
    except OSError:
        return False
    return True


def watch(lifeline: int) -> threading.Thread:
    """Start the daemon thread that ends this process's group when `lifeline` reads EOF."""
    thread = threading.Thread(
        target=_watch, args=(lifeline,), name="aion-worker-lifeline", daemon=True
    )
    thread.start()
    return thread


def leads_its_group() -> bool:
    return os.getpgrp() == os.getpid()


def end_group() -> NoReturn:
    """SIGKILL this worker's group, itself included; or only exit if it leads no group."""
    if leads_its_group():
        os.killpg(os.getpid(), signal.SIGKILL)
    os._exit(EXIT_ORPHANED)


def _watch(lifeline: int) -> None:
    try:
        while os.read(lifeline, 1):  # nothing is ever written: only EOF ends this
            pass
    except OSError:  # closed under us (an activity closing every descriptor): watch no more
        return
    end_group()
