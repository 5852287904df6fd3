"""Build the policy scenario's ``RestartPolicy`` from ``--set`` flags or an ``aion.toml``.

Precedence: explicit ``--set`` flags, then the config file's
``[restart.<workflow_type>]`` over ``[restart.default]``, then (only when no
file is given) a demo policy chosen to show backoff and exhaustion.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aion_actors.bench.harness import HarnessError, Params
from supervisor import Backoff, RestartPolicy

BACKOFF_KEYS = {
    "backoff_initial": "initial",
    "backoff_multiplier": "multiplier",
    "backoff_max": "max",
    "backoff_jitter": "jitter",
}
DEMO_POLICY: dict[str, Any] = {
    "strategy": "one_for_one",
    "max_restarts": 3,
    "within_seconds": 5.0,
    "backoff_initial": 0.05,
    "backoff_multiplier": 2.0,
    "backoff_max": 1.0,
    "backoff_jitter": 0.0,
    "on_exhausted": "escalate",
}


def _policy_keys() -> set[str]:
    names = {f.name for f in dataclasses.fields(RestartPolicy)} - {"backoff"}
    return names | set(BACKOFF_KEYS)


def _table(path: Path, data: Mapping[str, Any], name: str) -> dict[str, Any]:
    table = data.get("restart", {}).get(name, {})
    if not isinstance(table, dict):
        raise HarnessError(f"{path}: [restart.{name}] must be a table")
    unknown = sorted(set(table) - _policy_keys())
    if unknown:
        raise HarnessError(
            f"{path}: [restart.{name}] has unknown key {unknown[0]!r}; "
            f"known keys: {', '.join(sorted(_policy_keys()))}"
        )
    return table


def read_config(path: Path, workflow_type: str | None) -> dict[str, Any]:
    """The restart settings for ``workflow_type`` (or the default table) in ``path``."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise HarnessError(f"policy: cannot read config {path}: {exc}") from exc
    settings = _table(path, data, "default")
    if workflow_type is not None:
        if workflow_type not in data.get("restart", {}):
            raise HarnessError(
                f"{path}: no [restart.{workflow_type}] table for workflow_type={workflow_type!r}"
            )
        settings.update(_table(path, data, workflow_type))
    return settings


def resolve_settings(params: Params) -> dict[str, Any]:
    """The flat restart settings the scenario runs with, after every source is applied."""
    config = params.get("config")
    if config is None:
        settings = dict(DEMO_POLICY)
    else:
        settings = read_config(Path(config), params.get("workflow_type"))
    settings.update({k: params[k] for k in _policy_keys() if params.get(k) is not None})
    return settings


def build_policy(settings: Mapping[str, Any]) -> RestartPolicy:
    """A ``RestartPolicy`` from flat settings; bad values are named in the error."""
    backoff = {BACKOFF_KEYS[k]: v for k, v in settings.items() if k in BACKOFF_KEYS}
    fields = {k: v for k, v in settings.items() if k not in BACKOFF_KEYS}
    try:
        return RestartPolicy(**fields, backoff=Backoff(**backoff))
    except (TypeError, ValueError) as exc:
        raise HarnessError(f"policy: invalid restart policy {dict(settings)}: {exc}") from exc


def describe(policy: RestartPolicy) -> str:
    """One line a chart title can carry: strategy, intensity and backoff."""
    b = policy.backoff
    jitter = f", jitter {b.jitter:g}" if b.jitter else ""
    return (
        f"{policy.strategy}, max {policy.max_restarts} restarts in {policy.within_seconds:g} s, "
        f"backoff {b.initial * 1000:g} ms x{b.multiplier:g} up to {b.max * 1000:g} ms{jitter}, "
        f"on_exhausted={policy.on_exhausted}"
    )
