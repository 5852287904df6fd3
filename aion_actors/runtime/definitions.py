"""`@workflow` and `@activity`: what users register, and the policies they carry.

A definition wraps the user's function without changing how it is called
directly (handy in unit tests) and adds the name it is registered under,
its retry/restart policy and a version hash of its code, which every run
pins when it starts so a later code change is visible in `describe`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import math
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from types import CodeType
from typing import Any, Generic, Literal, ParamSpec, TypeVar, cast, overload

from aion_actors.core import ConfigError
from aion_actors.core import events as ev
from aion_actors.core.durations import NOT_GIVEN, NotGiven, RetentionSpec, parse_retention
from aion_actors.core.payloads import Hints, hints_of
from aion_actors.runtime import options as opt
from aion_actors.runtime.rates import Rate
from aion_actors.workers import FINAL_ERRORS, process_refusal, unimportable_reason
from supervisor import Backoff, RestartPolicy

P = ParamSpec("P")
R = TypeVar("R")
Executor = Literal["process", "thread"]
EXECUTORS: tuple[Executor, ...] = ("process", "thread")
#: what a workflow's cancellation does to an activity it awaits (README: "Activity
#: cancellation and heartbeats")
CancelMode = Literal["try", "wait", "abandon"]
CANCEL_MODES: tuple[CancelMode, ...] = ("try", "wait", "abandon")
#: seconds a cancelled attempt on the process executor has to stop before it is killed
DEFAULT_CANCEL_GRACE = 5.0

#: runs restart by replay a few times, quickly at first, then fail (DESIGN.md: Supervision).
DEFAULT_RUN_RESTART = RestartPolicy(
    max_restarts=3,
    within_seconds=60.0,
    backoff=Backoff(initial=0.1, multiplier=2.0, max=10.0, jitter=0.1),
    on_exhausted="fail",
    restart="transient",
)


def run_restart_policy(policy: RestartPolicy, label: str) -> RestartPolicy:
    """A `RestartPolicy` as it applies to one run (`label` names whose, in a refusal).

    `RestartPolicy`'s own defaults are OTP's: a run that completes must not be
    restarted, so `permanent` means `transient` here; and a run's exhausted budget
    ends that run only, so `escalate` (which would stop every run) means `fail`.
    A strategy other than `one_for_one` (never a default) is refused, as in `aion.toml`:
    each run is supervised on its own, so it could mean nothing.
    """
    if policy.strategy != "one_for_one":
        from aion_actors.config.keys import WHY_NOT  # (config imports this module)

        why = WHY_NOT[("strategy", policy.strategy)]
        raise ConfigError(f"{label}: RestartPolicy(strategy={policy.strategy!r}) is refused: {why}")
    changes: dict[str, Any] = {}
    if policy.restart == "permanent":
        changes["restart"] = "transient"
    if policy.on_exhausted == "escalate":
        changes["on_exhausted"] = "fail"
    return dataclasses.replace(policy, **changes) if changes else policy


@dataclass(frozen=True, slots=True)
class AttemptFailure:
    """A failed attempt as a `RetryPolicy(non_retryable=...)` predicate sees it.

    Recorded data only — the error's class name and message, never the
    exception object (which may have been raised in a worker process). The
    predicate runs once, in the engine process, as the failure is recorded;
    its decision (retry or not) is recorded with it, so replay never asks again.
    """

    activity: str
    attempt: int
    type: str
    message: str


#: `RetryPolicy.non_retryable`: exception types, or a predicate that is true to stop retrying
NonRetryable = tuple[type[BaseException], ...] | Callable[[AttemptFailure], bool]


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How an activity is retried: exponential waits, recorded as durable timers.

    `max_attempts=None` retries without limit (bound the whole activity with
    `ctx.activity(timeout=)`). `non_retryable` is a tuple of exception types,
    matched by class name, or a predicate on the `AttemptFailure`.
    """

    max_attempts: int | None = 3
    initial: float = 0.1
    multiplier: float = 2.0
    max_interval: float = 10.0
    non_retryable: NonRetryable = ()

    def __post_init__(self) -> None:
        attempts = self.max_attempts
        if attempts is not None and (
            isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1
        ):
            raise ConfigError(
                "RetryPolicy.max_attempts must be an int >= 1, or None to retry without "
                f"limit, got {attempts!r}"
            )
        for name, least in (("initial", 0), ("max_interval", 0), ("multiplier", 1)):
            value = getattr(self, name)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not (number and value >= least and math.isfinite(value)):
                raise ConfigError(
                    f"RetryPolicy.{name} must be a finite number >= {least}, got {value!r}"
                )
        object.__setattr__(self, "non_retryable", _non_retryable(self.non_retryable))

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if self.initial == 0:
            return 0.0
        try:
            return float(min(self.max_interval, self.initial * self.multiplier ** (attempt - 1)))
        except OverflowError:  # unlimited attempts: the wait has long reached its cap
            return float(self.max_interval)

    def attempts_left(self, attempt: int) -> bool:
        """Whether another attempt may follow attempt number `attempt`."""
        return self.max_attempts is None or attempt < self.max_attempts

    def retryable(self, failure: AttemptFailure) -> bool:
        """False for `non_retryable` failures, and for errors no attempt can overcome.

        Those (`FINAL_ERRORS`: the activity cannot run in a worker at all) would
        come back the same from every attempt. A predicate that raises stops the
        retries too (the caller records why).
        """
        if failure.type in FINAL_ERRORS:
            return False
        rule = self.non_retryable
        if isinstance(rule, tuple):
            return failure.type not in {cls.__name__ for cls in rule}
        return not rule(failure)


