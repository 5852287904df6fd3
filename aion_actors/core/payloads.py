"""Where a payload converter meets the engine: each boundary's encode or decode.

The engine, the workflow context, the replay driver and the executors call
these helpers with the *active* converter: None for `DefaultConverter`, which
changes nothing, so every boundary costs one `is None` test by default.
Values are encoded where they enter a run and decoded against the
annotations of whoever receives them, resolved once per definition
(`Hints`). A converter that fails, or returns what is not msgpack, is a
`PayloadError` naming it and the value (`converter_faults`).
Worker processes rebuild the converter from an import path, never a pickle.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from aion_actors.core import converter_faults as faults
from aion_actors.core.codec import check_payload
from aion_actors.core.converter import DefaultConverter, PayloadConverter
from aion_actors.core.errors import ConfigError, PayloadError

DEFAULT: Final = DefaultConverter()
_POSITIONAL: Final = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_VAR_POSITIONAL: Final = inspect.Parameter.VAR_POSITIONAL

#: what `Engine(converter=...)` accepts: an instance, a class, or "module:qualname"
ConverterSpec = PayloadConverter | type | str | None


@dataclass(frozen=True, slots=True)
class Hints:
    """A callable's resolved annotations; None where a value needs no decoding."""

    names: tuple[str, ...]  #: positional parameters, in order
    params: tuple[Any, ...]  #: their annotations
    rest: str | None  #: the name of `*args`, if any
    rest_hint: Any
    returns: Any

    def param(self, index: int) -> tuple[str, Any]:
        """The name and annotation of the positional parameter that receives `args[index]`."""
        if index < len(self.params):
            return self.names[index], self.params[index]
        return (f"*{self.rest}", self.rest_hint) if self.rest else (f"#{index}", None)


class Typed(Protocol):
    """A definition that knows its name and caches its `Hints`."""

    @property
    def name(self) -> str: ...

    @property
    def hints(self) -> Hints: ...


def hints_of(fn: Callable[..., Any], what: str, *, skip: int = 0) -> Hints:
    """`fn`'s annotations, resolved by `typing.get_type_hints` (`skip`: leading parameters)."""
    cached = getattr(fn, "hints", None)
    if isinstance(cached, Hints):
        return cached
    function: Any = inspect.unwrap(fn)
    try:
        parameters = list(inspect.signature(function).parameters.values())
        names = [p.name for p in parameters if p.kind in _POSITIONAL][skip:]
        rest = next((p.name for p in parameters if p.kind is _VAR_POSITIONAL), None)
        resolved = _type_hints(function, {*names, rest, "return"})
    except Exception as exc:
        raise ConfigError(
            f"cannot resolve the type annotations of {what} ({type(exc).__name__}: {exc}); the "
            "payload converter needs them: define or import the types they name at module level"
        ) from exc
    return Hints(
        names=tuple(names),
        params=tuple(_useful(resolved.get(name)) for name in names),
        rest=rest,
        rest_hint=_useful(resolved.get(rest)) if rest else None,
        returns=_useful(resolved.get("return")),
    )


def _type_hints(function: Any, wanted: set[str | None]) -> dict[str, Any]:
    """`typing.get_type_hints` of the annotations in `wanted` only.

    The others (`ctx: WorkflowContext` imported under `TYPE_CHECKING`, say)
    need not resolve at run time, since nothing is ever decoded for them.
    """
    target = function if inspect.isroutine(function) else type(function).__call__
    target = getattr(target, "__func__", target)
    if not isinstance(target, types.FunctionType):
        return typing.get_type_hints(target)
    shim = types.FunctionType(
        target.__code__, target.__globals__, target.__name__, None, target.__closure__
    )
    shim.__annotations__ = {k: v for k, v in target.__annotations__.items() if k in wanted}
    return typing.get_type_hints(shim)


def _useful(hint: Any) -> Any:
    return None if hint is None or hint is Any or hint is object or hint is type(None) else hint


# -- the converter an engine uses, and how worker processes find it


def active(converter: PayloadConverter | None) -> PayloadConverter | None:
    """None when `converter` changes nothing (the default): the boundaries then skip it."""
    return None if converter is None or type(converter) is DefaultConverter else converter


def resolve(spec: ConverterSpec) -> tuple[PayloadConverter, str]:
    """The converter `spec` names, and the `module:qualname` worker processes rebuild it from.

    `spec` is a converter, a converter class (called with no arguments) or
    the import path of either. An instance is found again in worker
    processes as the module-level name bound to it, or else by calling its
    class with no arguments — which must then build an equal converter.
    """
    if spec is None:
        return DEFAULT, f"{DefaultConverter.__module__}:{DefaultConverter.__qualname__}"
    if isinstance(spec, str):
        return load(spec), spec
    converter = _instance(spec, repr(spec))
    return converter, _import_path(converter)


def load(path: str) -> PayloadConverter:
    """The converter at `module:qualname` (a class is called with no arguments)."""
    module_name, _, qualname = path.partition(":")
    if not module_name or not qualname:
        raise ConfigError(f"converter {path!r} is not a 'module:qualname' import path")
    try:
        target: Any = importlib.import_module(module_name)
        for attribute in qualname.split("."):
            target = getattr(target, attribute)
    except Exception as exc:
        raise ConfigError(
            f"converter {path!r} cannot be imported ({type(exc).__name__}: {exc}); "
            "define it at module level in an importable module"
        ) from exc
    return _instance(target, path)


