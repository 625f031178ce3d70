"""``POST /v1/validate`` (CONTRACT §3; the open rules are in docs/decisions.md §1).

Each check raises a ``ValidationFailure`` carrying the 422 body and the rule it
applies; the first one raised is the answer, which makes "checks run in the
order listed" literal. A recorder (``hit``, ``reference_impl.rules``) hears
that rule, and the order rules the answer shows: a later check the body also
breaks (``_note_order``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from reference_impl.jsonmodel import JsonError, JsonValue, loads
from reference_impl.roster import Roster
from reference_impl.rules import Hit, Rule, ignore

KINDS: Final = ("fill", "email", "playbook")
SUBJECT_LIMIT: Final = 200
MAX_STEPS: Final = 20
CONSISTENCY_FIELDS: Final = ("city", "state", "role")


class ValidationFailure(Exception):
    def __init__(
        self, kind: str, path: str, message: str, rule: Rule, index: int | None = None
    ) -> None:
        super().__init__(message)
        self.body: dict[str, JsonValue] = {"kind": kind, "path": path, "message": message}
        self.rule = rule
        self.index = index  # the fill it is about, if one


@dataclass(frozen=True)
class ValidateOutcome:
    status: int
    body: dict[str, JsonValue]


def _schema(path: str, what: str, rule: Rule, index: int | None = None) -> ValidationFailure:
    return ValidationFailure("schema", path, f"{path}: expected {what}", rule, index)


def _object(value: Any, path: str, rule: Rule, index: int | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _schema(path, "object", rule, index)
    return value


def _array(value: Any, path: str, rule: Rule) -> list[Any]:
    if not isinstance(value, list):
        raise _schema(path, "array", rule)
    return value


def _text(value: Any, path: str, rule: Rule, hit: Hit, index: int | None = None) -> str:
    if not _is_text(value):
        raise _schema(path, "non-empty string", rule, index)
    if value.isspace():
        hit(Rule.VALIDATE_WHITESPACE)
    return str(value)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _positive_integer(value: Any, path: str, hit: Hit) -> int:
    # bool is an int in Python, and a float is never an integer here.
    if isinstance(value, float):
        hit(Rule.VALIDATE_TARGET_COUNT_FLOAT)
    if type(value) is not int or value < 1:
        raise _schema(path, "integer >= 1", Rule.VALIDATE_TARGET_COUNT)
    return value


def _candidate_path(index: int) -> str:
    return f"artifact.fills[{index}].candidate_id"


_CONSISTENCY_RULES: Final = {
    "city": Rule.VALIDATE_CITY,
    "state": Rule.VALIDATE_STATE,
    "role": Rule.VALIDATE_ROLE,
}


def _check_fill(artifact: Any, context: Any, roster: Roster, hit: Hit) -> int:
    ctx = _object(context, "context", Rule.VALIDATE_CONTEXT)
    target = _positive_integer(ctx.get("target_count"), "context.target_count", hit)
    wanted = {
        key: _text(ctx.get(key), f"context.{key}", Rule.VALIDATE_CONTEXT_FIELD, hit)
        for key in CONSISTENCY_FIELDS
    }
    artifact_object = _object(artifact, "artifact", Rule.VALIDATE_ARTIFACT)
    fills = _array(artifact_object.get("fills"), "artifact.fills", Rule.VALIDATE_FILLS_ARRAY)
    ids = [_fill_id(fill, i, hit) for i, fill in enumerate(fills)]
    if len(ids) != target:
        raise ValidationFailure(
            "count",
            "artifact.fills",
            f"expected {target} fills, got {len(ids)}",
            Rule.VALIDATE_COUNT,
        )
    seen: set[str] = set()
    for i, candidate in enumerate(ids):
        if candidate in seen:
            raise ValidationFailure(
                "duplicate",
                _candidate_path(i),
                f"candidate '{candidate}' appears more than once",
                Rule.VALIDATE_DUPLICATE,
                i,
            )
        seen.add(candidate)
    for i, candidate in enumerate(ids):
        if candidate not in roster:
            raise ValidationFailure(
                "phantom",
                _candidate_path(i),
                f"candidate '{candidate}' is not in the roster",
                Rule.VALIDATE_PHANTOM,
                i,
            )
    for i, candidate in enumerate(ids):
        worker = vars(roster[candidate])
        for key, expected in wanted.items():
            if worker[key] != expected:
                raise ValidationFailure(
                    "consistency",
                    _candidate_path(i),
                    f"{key} '{worker[key]}' doesn't match contract {key} '{expected}'",
                    _CONSISTENCY_RULES[key],
                    i,
                )
    for i, candidate in enumerate(ids):
        if not roster[candidate].available:
            raise ValidationFailure(
                "unavailable",
                _candidate_path(i),
                f"candidate '{candidate}' is not available",
                Rule.VALIDATE_UNAVAILABLE,
                i,
            )
    hit(Rule.VALIDATE_FILL_VALID)
    return len(ids)


def _fill_id(fill: Any, index: int, hit: Hit) -> str:
    entry = _object(fill, f"artifact.fills[{index}]", Rule.VALIDATE_FILL_OBJECT, index)
    candidate = _text(
        entry.get("candidate_id"), _candidate_path(index), Rule.VALIDATE_CANDIDATE_ID, hit, index
    )
    if len(entry) > 1:
        hit(Rule.VALIDATE_EXTRA_KEYS)
    return candidate


def _check_email(artifact: Any, context: Any, roster: Roster, hit: Hit) -> int:
    ctx = _object(context, "context", Rule.VALIDATE_CONTEXT)
    wanted = _text(
        ctx.get("candidate_id"), "context.candidate_id", Rule.VALIDATE_EMAIL_CONTEXT_ID, hit
    )
    body = _object(artifact, "artifact", Rule.VALIDATE_ARTIFACT)
    candidate = _text(
        body.get("candidate_id"), "artifact.candidate_id", Rule.VALIDATE_EMAIL_FIELD, hit
    )
    subject = _text(body.get("subject"), "artifact.subject", Rule.VALIDATE_EMAIL_FIELD, hit)
    _text(body.get("body"), "artifact.body", Rule.VALIDATE_EMAIL_FIELD, hit)
    if len(subject) > SUBJECT_LIMIT:
        raise _schema(
            "artifact.subject", f"at most {SUBJECT_LIMIT} characters", Rule.VALIDATE_SUBJECT_LENGTH
        )
    if len(subject) == SUBJECT_LIMIT:
        hit(Rule.VALIDATE_SUBJECT_AT_LIMIT)
    if len(subject.encode("utf-8", "surrogatepass")) > SUBJECT_LIMIT:
        hit(Rule.VALIDATE_SUBJECT_CHARACTERS)
    if candidate != wanted:
        raise ValidationFailure(
            "consistency",
            "artifact.candidate_id",
            f"candidate_id '{candidate}' doesn't match contract candidate_id '{wanted}'",
            Rule.VALIDATE_EMAIL_CONSISTENCY,
        )
    if candidate not in roster:
        raise ValidationFailure(
            "phantom",
            "artifact.candidate_id",
            f"candidate '{candidate}' is not in the roster",
            Rule.VALIDATE_EMAIL_PHANTOM,
        )
    hit(Rule.VALIDATE_EMAIL_VALID)
    return 1


def _check_playbook(artifact: Any, context: Any, roster: Roster, hit: Hit) -> int:
    if not isinstance(context, dict):
        hit(Rule.VALIDATE_CONTEXT_NOT_READ)
    body = _object(artifact, "artifact", Rule.VALIDATE_ARTIFACT)
    _text(body.get("title"), "artifact.title", Rule.VALIDATE_TITLE, hit)
    steps = _array(body.get("steps"), "artifact.steps", Rule.VALIDATE_STEPS_ARRAY)
    if not 1 <= len(steps) <= MAX_STEPS:
        raise _schema("artifact.steps", f"1 to {MAX_STEPS} items", Rule.VALIDATE_STEPS_COUNT)
    for i, step in enumerate(steps):
        _text(step, f"artifact.steps[{i}]", Rule.VALIDATE_STEP, hit)
    hit(Rule.VALIDATE_PLAYBOOK_VALID)
    return len(steps)


_CHECKS: Final[dict[str, Callable[[Any, Any, Roster, Hit], int]]] = {
    "fill": _check_fill,
    "email": _check_email,
    "playbook": _check_playbook,
}


def validate(request: JsonValue, roster: Roster, hit: Hit = ignore) -> ValidateOutcome:
    """Validate a parsed request body. ``hit`` hears the rules the answer went through."""
    try:
        body = _object(request, "$", Rule.VALIDATE_NOT_OBJECT)
        kind = body.get("kind")
        if not isinstance(kind, str) or kind not in _CHECKS:
            raise _schema("kind", "one of " + ", ".join(KINDS), Rule.VALIDATE_UNKNOWN_KIND)
        checked = _CHECKS[kind](body.get("artifact"), body.get("context"), roster, hit)
    except ValidationFailure as failure:
        hit(failure.rule)
        if hit is not ignore and isinstance(request, dict):
            _note_failure(failure, request, roster, hit)
        return ValidateOutcome(422, failure.body)
    return ValidateOutcome(200, {"kind": kind, "valid": True, "checked": checked})


def validate_text(text: str, roster: Roster, hit: Hit = ignore) -> ValidateOutcome:
    """Validate a raw request body: text that is not JSON is not an object."""
    try:
        request = loads(text, hit)
    except JsonError:
        hit(Rule.VALIDATE_NOT_JSON)
        return validate(None, roster)  # not JSON: not an object either, said once
    return validate(request, roster, hit)


# ---------------------------------------------------------------------------
# What a 422 shows besides its check: an absent field read as null, a near
# miss, and the order rules (a later check the body also breaks; each
# predicate runs only where the checks before the failure passed).

_CONTEXT_FAILURES: Final = frozenset(
    {
        Rule.VALIDATE_CONTEXT,
        Rule.VALIDATE_TARGET_COUNT,
        Rule.VALIDATE_CONTEXT_FIELD,
        Rule.VALIDATE_EMAIL_CONTEXT_ID,
    }
)
_EMAIL_FIELDS: Final = ("candidate_id", "subject", "body")


def _note_failure(
    failure: ValidationFailure, body: dict[str, Any], roster: Roster, hit: Hit
) -> None:
    """The rules a 422 shows besides the check that failed."""
    where = failure.body["path"]
    if where in ("artifact", "context") and where not in body:
        hit(Rule.VALIDATE_ABSENT_AS_NULL)
    artifact: Any = body.get("artifact")
    context: Any = body.get("context")
    rule = failure.rule
    if rule in _CONTEXT_FAILURES:
        if _artifact_broken(body.get("kind"), artifact):
            hit(Rule.ORDER_CONTEXT_ARTIFACT)
    elif rule in (Rule.VALIDATE_FILL_OBJECT, Rule.VALIDATE_CANDIDATE_ID):
        if len(artifact["fills"]) != context["target_count"]:
            hit(Rule.ORDER_SHAPE_COUNT)
    elif rule is Rule.VALIDATE_COUNT:
        ids = _ids(artifact)
        if len(set(ids)) < len(ids):
            hit(Rule.ORDER_COUNT_DUPLICATE)
    elif failure.index is not None:
        _note_fill_order(failure, failure.index, _ids(artifact), context, roster, hit)
    elif rule is Rule.VALIDATE_EMAIL_FIELD:
        subject = artifact.get("subject")
        if isinstance(subject, str) and len(subject) > SUBJECT_LIMIT:
            hit(Rule.ORDER_EMAIL_FIELDS_LENGTH)
    elif rule is Rule.VALIDATE_EMAIL_CONSISTENCY:
        if artifact["candidate_id"] not in roster:
            hit(Rule.ORDER_EMAIL_CONSISTENCY_PHANTOM)
        _note_near_miss(artifact["candidate_id"], (context["candidate_id"],), hit)
    elif rule is Rule.VALIDATE_STEPS_COUNT:
        if not all(_is_text(step) for step in artifact["steps"]):
            hit(Rule.ORDER_STEPS_COUNT_STEP)
    elif rule is Rule.VALIDATE_EMAIL_PHANTOM:
        _note_near_miss(artifact["candidate_id"], roster, hit)


def _artifact_broken(kind: Any, artifact: Any) -> bool:
    """Whether the artifact of a fill or email breaks a check of its own shape."""
    if not isinstance(artifact, dict):
        return True
    if kind == "email":
        return not all(_is_text(artifact.get(key)) for key in _EMAIL_FIELDS)
    fills = artifact.get("fills")
    if not isinstance(fills, list):
        return True
    return not all(isinstance(f, dict) and _is_text(f.get("candidate_id")) for f in fills)


def _ids(artifact: Any) -> list[str]:
    return [fill["candidate_id"] for fill in artifact["fills"]]


def _fill_faults(ids: list[str], index: int, context: Any, roster: Roster) -> list[str]:
    """The rules fill ``index`` breaks, in check order (consistency fields by name)."""
    candidate = ids[index]
    faults = []
    if candidate in ids[:index]:
        faults.append("duplicate")
    if candidate not in roster:
        return [*faults, "phantom"]
    worker = roster[candidate]
    faults += [key for key in CONSISTENCY_FIELDS if getattr(worker, key) != context[key]]
    if not worker.available:
        faults.append("unavailable")
    return faults


def _note_fill_order(
    failure: ValidationFailure,
    index: int,
    ids: list[str],
    context: Any,
    roster: Roster,
    hit: Hit,
) -> None:
    rule = failure.rule
    every = [_fill_faults(ids, i, context, roster) for i in range(len(ids))]
    anywhere = {fault for faults in every for fault in faults}
    if len(every[index]) > 1:
        hit(Rule.VALIDATE_TWO_RULES)
    if rule is Rule.VALIDATE_DUPLICATE and "phantom" in anywhere:
        hit(Rule.ORDER_DUPLICATE_PHANTOM)
    if rule is Rule.VALIDATE_PHANTOM:
        if anywhere & set(CONSISTENCY_FIELDS):
            hit(Rule.ORDER_PHANTOM_CONSISTENCY)
        _note_near_miss(ids[index], roster, hit)
    field = next((k for k, r in _CONSISTENCY_RULES.items() if r is rule), None)
    if field is None:
        return
    position = CONSISTENCY_FIELDS.index(field)
    if set(every[index]) & set(CONSISTENCY_FIELDS[position + 1 :]):
        hit(Rule.ORDER_CONSISTENCY_FIELDS)
    earlier = set(CONSISTENCY_FIELDS[:position])
    if any(earlier & set(faults) for faults in every[index + 1 :]):
        hit(Rule.ORDER_FILL_BEFORE_FIELD)
    if "unavailable" in anywhere:
        hit(Rule.ORDER_CONSISTENCY_UNAVAILABLE)
    worker_value = getattr(roster[ids[index]], field)
    _note_near_miss(context[field], (worker_value,), hit)


def _note_near_miss(value: str, known: Any, hit: Hit) -> None:
    """A mismatch that case folding or trimming would have hidden."""
    folded = value.strip().casefold()
    if any(folded == str(other).strip().casefold() for other in known):
        hit(Rule.VALIDATE_EXACT)
