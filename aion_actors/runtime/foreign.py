"""Workflow code that awaited asyncio instead of a ctx command: which call, and its ctx twin.

A workflow coroutine is driven by its run actor, never by an event loop, so
an asyncio call inside it either raises (no running loop) or yields
something the driver does not know. Either way the run fails with a
`ForeignAwaitError` naming the asyncio call and the ctx command that does
the same thing durably.
"""

from __future__ import annotations

from typing import Any, Final

from aion_actors.runtime.commands import ForeignAwaitError

_COMMANDS: Final = "ctx.activity, ctx.sleep, ctx.wait_signal, ctx.child, ctx.gather"
_CONCURRENT: Final = "ctx.gather(ctx.activity(...), ...), which runs commands concurrently"
_TIMEOUT: Final = "the timeout= argument of ctx.activity(...) or ctx.wait_signal(...)"
_SIGNAL: Final = "ctx.wait_signal(name), fed by engine.signal(workflow_id, name, payload)"
_THREAD: Final = "ctx.activity(...) with an @activity(executor='thread')"

#: asyncio function (qualname) -> the ctx command that does its job in a workflow
_TWINS: Final[dict[str, str]] = {
    "sleep": "ctx.sleep(seconds), a durable timer",
    "gather": _CONCURRENT,
    "wait": _CONCURRENT,
    "as_completed": _CONCURRENT,
    "create_task": _CONCURRENT,
    "ensure_future": _CONCURRENT,
    "TaskGroup": _CONCURRENT,
    "wait_for": _TIMEOUT,
    "timeout": _TIMEOUT,
    "timeout_at": _TIMEOUT,
    "Timeout": _TIMEOUT,
    "Event": _SIGNAL,
    "Condition": _SIGNAL,
    "Queue": _SIGNAL,
    "to_thread": _THREAD,
    "run_in_executor": _THREAD,
}


def from_exception(workflow: str, exc: Exception) -> ForeignAwaitError | None:
    """The `ForeignAwaitError` for `exc` if asyncio raised it (no running loop), else None."""
    api = _raised_by_asyncio(exc)
    if api is None and not (isinstance(exc, RuntimeError) and "event loop" in str(exc)):
        return None
    error = _error(workflow, api, f"{type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


def from_yield(workflow: str, yielded: Any, coro: Any) -> ForeignAwaitError:
    """The `ForeignAwaitError` for an await that yielded `yielded`, not a ctx command."""
    api = _awaited_asyncio(coro)
    if api is None and _is_asyncio(type(yielded).__module__):
        api = type(yielded).__qualname__
    return _error(workflow, api, f"{type(yielded).__name__} {yielded!r}")


def _error(workflow: str, api: str | None, detail: str) -> ForeignAwaitError:
    if api is None:
        return ForeignAwaitError(
            f"workflow {workflow!r} awaited something that is not a ctx command ({detail}); "
            f"workflows may only await ctx commands ({_COMMANDS}) — do other I/O in an activity"
        )
    head = api.split(".")[0]
    twin = _TWINS.get(head) or _TWINS.get(api.rsplit(".", 1)[-1])
    advice = (
        f"instead of asyncio.{api}, use {twin}"
        if twin
        else f"use the ctx command that does the same durably ({_COMMANDS})"
    )
    return ForeignAwaitError(
        f"workflow {workflow!r} called asyncio.{api}(), but no event loop runs workflow code: "
        f"it may only await ctx commands ({_COMMANDS}) — {advice}"
    )


def _raised_by_asyncio(exc: BaseException) -> str | None:
    """The first asyncio function on `exc`'s traceback, when asyncio itself raised it."""
    tb = exc.__traceback__
    first: str | None = None
    innermost = ""
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if first is None and _is_asyncio(module):
            first = tb.tb_frame.f_code.co_qualname
        innermost = module
        tb = tb.tb_next
    return first if _is_asyncio(innermost) else None


def _awaited_asyncio(coro: Any) -> str | None:
    """The outermost asyncio coroutine on the chain of awaits `coro` is suspended in."""
    awaited = getattr(coro, "cr_await", None)
    for _ in range(64):
        if awaited is None:
            return None
        code = getattr(awaited, "cr_code", None) or getattr(awaited, "gi_code", None)
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        module = frame.f_globals.get("__name__", "") if frame is not None else ""
        if code is not None and _is_asyncio(str(module)):
            return str(code.co_qualname)
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return None


def _is_asyncio(module: str) -> bool:
    return module == "asyncio" or module.startswith("asyncio.")