def _non_retryable(rule: Any) -> NonRetryable:
    """`RetryPolicy.non_retryable` checked: a tuple of exception types, or a predicate."""
    if isinstance(rule, type) and issubclass(rule, BaseException):
        return (rule,)
    if isinstance(rule, tuple | list):
        bad = [r for r in rule if not (isinstance(r, type) and issubclass(r, BaseException))]
        if bad:
            raise ConfigError(
                f"RetryPolicy.non_retryable: {bad[0]!r} is not an exception type; give a "
                "tuple of exception types, or one predicate taking an AttemptFailure"
            )
        return tuple(rule)
    if callable(rule):
        return cast("Callable[[AttemptFailure], bool]", rule)
    raise ConfigError(
        f"RetryPolicy.non_retryable must be a tuple of exception types or a predicate "
        f"taking an AttemptFailure, got {rule!r}"
    )


def code_version(fn: Callable[..., Any]) -> str:
    """A short hash of a function's code, so a run can tell when its code changed."""
    digest = hashlib.sha256()

    def feed(code: CodeType) -> None:
        digest.update(code.co_code)
        digest.update(repr(code.co_names).encode())
        for const in code.co_consts:
            if isinstance(const, CodeType):
                feed(const)
            else:
                digest.update(repr(const).encode())

    feed(fn.__code__)
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class ActivityDefinition(Generic[P, R]):
    """A registered activity; calling it runs the function directly."""

    fn: Callable[P, R]
    name: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float | None = None
    executor: Executor = "process"
    #: the policy fields the decorator was given, which an `aion.toml` must not override.
    explicit: frozenset[str] = frozenset()
    #: an attempt with no heartbeat for this many seconds fails (None: never)
    heartbeat_timeout: float | None = None
    cancel: CancelMode = "try"
    cancel_grace: float = DEFAULT_CANCEL_GRACE
    #: at most this many of its attempts in flight in this engine (None: no bound)
    concurrency: int | None = None
    #: at most `limit` attempts started per `per` seconds in this engine (None: no bound)
    rate: Rate | None = None

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)

    @property
    def import_path(self) -> str:
        """Where a worker process finds this definition: `module:qualname`."""
        return f"{self.fn.__module__}:{self.fn.__qualname__}"

    @functools.cached_property
    def hints(self) -> Hints:
        """The function's annotations, resolved once, for the payload converter."""
        return hints_of(self.fn, f"activity {self.name!r}")


@dataclass(frozen=True)
class WorkflowDefinition:
    """A registered workflow: an `async def (ctx, *args)` coroutine function."""

    fn: Callable[..., Coroutine[Any, Any, Any]]
    name: str
    version: str
    restart: RestartPolicy = DEFAULT_RUN_RESTART
    fail_on: tuple[type[BaseException], ...] = ()
    #: the policy fields the decorator was given, which an `aion.toml` must not override.
    explicit: frozenset[str] = frozenset()
    #: seconds a closed run is kept before the pruner deletes it; None keeps it forever
    retention: float | None = None

    def __call__(self, *args: Any) -> Coroutine[Any, Any, Any]:
        return self.fn(*args)

    @functools.cached_property
    def hints(self) -> Hints:
        """The coroutine function's annotations (after `ctx`), resolved once."""
        return hints_of(self.fn, f"workflow {self.name!r}", skip=1)


@overload
def activity(fn: Callable[P, R], /) -> ActivityDefinition[P, R]: ...


@overload
def activity(
    *,
    name: str | None = None,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    executor: Executor | None = None,
    heartbeat_timeout: float | None = None,
    cancel: CancelMode = "try",
    cancel_grace: float = DEFAULT_CANCEL_GRACE,
    concurrency: int | None = None,
    rate: Rate | tuple[int, float] | None = None,
) -> Callable[[Callable[P, R]], ActivityDefinition[P, R]]: ...