def _instance(target: Any, what: str) -> PayloadConverter:
    if isinstance(target, type):
        try:
            target = target()
        except Exception as exc:
            raise ConfigError(
                f"converter class {what} cannot be called with no arguments "
                f"({type(exc).__name__}: {exc}); pass an instance instead"
            ) from exc
    if not isinstance(target, PayloadConverter):
        raise ConfigError(
            f"converter {what} is not a payload converter: it needs the methods "
            "to_payload(value) and from_payload(value, type_hint)"
        )
    return target


def _import_path(converter: PayloadConverter) -> str:
    cls = type(converter)
    module = sys.modules.get(cls.__module__)
    for name, value in vars(module).items() if module is not None else ():
        if value is converter:
            return f"{cls.__module__}:{name}"
    path = f"{cls.__module__}:{cls.__qualname__}"
    advice = (
        "worker processes rebuild a converter by calling its class with no arguments: define "
        "the class at module level, or pass converter='module:name' naming a module-level instance"
    )
    if "<locals>" in cls.__qualname__:
        raise ConfigError(f"converter {converter!r} is defined inside a function; {advice}")
    rebuilt = load(path)
    if type(rebuilt) is not cls or getattr(rebuilt, "__dict__", {}) != getattr(
        converter, "__dict__", {}
    ):
        raise ConfigError(
            f"converter {converter!r} differs from {path}() with no arguments; {advice}"
        )
    return path


# -- the boundaries


def encode(converter: PayloadConverter | None, value: Any, path: str) -> Any:
    """`value` as the payload to record (unchanged without a converter)."""
    if converter is None:
        return value
    try:
        encoded = converter.to_payload(value)
    except PayloadError:
        raise
    except Exception as exc:
        raise faults.failed(converter, value, path, exc) from exc
    faults.checked_output(converter, value, encoded, path)
    return encoded


def encode_list(converter: PayloadConverter | None, values: Sequence[Any], path: str) -> list[Any]:
    """Arguments as the payloads to record: a list still, or a `PayloadError` naming the
    converter that made something else of them."""
    if converter is None:
        return list(values)
    return faults.a_list(converter, encode(converter, list(values), path), path)


def checked(converter: PayloadConverter | None, value: Any, path: str, max_bytes: int) -> Any:
    """`encode`, then refused (`PayloadError`) unless a payload of at most `max_bytes`."""
    value = encode(converter, value, path)
    check_payload(value, path, max_bytes=max_bytes)
    return value


def encode_inputs(
    converter: PayloadConverter | None, inputs: Iterable[Sequence[Any]]
) -> Iterable[Sequence[Any]]:
    """Start inputs (each a run's arguments) as payloads; what is not a sequence is left as is."""
    if converter is None:
        return inputs
    inputs = list(inputs)
    return [
        encode_list(converter, args, "input" if len(inputs) == 1 else f"inputs[{index}]")
        if isinstance(args, list | tuple)
        else args
        for index, args in enumerate(inputs)
    ]


def decode(converter: PayloadConverter | None, value: Any, hint: Any, path: str) -> Any:
    """A recorded `value` as `hint` asks (unchanged without a converter or a hint)."""
    if converter is None or hint is None:
        return value
    try:
        return converter.from_payload(value, hint)
    except Exception as exc:
        name = hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")
        raise PayloadError(
            path, f"cannot be decoded as {name} ({type(exc).__name__}: {exc})"
        ) from exc


def decode_args(
    converter: PayloadConverter | None, hints: Hints, args: Sequence[Any], whose: str, root: str
) -> list[Any]:
    """Positional `args` decoded against `hints`; errors name `root[i]`, the parameter, `whose`."""
    if converter is None:
        return list(args)
    decoded = []
    for index, value in enumerate(args):
        name, hint = hints.param(index)
        path = f"{root}[{index}] (parameter {name!r} of {whose})"
        decoded.append(decode(converter, value, hint, path))
    return decoded


def typed_result(converter: PayloadConverter | None, workflow: Typed | None, value: Any) -> Any:
    """A workflow's recorded result as its return annotation asks (for `result()`)."""
    if converter is None or workflow is None:
        return value
    return decode(converter, value, workflow.hints.returns, f"result of workflow {workflow.name!r}")


class ActivityCodec:
    """An executor's side of the converter for one activity: its arguments in, its result out."""

    __slots__ = ("_converter", "_function", "_hints", "_name")

    def __init__(self, converter: PayloadConverter, name: str, function: Callable[..., Any]):
        self._converter = converter
        self._name = name
        self._function = function
        self._hints: Hints | None = None

    def args(self, args: Sequence[Any]) -> list[Any]:
        if self._hints is None:
            try:
                self._hints = hints_of(self._function, f"activity {self._name!r}")
            except ConfigError as exc:
                raise PayloadError("args", str(exc)) from exc
        return decode_args(self._converter, self._hints, args, f"activity {self._name!r}", "args")

    def result(self, value: Any) -> Any:
        return encode(self._converter, value, f"result of activity {self._name!r}")


def activity_codecs(
    converter: PayloadConverter | str | None, functions: Mapping[str, Callable[..., Any]]
) -> dict[str, ActivityCodec] | None:
    """One codec per activity; None when the converter changes nothing."""
    loaded = active(load(converter) if isinstance(converter, str) else converter)
    if loaded is None:
        return None
    return {name: ActivityCodec(loaded, name, function) for name, function in functions.items()}
