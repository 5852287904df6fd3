"""`ActivityToken`: the string that names one activity attempt, so it can be completed later.

An attempt that raises `CompleteLater` hands `current_attempt().token` to
whatever will finish its work (a queue, a webhook, a person); that party
gives it back to `engine.complete_activity` or `engine.fail_activity`. It is
a plain string that can travel anywhere: a prefix, then the msgpack map
`{v, workflow_id, run_id, activity_id, attempt}` in unpadded URL-safe
base64. It is not a secret and not signed: it names the attempt, nothing more.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Final

from aion_actors.core.codec import packb, unpackb

_PREFIX: Final = "aion-activity:"
_VERSION: Final = 1
_FIELDS: Final = ("workflow_id", "run_id", "activity_id", "attempt")


@dataclass(frozen=True, slots=True)
class ActivityToken:
    workflow_id: str
    run_id: str
    activity_id: str
    attempt: int

    def __str__(self) -> str:
        record = {"v": _VERSION, **{name: getattr(self, name) for name in _FIELDS}}
        return _PREFIX + base64.urlsafe_b64encode(packb(record)).decode().rstrip("=")

    @classmethod
    def parse(cls, text: object) -> ActivityToken:
        """The attempt `text` names; `ValueError` saying what is wrong with it otherwise."""
        if not isinstance(text, str):
            raise _bad(text, f"expected a str, got {type(text).__name__}")
        if not text.startswith(_PREFIX):
            raise _bad(text, f"it does not start with {_PREFIX!r}")
        body = text[len(_PREFIX) :]
        try:
            record: Any = unpackb(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except Exception as exc:  # base64 and msgpack each raise their own kinds
            raise _bad(text, f"its body does not decode ({exc})") from None
        if not isinstance(record, dict):
            raise _bad(text, "its body is not a map")
        if record.get("v") != _VERSION:
            raise _bad(text, f"version {record.get('v')!r}, this engine reads {_VERSION}")
        workflow_id, run_id, activity_id = (record.get(name) for name in _FIELDS[:3])
        ids_ok = all(isinstance(v, str) and v for v in (workflow_id, run_id, activity_id))
        if not ids_ok:
            raise _bad(text, "workflow_id, run_id and activity_id must be non-empty strings")
        attempt = record.get("attempt")
        if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
            raise _bad(text, f"attempt must be an int >= 1, got {attempt!r}")
        return cls(str(workflow_id), str(run_id), str(activity_id), attempt)


def _bad(text: object, why: str) -> ValueError:
    shown = text if not isinstance(text, str) or len(text) <= 60 else text[:60] + "..."
    return ValueError(
        f"{shown!r} is not an activity token: {why}; pass current_attempt().token "
        "exactly as the activity read it"
    )
