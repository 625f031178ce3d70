"""``POST /v1/validate`` (CONTRACT §3; the open rules are in docs/decisions.md §1).

Each check raises a ``ValidationFailure`` carrying the 422 body; the first one
raised is the answer, which makes "checks run in the order listed" literal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from reference_impl.jsonmodel import JsonError, JsonValue, loads
from reference_impl.roster import Roster

KINDS: Final = ("fill", "email", "playbook")
SUBJECT_LIMIT: Final = 200
MAX_STEPS: Final = 20


class ValidationFailure(Exception):
    def __init__(self, kind: str, path: str, message: str) -> None:
        super().__init__(message)
        self.body: dict[str, JsonValue] = {"kind": kind, "path": path, "message": message}


@dataclass(frozen=True)
class ValidateOutcome:
    status: int
    body: dict[str, JsonValue]


def _schema(path: str, what: str) -> ValidationFailure:
    return ValidationFailure("schema", path, f"{path}: expected {what}")


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _schema(path, "object")
    return value


def _array(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _schema(path, "array")
    return value


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise _schema(path, "non-empty string")
    return value


def _positive_integer(value: Any, path: str) -> int:
    # bool is an int in Python, and a float is never an integer here.
    if type(value) is not int or value < 1:
        raise _schema(path, "integer >= 1")
    return value


def _candidate_path(index: int) -> str:
    return f"artifact.fills[{index}].candidate_id"


def _check_fill(artifact: Any, context: Any, roster: Roster) -> int:
    ctx = _object(context, "context")
    target = _positive_integer(ctx.get("target_count"), "context.target_count")
    wanted = {key: _text(ctx.get(key), f"context.{key}") for key in ("city", "state", "role")}
    fills = _array(_object(artifact, "artifact").get("fills"), "artifact.fills")
    ids = [
        _text(_object(fill, f"artifact.fills[{i}]").get("candidate_id"), _candidate_path(i))
        for i, fill in enumerate(fills)
    ]
    if len(ids) != target:
        raise ValidationFailure(
            "count", "artifact.fills", f"expected {target} fills, got {len(ids)}"
        )
    seen: set[str] = set()
    for i, candidate in enumerate(ids):
        if candidate in seen:
            raise ValidationFailure(
                "duplicate", _candidate_path(i), f"candidate '{candidate}' appears more than once"
            )
        seen.add(candidate)
    for i, candidate in enumerate(ids):
        if candidate not in roster:
            raise ValidationFailure(
                "phantom", _candidate_path(i), f"candidate '{candidate}' is not in the roster"
            )
    for i, candidate in enumerate(ids):
        worker = vars(roster[candidate])
        for key, expected in wanted.items():
            if worker[key] != expected:
                raise ValidationFailure(
                    "consistency",
                    _candidate_path(i),
                    f"{key} '{worker[key]}' doesn't match contract {key} '{expected}'",
                )
    for i, candidate in enumerate(ids):
        if not roster[candidate].available:
            raise ValidationFailure(
                "unavailable", _candidate_path(i), f"candidate '{candidate}' is not available"
            )
    return len(ids)


def _check_email(artifact: Any, context: Any, roster: Roster) -> int:
    wanted = _text(_object(context, "context").get("candidate_id"), "context.candidate_id")
    body = _object(artifact, "artifact")
    candidate = _text(body.get("candidate_id"), "artifact.candidate_id")
    subject = _text(body.get("subject"), "artifact.subject")
    _text(body.get("body"), "artifact.body")
    if len(subject) > SUBJECT_LIMIT:
        raise _schema("artifact.subject", f"at most {SUBJECT_LIMIT} characters")
    if candidate != wanted:
        raise ValidationFailure(
            "consistency",
            "artifact.candidate_id",
            f"candidate_id '{candidate}' doesn't match contract candidate_id '{wanted}'",
        )
    if candidate not in roster:
        raise ValidationFailure(
            "phantom", "artifact.candidate_id", f"candidate '{candidate}' is not in the roster"
        )
    return 1


def _check_playbook(artifact: Any, context: Any, roster: Roster) -> int:
    body = _object(artifact, "artifact")
    _text(body.get("title"), "artifact.title")
    steps = _array(body.get("steps"), "artifact.steps")
    if not 1 <= len(steps) <= MAX_STEPS:
        raise _schema("artifact.steps", f"1 to {MAX_STEPS} items")
    for i, step in enumerate(steps):
        _text(step, f"artifact.steps[{i}]")
    return len(steps)


_CHECKS: Final[dict[str, Callable[[Any, Any, Roster], int]]] = {
    "fill": _check_fill,
    "email": _check_email,
    "playbook": _check_playbook,
}


def validate(request: JsonValue, roster: Roster) -> ValidateOutcome:
    """Validate a parsed request body."""
    try:
        body = _object(request, "$")
        kind = body.get("kind")
        if not isinstance(kind, str) or kind not in _CHECKS:
            raise _schema("kind", "one of " + ", ".join(KINDS))
        checked = _CHECKS[kind](body.get("artifact"), body.get("context"), roster)
    except ValidationFailure as failure:
        return ValidateOutcome(422, failure.body)
    return ValidateOutcome(200, {"kind": kind, "valid": True, "checked": checked})


def validate_text(text: str, roster: Roster) -> ValidateOutcome:
    """Validate a raw request body: text that is not JSON is not an object."""
    try:
        request = loads(text)
    except JsonError:
        request = None
    return validate(request, roster)
