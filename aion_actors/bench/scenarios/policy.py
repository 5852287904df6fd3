"""``policy``: see what a restart policy does to a failing child before production does.

Real supervised Pykka actors crash on a chosen pattern under the given
``RestartPolicy``; the supervisor's hooks timestamp every crash, backoff wait,
restart and the moment intensity is exhausted. ``--plot`` draws the timeline.

Patterns (per child): ``every`` crashes ``interval_ms`` after each start;
``burst`` crashes once after ``interval_ms``, then ``burst - 1`` more times
right after each restart, then stays up; ``flapping`` models a dependency
that is up ``up_ms`` then down ``down_ms``, over and over: a child crashes
when it goes down and at once when started while it is down.
"""

from __future__ import annotations

import logging
import random
import statistics
import threading
import time
from collections.abc import Hashable
from contextlib import suppress
from typing import Any

import pykka

from aion_actors.bench.ceilings import pykka_start_ms
from aion_actors.bench.harness import Figure, HarnessError, Params, Report, scenario
from aion_actors.bench.scenarios._policy_config import (
    BACKOFF_KEYS,
    build_policy,
    describe,
    resolve_settings,
)
from supervisor import ChildInfo, ChildSpec, ExitReason, RestartPolicy, Supervisor

PATTERNS = ("every", "burst", "flapping")
_POLICY_FLAGS = (
    "strategy",
    "max_restarts",
    "within_seconds",
    "on_exhausted",
    "restart",
    *BACKOFF_KEYS,
)
_CRASH = "crash"


class InjectedCrash(Exception):
    """The failure the simulator injects; nothing is wrong with the code under test."""


