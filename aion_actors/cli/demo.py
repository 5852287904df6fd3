"""`aion-actors demo`: orders processed through injected faults and an engine SIGKILL.

The engine runs in a child process (`aion_actors.cli._demo_engine`) in a
session of its own, so that killing its process group with SIGKILL takes
its worker processes with it, exactly like a machine losing the service.
This process never opens the engine: it watches the data directory
read-only, kills the engine when about half the orders have completed,
starts a new one on the same directory, and at the end checks every
history against the card ledger (`_verdict`).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import aion_actors
from aion_actors.cli import _demo_dir, _invocation, _ledger, _orders
from aion_actors.cli._monitor import Monitor, Snapshot
from aion_actors.cli._verdict import Verdict, check
from aion_actors.core import AionError

LOG_FILE = "engine.log"
_POLL = 0.2
_PLAIN_EVERY = 2.0


class DemoFailed(AionError):
    """The demo could not run to its verdict (the engine process failed)."""


@dataclass(frozen=True)
class Options:
    runs: int = 500
    data: Path | None = None
    workers: int = 2
    faults: bool = True


def default_data_dir() -> Path:
    """A fresh folder in the temporary directory ($TMPDIR), so demos never mix or pile up."""
    return Path(tempfile.mkdtemp(prefix=f"aion-demo-{datetime.now():%Y%m%d-%H%M%S}-"))


def run(options: Options, console: Console) -> int:
    """Run the demo; 0 when the verdict holds, 1 when it does not."""
    data = (options.data or default_data_dir()).resolve()
    _demo_dir.claim(data, options.runs)
    _ledger.create(data / _ledger.LEDGER_FILE)
    where = "" if options.data else " (a new temporary directory; --data DIR chooses one)"
    console.print(f"data directory: [bold]{escape(str(data))}[/]{where}", soft_wrap=True)
    if options.faults:
        console.print(
            "faults on purpose: failing activities, worker processes dying mid-charge, "
            "workflow crashes, and the engine killed with SIGKILL half-way"
        )
    else:
        console.print("no faults injected (--no-faults)")
    engine = _Engine(data, options)
    monitor = Monitor(data, "order")
    started = time.monotonic()
    try:
        snapshot = _watch(options, engine, monitor, console)
    except KeyboardInterrupt:
        console.print(
            f"stopped; to finish these orders: {_demo_dir.finish_command(data, options.runs)}",
            markup=False,
            soft_wrap=True,
        )
        raise
    finally:
        engine.kill()
        monitor.close()
    elapsed = time.monotonic() - started
    if engine.returncode != 0:
        raise DemoFailed(
            f"the engine process exited with code {engine.returncode}: {engine.last_log_line()} "
            f"(full log: {data / LOG_FILE})"
        )
    verdict = check(data, options.runs)
    _summary(console, verdict, snapshot, engine, elapsed)
    aion, where = escape(_invocation.command()), escape(shlex.quote(str(data)))
    console.print(
        f"inspect it: [bold]{aion} runs {where} --type order[/]\n"
        f"            [bold]{aion} history {where} {_orders.order_id(min(7, options.runs - 1))}[/]",
        soft_wrap=True,
        highlight=False,
    )
    return 0 if verdict.ok else 1


class _Engine:
    """The engine child process, its kills and its reopenings."""

    def __init__(self, data: Path, options: Options) -> None:
        self.data = data
        self._args = [
            sys.executable,
            "-m",
            "aion_actors.cli._demo_engine",
            str(data),
            str(options.runs),
            str(options.workers),
            str(int(options.faults)),
        ]
        # The child imports this very copy of aion_actors, installed or not.
        paths = [str(Path(aion_actors.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
        self._env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
        self.kills = 0
        self.killed_at: int | None = None
        self.starts = 0
        self._process = self._start()

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.poll()

    def sigkill(self, completed: int) -> None:
        """SIGKILL the engine with its workers, then start a new one on the same directory."""
        self.kill()
        self.kills += 1
        self.killed_at = completed
        self._process = self._start()

    def kill(self) -> None:
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait()

    def last_log_line(self) -> str:
        lines = (self.data / LOG_FILE).read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "(no output)"

    def _start(self) -> subprocess.Popen[bytes]:
        self.starts += 1
        with open(self.data / LOG_FILE, "ab") as log:
            return subprocess.Popen(
                self._args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=self._env,
            )


def _watch(options: Options, engine: _Engine, monitor: Monitor, console: Console) -> Snapshot:
    kill_at = options.runs // 2 if options.faults and options.runs >= 2 else None
    display = _Display(options.runs, console)
    snapshot = Snapshot()
    with display:
        while True:
            done = engine.returncode is not None
            snapshot = monitor.poll() or snapshot
            display.update(snapshot, engine)
            if done:
                return snapshot
            if kill_at is not None and engine.kills == 0 and snapshot.completed >= kill_at:
                pid = engine.pid
                engine.sigkill(snapshot.completed)
                display.say(
                    f"[bold red]SIGKILL[/] engine process {pid} and its workers at "
                    f"{snapshot.completed}/{options.runs} completed orders; reopening the data "
                    f"directory in process {engine.pid}"
                )
            time.sleep(_POLL)


class _Display:
    """A live progress display on a terminal; a line every few seconds in a log."""

    def __init__(self, runs: int, console: Console) -> None:
        self._console = console
        self._progress = Progress(
            TextColumn("orders completed"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._task = self._progress.add_task("orders", total=runs)
        self._live = Live(console=console, refresh_per_second=8, transient=False)
        self._rates: deque[tuple[float, int]] = deque(maxlen=10)
        self._last_plain = 0.0

    def __enter__(self) -> _Display:
        if self._console.is_terminal:
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._live.stop()

    def say(self, text: str) -> None:
        self._console.print(text)

    def update(self, snapshot: Snapshot, engine: _Engine) -> None:
        now = time.monotonic()
        self._rates.append((now, snapshot.events))
        self._progress.update(self._task, completed=snapshot.completed)
        if self._console.is_terminal:
            self._live.update(Group(self._progress, self._stats(snapshot, engine)))
        elif now - self._last_plain >= _PLAIN_EVERY:
            self._last_plain = now
            self._console.print(_plain(snapshot, self._rate()))

    def _rate(self) -> float:
        (t0, e0), (t1, e1) = self._rates[0], self._rates[-1]
        return (e1 - e0) / (t1 - t0) if t1 > t0 else 0.0

    def _stats(self, snapshot: Snapshot, engine: _Engine) -> RenderableType:
        grid = Table.grid(padding=(0, 2))
        grid.add_row(
            _status_line(snapshot),
            f"engine process {engine.pid} (#{engine.starts})",
        )
        grid.add_row(
            f"restarts [yellow]{snapshot.restarts}[/] · worker crashes "
            f"[yellow]{snapshot.worker_crashes}[/] · activity retries {snapshot.retries}",
            f"events {snapshot.events:,} ({self._rate():,.0f}/s)",
        )
        return grid


def _status_line(snapshot: Snapshot) -> str:
    colors = {"completed": "green", "running": "cyan", "failed": "red", "parked": "yellow"}
    parts = [
        f"[{colors.get(status, 'white')}]{status} {count}[/]"
        for status, count in sorted(snapshot.statuses.items())
    ]
    return "orders: " + (" · ".join(parts) or "starting")


def _plain(snapshot: Snapshot, rate: float) -> str:
    return (
        f"{_status_line(snapshot)} | restarts {snapshot.restarts}, worker crashes "
        f"{snapshot.worker_crashes}, activity retries {snapshot.retries} | "
        f"{snapshot.events:,} events ({rate:,.0f}/s)"
    )


def _summary(
    console: Console, verdict: Verdict, snapshot: Snapshot, engine: _Engine, elapsed: float
) -> None:
    table = Table(title="demo summary", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_column(style="dim")
    table.add_row("orders completed", f"{verdict.completed} / {verdict.orders}", "")
    killed = (
        f"at {engine.killed_at} completed orders, then reopened"
        if engine.killed_at is not None
        else "no kill (--no-faults, or the engine finished first)"
    )
    table.add_row("engine SIGKILLs", str(engine.kills), killed)
    table.add_row("workflow crashes", str(snapshot.crashes), "each restarted by replaying history")
    table.add_row(
        "worker process deaths", str(snapshot.worker_crashes), "worker replaced, attempt retried"
    )
    table.add_row("activity attempts failed", str(snapshot.retries), "retried per RetryPolicy")
    table.add_row(
        "charge executions",
        str(verdict.executions),
        f"{verdict.executions - verdict.charges} repeats absorbed by the idempotency key",
    )
    table.add_row("cards charged", str(verdict.charges), "")
    table.add_row("duplicate charges", str(verdict.duplicate_charges), "")
    rate = snapshot.events / elapsed if elapsed else 0.0
    table.add_row("events recorded", f"{snapshot.events:,}", f"{rate:,.0f}/s over {elapsed:.1f} s")
    console.print(table)
    for problem in verdict.problems[:10]:
        console.print(f"[red]problem:[/] {problem}")
    mark = "[bold green]verdict: " if verdict.ok else "[bold red]verdict FAILED: "
    console.print(f"{mark}{verdict.headline}[/]")