def activity(
    fn: Callable[P, R] | None = None,
    *,
    name: str | None = None,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    executor: Executor | None = None,
    heartbeat_timeout: float | None = None,
    cancel: CancelMode = "try",
    cancel_grace: float = DEFAULT_CANCEL_GRACE,
    concurrency: int | None = None,
    rate: Rate | tuple[int, float] | None = None,
) -> Any:
    """Declare an activity: a side-effecting step run in a worker, retried per `retry`.

    `executor` defaults to `"process"`; what is left out may come from an `aion.toml`.
    `heartbeat_timeout` fails an attempt whose heartbeats stop for that long;
    `cancel` and `cancel_grace` say what a cancel of the awaiting workflow does
    (README: "Activity cancellation and heartbeats"). `concurrency` and `rate`
    (`(limit, seconds)`) bound its attempts across the engine's runs (README:
    "Activity limits").
    """
    given: dict[str, Any] = {"retry": retry, "timeout": timeout, "executor": executor}
    given |= {"concurrency": concurrency, "rate": rate}

    def wrap(func: Callable[P, R]) -> ActivityDefinition[P, R]:
        called = opt.definition_name("activity", name, func)
        label = f"activity {called!r}"
        chosen = opt.choice(label, "executor", executor or "process", EXECUTORS)
        definition = ActivityDefinition(
            fn=func,
            name=called,
            retry=opt.instance_or_none(label, "retry", retry, RetryPolicy) or RetryPolicy(),
            timeout=opt.seconds_or_none(label, "timeout", timeout),
            executor=chosen,
            explicit=frozenset(k for k, v in given.items() if v is not None),
            heartbeat_timeout=opt.seconds_or_none(label, "heartbeat_timeout", heartbeat_timeout),
            cancel=opt.choice(label, "cancel", cancel, CANCEL_MODES),
            cancel_grace=opt.grace_seconds(label, "cancel_grace", cancel_grace),
            concurrency=opt.bound_or_none(label, "concurrency", concurrency),
            rate=opt.rate_or_none(label, rate),
        )
        if chosen == "process":
            check_process_activity(called, func)
        return definition

    return wrap(fn) if fn is not None else wrap


def check_process_activity(name: str, fn: Callable[..., Any], source: str | None = None) -> None:
    """Refuse `fn` as activity `name` on the process executor if no worker could import it.

    `source` names the config file when its `[activity.<name>]` chose the process executor.
    """
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str):
        reason = unimportable_reason(module, qualname)
        if reason is None:
            return
    else:
        reason = "has no module and qualified name (it is not a plain function)"
    message = process_refusal(name, f"{module}:{qualname}", reason)
    if source is not None:
        message = f'{source}: [activity.{name}] executor = "process": {message}'
    raise ConfigError(message)


@overload
def workflow(fn: Callable[..., Coroutine[Any, Any, Any]], /) -> WorkflowDefinition: ...


@overload
def workflow(
    *,
    name: str | None = None,
    restart: RestartPolicy | None = None,
    fail_on: tuple[type[BaseException], ...] = (),
    retention: RetentionSpec | NotGiven = NOT_GIVEN,
) -> Callable[[Callable[..., Coroutine[Any, Any, Any]]], WorkflowDefinition]: ...


def workflow(
    fn: Callable[..., Coroutine[Any, Any, Any]] | None = None,
    *,
    name: str | None = None,
    restart: RestartPolicy | None = None,
    fail_on: tuple[type[BaseException], ...] = (),
    retention: RetentionSpec | NotGiven = NOT_GIVEN,
) -> Any:
    """Declare a workflow: `async def wf(ctx, *args)`, replayed from history after a crash.

    `retention` (seconds, a timedelta or "30d"; None: forever) is how long a closed
    run is kept; left out, the `aion.toml` says (README: "Retention").
    """
    given = {"restart"} if restart is not None else set()
    if retention is not NOT_GIVEN:
        given.add("retention")

    def wrap(func: Callable[..., Coroutine[Any, Any, Any]]) -> WorkflowDefinition:
        if not inspect.iscoroutinefunction(func):
            raise ConfigError(f"workflow {func.__qualname__} must be an `async def` function")
        called = opt.definition_name("workflow", name, func)
        label = f"workflow {called!r}"
        policy = opt.instance_or_none(label, "restart", restart, RestartPolicy)
        kept = None if retention is NOT_GIVEN else parse_retention(retention, f"{label}: retention")
        return WorkflowDefinition(
            fn=func,
            name=called,
            version=code_version(func),
            restart=run_restart_policy(policy or DEFAULT_RUN_RESTART, label),
            fail_on=opt.exception_types(label, "fail_on", fail_on),
            explicit=frozenset(given),
            retention=kept,
        )

    return wrap(fn) if fn is not None else wrap


def restart_ages(
    history: Sequence[ev.Event], definition: WorkflowDefinition | None, now: int
) -> tuple[float, ...]:
    """Ages at `now` of recorded restarts, so a run's restart budget survives an engine restart."""
    window = (definition.restart if definition else DEFAULT_RUN_RESTART).within_seconds
    ages: list[float] = []
    for event in history:
        if isinstance(event, ev.RunResumed):
            ages.clear()
        elif isinstance(event, ev.RunRestarted):
            ages.append((now - event.recorded_at) / 1e9)
    return tuple(age for age in ages if age < window)