class _Simulation:
    """The failure pattern and the event log, shared by the children and the hooks."""

    def __init__(self, params: Params, children: int) -> None:
        self.pattern: str = params["pattern"]
        self.interval = float(params["interval_ms"]) / 1000
        self.burst = int(params["burst"])
        self.up = float(params["up_ms"]) / 1000
        self.down = float(params["down_ms"]) / 1000
        self.children = children
        self.t0 = time.monotonic()
        self.events: list[dict[str, Any]] = []
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._starts: dict[Hashable, int] = {}
        self._exhausted_children = 0

    def now(self) -> float:
        return time.monotonic() - self.t0

    def record(self, kind: str, child: Hashable, detail: str, **extra: float | str) -> None:
        with self._lock:
            self.events.append(
                {"t": self.now(), "kind": kind, "child": str(child), "detail": detail, **extra}
            )

    def incarnation_started(self, key: Hashable) -> float | None:
        """Log a restart; return seconds until this incarnation crashes (None: it stays up)."""
        with self._lock:
            starts = self._starts[key] = self._starts.get(key, 0) + 1
        if starts > 1:
            self.record("restart", key, f"incarnation {starts} running")
        if self.pattern == "every":
            return self.interval
        if self.pattern == "burst":
            return self.interval if starts == 1 else 0.0 if starts <= self.burst else None
        phase = self.now() % (self.up + self.down)
        return self.up - phase if phase < self.up else 0.0

    def outages(self) -> list[list[float]]:
        """The dependency's down intervals so far (``flapping`` only), for the chart."""
        if self.pattern != "flapping":
            return []
        end, period = self.now(), self.up + self.down
        starts = (self.up + k * period for k in range(int(end // period) + 1))
        return [[t, min(t + self.down, end)] for t in starts if t < end]

    def on_exit(self, info: ChildInfo, reason: ExitReason, exc: BaseException | None) -> None:
        if reason.kind == "crash" and not self.done.is_set():
            self.record("crash", info.key, str(reason))

    def on_restart(self, info: ChildInfo, delay: float) -> None:
        if delay > 0:
            with self._lock:
                self.events.append(
                    {
                        "t": self.now() - delay,
                        "kind": "backoff",
                        "child": str(info.key),
                        "duration": delay,
                        "detail": f"backoff wait of {delay * 1000:.1f} ms",
                    }
                )

    def on_child_exhausted(
        self, info: ChildInfo, reason: ExitReason, exc: BaseException | None, action: str
    ) -> None:
        self.record("exhausted", info.key, f"{info.key} given up ({action})", scope="child")
        with self._lock:
            self._exhausted_children += 1
            if self._exhausted_children == self.children:
                self.done.set()

    def on_supervisor_exhausted(self, name: str, info: ChildInfo, reason: ExitReason) -> None:
        self.record(
            "exhausted",
            info.key,
            f"supervisor gave up: {info.key} exited ({reason.kind})",
            scope="supervisor",
        )
        self.done.set()


class _Flaky(pykka.ThreadingActor):
    """A child that crashes when the simulation says so, by raising in ``on_receive``."""

    def __init__(self, key: Hashable, sim: _Simulation) -> None:
        super().__init__()
        self._key = key
        self._sim = sim
        self._timer: threading.Timer | None = None

    def on_start(self) -> None:
        delay = self._sim.incarnation_started(self._key)
        if delay == 0.0:
            self.actor_ref.tell(_CRASH)
        elif delay is not None:
            self._timer = threading.Timer(delay, self._crash_soon)
            self._timer.daemon = True
            self._timer.start()

    def _crash_soon(self) -> None:
        with suppress(pykka.ActorDeadError):
            self.actor_ref.tell(_CRASH)

    def on_receive(self, message: Any) -> Any:
        if message == _CRASH:
            raise InjectedCrash("injected by the policy simulator")
        return message

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def on_stop(self) -> None:
        self._cancel()

    def on_failure(self, *exc_info: Any) -> None:
        self._cancel()


def _check(params: Params) -> None:
    if params["pattern"] not in PATTERNS:
        raise HarnessError(f"policy: pattern={params['pattern']!r}; use one of {PATTERNS}")
    if params["children"] < 1:
        raise HarnessError(f"policy: children={params['children']}; need at least 1")


def _pattern_text(params: Params) -> str:
    n = params["children"]
    who = "1 child" if n == 1 else f"{n} children"
    if params["pattern"] == "every":
        return f"{who}, each crashing {params['interval_ms']} ms after every start"
    if params["pattern"] == "burst":
        return f"{who}, a burst of {params['burst']} crashes after {params['interval_ms']} ms"
    return f"{who}, dependency flapping: up {params['up_ms']} ms / down {params['down_ms']} ms"


def _restart_overheads(events: list[dict[str, Any]]) -> list[float]:
    """Per restart that follows a crash of the same child: time beyond the backoff wait (ms)."""
    crashed: dict[str, float] = {}
    waited: dict[str, float] = {}
    overheads = []
    for e in sorted(events, key=lambda e: e["t"]):
        child = e["child"]
        if e["kind"] == "crash":
            crashed[child] = e["t"]
            waited[child] = 0.0
        elif e["kind"] == "backoff" and child in crashed:
            waited[child] = e["duration"]
        elif e["kind"] == "restart" and child in crashed:
            overheads.append((e["t"] - crashed.pop(child) - waited[child]) * 1000)
    return overheads


def _figures(sim: _Simulation, ceiling: Figure) -> list[Figure]:
    events = sorted(sim.events, key=lambda e: e["t"])
    exhausted = next((e["t"] for e in events if e["kind"] == "exhausted"), None)
    before = [e for e in events if exhausted is None or e["t"] <= exhausted]
    figures = [
        ceiling,
        Figure("exhausted", float(exhausted is not None), "0/1", better="lower"),
        Figure(
            "restarts_before_exhaustion", sum(e["kind"] == "restart" for e in before), "restarts"
        ),
    ]
    if exhausted is not None:
        figures.append(Figure("time_to_exhaustion_ms", exhausted * 1000, "ms"))
    backoffs = [e["duration"] * 1000 for e in events if e["kind"] == "backoff"]
    restarts = sum(e["kind"] == "restart" for e in events)
    if restarts:
        figures.append(Figure("mean_backoff_ms", sum(backoffs) / restarts, "ms", better="lower"))
    overheads = _restart_overheads(events)
    if overheads:
        figures.append(
            Figure(
                "restart_overhead_ms",
                statistics.median(overheads),
                "ms",
                better="lower",
                ceiling=ceiling.name,
            )
        )
    return figures


def _simulate(policy: RestartPolicy, params: Params) -> _Simulation:
    keys = [f"child-{i + 1}" for i in range(params["children"])]
    sim = _Simulation(params, len(keys))
    specs = [
        ChildSpec(
            key=key,
            actor=_Flaky,
            args=(key, sim),
            on_exit=sim.on_exit,
            on_restart=sim.on_restart,
            on_exhausted=sim.on_child_exhausted,
        )
        for key in keys
    ]
    sup = Supervisor.start(
        policy,
        specs,
        name="policy-simulator",
        on_exhausted=sim.on_supervisor_exhausted,
        random=random.Random(params["seed"]).random,
    )
    try:
        sim.done.wait(params["duration"])
    finally:
        sim.done.set()
        sup.stop()
    return sim


@scenario(
    "policy",
    help="Restart-policy simulator: real supervised actors crash on a pattern "
    "(every N ms, burst, flapping); records each crash, backoff wait, restart and "
    "exhaustion (--plot draws the timeline). Policy from --set flags or "
    "--set config=aion.toml (with workflow_type=NAME for [restart.NAME]); policy flags left "
    "null take the file's values, or the demo policy "
    "(one_for_one, 3 restarts in 5 s, backoff 50 ms x2 up to 1 s).",
    defaults={
        "config": None,
        "workflow_type": None,
        **dict.fromkeys(_POLICY_FLAGS),
        "pattern": "every",
        "interval_ms": 100,
        "burst": 5,
        "up_ms": 400,
        "down_ms": 200,
        "children": 1,
        "duration": 10.0,
        "seed": 0,
        "ceiling_samples": 200,
    },
    quick={"duration": 3.0, "ceiling_samples": 50},
)
def run(params: Params) -> Report:
    """Simulate once; the figures describe what the policy did, the timeline shows it."""
    _check(params)
    policy = build_policy(resolve_settings(params))
    ceiling = pykka_start_ms(params["ceiling_samples"])
    pykka_log = logging.getLogger("pykka")
    level = pykka_log.level
    pykka_log.setLevel(logging.CRITICAL)
    try:
        sim = _simulate(policy, params)
    finally:
        pykka_log.setLevel(level)
    summary = {
        "summary": f"policy: {describe(policy)}\npattern: {_pattern_text(params)}",
        "outages": sim.outages(),
    }
    return Report(
        figures=_figures(sim, ceiling),
        series={"timeline": sorted(sim.events, key=lambda e: e["t"]), "policy": [summary]},
    )
