"""Artifacts (and /v1/validate contexts) that break a set of checks: the
values that break one check, fills, emails and playbooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from hypothesis import strategies as st

from harness.strategies.live.checks import (
    ABSENT,
    FRACTION,
    REVERSED,
    WORKER_FAULTS,
    WORKER_SET,
    Faults,
)
from harness.strategies.live.roster_facts import (
    FILL_CONTEXTS,
    OTHER_IDS,
    WORKERS,
    first_wrong,
    worker_choice,
    workers,
    wrong_for,
)

MISSING: Final = object()  # a field left out
EMAIL_TEXT: Final = "Hello, can you work Monday?"
PLAYBOOK_STEPS: Final = ("Inspect", "Weld", "Grind")


def put(obj: dict[str, Any], key: str, value: object) -> None:
    if value is not MISSING:
        obj[key] = value


def put_or_drop(obj: dict[str, Any], key: str, value: object) -> None:
    """Like ``put``, but a missing value removes the key."""
    if value is MISSING:
        obj.pop(key, None)
    else:
        obj[key] = value


# -- values that break one check ----------------------------------------------------

_NOT_OBJECTS: Final = st.sampled_from((None, MISSING, "array", "W-2"))  # "array": [the value]
_NOT_TEXTS: Final = st.sampled_from((MISSING, "", 5, None))
_NOT_ARRAYS: Final = st.sampled_from((MISSING, "object", "W-2", None))  # "object": {"0": ...}
_BAD_TARGETS: Final = st.sampled_from((0, MISSING, -1, 2.0, "2", None, True, 2**64))
_FRACTIONS: Final = st.sampled_from((2.0, 1.0, 3.0))  # numbers, but not integers
PHANTOM_IDS: Final = st.sampled_from(
    ("W-99", "w-2", " W-2", "W-2 ", "W-0", "W-1\u0000", "W-é", "W-13")
)
_NOT_OBJECT_FILLS: Final = st.sampled_from(("id", 5, None, "list"))  # "id": the bare id
_BAD_ID_FILLS: Final[st.SearchStrategy[dict[str, Any]]] = st.sampled_from(
    ({"candidate_id": ""}, {"name": "Ada"}, {"candidate_id": 5}, {"candidate_id": None})
)
# A context value one character away from the roster's: every worker then disagrees.
_NEAR_MISSES: Final[tuple[Callable[[str], str], ...]] = (str.lower, lambda v: v + " ")
_NEAR_MISS: Final = st.sampled_from(_NEAR_MISSES)
_LONG_SUBJECTS: Final = st.sampled_from(("a" * 201, "😀" * 201, "é" * 201, "x" * 200 + "😀"))
_NOT_BODIES: Final = st.sampled_from((MISSING, "", ["x"], None))
_BAD_STEP_COUNTS: Final = st.sampled_from((0, 21))
_BAD_STEPS: Final = st.sampled_from(("", 5, None, ["x"]))


def _not_object_fill(choice: object, worker: str) -> Any:
    if choice == "id":
        return worker
    return [{"candidate_id": worker}] if choice == "list" else choice


def _not_object(value: Any, choice: Any) -> Any:
    return [value] if choice == "array" else choice


def _not_array(value: Any, choice: Any) -> Any:
    return {"0": value} if choice == "object" else choice


# -- fills --------------------------------------------------------------------------


def _bad_fills(
    draw: st.DrawFn, place_index: int, faults: Faults, context: dict[str, Any] | None
) -> list[Any]:
    """One fill per fault an entry can carry, in check order. With a free
    ``context`` (a /v1/validate body) a consistency fault may sit on the
    context's side instead: a value that no worker has."""
    matching = FILL_CONTEXTS[place_index][1]
    bad: list[Any] = []
    if "fills[i]" in faults:
        bad.append(_not_object_fill(draw(_NOT_OBJECT_FILLS), matching[0]))
    if "fills[i].candidate_id" in faults:
        bad.append(dict(draw(_BAD_ID_FILLS)))
    if "phantom" in faults:
        bad.append({"candidate_id": draw(PHANTOM_IDS)})
    wanted = faults & WORKER_SET
    covered: set[str] = set()  # one worker may be wrong in two ways
    for fault in WORKER_FAULTS:
        if fault not in faults or (fault in covered and REVERSED not in faults):
            continue
        if _context_side(draw, context, fault, faults, workers(place_index, fault, wanted)[1]):
            continue
        # A scenario's fill has a fixed target: fewer wrong workers, fewer
        # good ones to give up. Reversed: each worker wrong in no earlier field.
        if REVERSED in faults:
            worker = draw(st.sampled_from(first_wrong(place_index, fault)))
        else:
            worker = draw(worker_choice(place_index, fault, wanted, context is None))
        covered |= wrong_for(worker, FILL_CONTEXTS[place_index][0]) & wanted
        bad.append({"candidate_id": worker})
    # Either order of two failing fills is worth testing: a /v1/validate body
    # asks for the other one (its first fault answers), an artifact draws it.
    if len(bad) > 1 and (REVERSED in faults if context is not None else draw(st.booleans())):
        bad.reverse()
    return bad


def _context_side(
    draw: st.DrawFn, context: dict[str, Any] | None, fault: str, faults: Faults, clean: bool
) -> bool:
    """Whether a consistency fault went to the context's side: a value that
    no worker has (only in a /v1/validate body, whose context is free).
    Always so when no clean worker shows the fault."""
    field = fault.removeprefix("consistency.")
    if context is None or fault == "unavailable" or f"context.{field}" in faults:
        return False
    if REVERSED in faults:
        return False  # each fault on a worker of its own, in the order given
    if clean and not draw(st.booleans()):
        return False
    context[field] = draw(_NEAR_MISS)(context[field])
    return True


def _with_duplicate(fills: list[Any], good: list[Any], faults: Faults) -> list[Any]:
    """``fills`` with one id again: the phantom when there is one (a duplicate
    that is also a phantom), else the first id."""
    ids = [f for f in fills if isinstance(f, dict) and isinstance(f.get("candidate_id"), str)]
    ids = [f for f in ids if f["candidate_id"]]
    phantoms = [f for f in ids if f["candidate_id"] not in WORKERS]
    source = phantoms[0] if phantoms and "phantom" in faults else (ids or good)[0]
    if source not in fills:
        fills = [source, *fills]
    return [*fills, dict(source)]


def _miscounted(fills: list[Any], matching: tuple[str, ...], target: int) -> list[Any]:
    """``fills`` with one fill more or less than ``target``."""
    if len(fills) != target:
        return fills  # the other faults already changed the count
    spare = [i for i in matching if {"candidate_id": i} not in fills]
    if spare:
        return [*fills, {"candidate_id": spare[0]}]
    for index, fill in enumerate(fills):
        if (
            isinstance(fill, dict)
            and fill.get("candidate_id") in matching
            and fills.count(fill) == 1
        ):
            return fills[:index] + fills[index + 1 :]
    return fills[:-1]


def fill_case(
    draw: st.DrawFn, place_index: int, target: int, faults: Faults, *, free: bool
) -> tuple[Any, Any]:
    """(context, artifact) of a fill breaking ``faults``. ``free``: the context
    may change too (a /v1/validate body); otherwise it is the scenario's."""
    (city, state, role), matching = FILL_CONTEXTS[place_index]
    context: dict[str, Any] = {"target_count": target, "city": city, "state": state, "role": role}
    good: list[Any] = [{"candidate_id": i} for i in matching[:target]]
    if free and draw(st.booleans()):
        good[0] = {**good[0], "note": "<&>", "rate": 1.0}  # other keys are allowed
    bad = _bad_fills(draw, place_index, faults, context if free else None)
    # The bad fills (and the copy a duplicate adds) take the place of good ones,
    # so that the count stays right where the target allows.
    room = target - len(bad) - ("duplicate" in faults)
    # A /v1/validate fill keeps one good worker: a context-side fault needs one.
    fills = good[: max(int(free), room)] + bad
    if "duplicate" in faults:
        fills = _with_duplicate(fills, good, faults)
    if free:
        _free_count(draw, context, fills, faults)
    if "count" in faults and context.get("target_count") == target:
        fills = _miscounted(fills, matching, target)
    artifact: Any = {"fills": fills}
    if "artifact.fills" in faults:
        artifact = {}
        put(artifact, "fills", _not_array(fills, draw(_NOT_ARRAYS)))
    if free:
        return _broken_fill_context(draw, context, faults), _broken_artifact(draw, artifact, faults)
    return context, artifact


def _free_count(draw: st.DrawFn, context: dict[str, Any], fills: list[Any], faults: Faults) -> None:
    """A /v1/validate context asks for as many fills as there are, or, for a
    count fault, sometimes for another number (else the fills change)."""
    if "context.target_count" in faults:
        put_or_drop(
            context, "target_count", draw(_FRACTIONS if FRACTION in faults else _BAD_TARGETS)
        )
    elif "count" not in faults:
        context["target_count"] = max(1, len(fills))
    elif draw(st.booleans()):
        n = len(fills)
        context["target_count"] = n - 1 if n > 1 and draw(st.booleans()) else n + 1


def _broken_fill_context(draw: st.DrawFn, context: dict[str, Any], faults: Faults) -> Any:
    for field in ("city", "state", "role"):
        if f"context.{field}" in faults:
            put_or_drop(context, field, draw(_NOT_TEXTS))
    if "context" in faults:
        return _not_object(context, _not_object_choice(draw, faults))
    return context


def _broken_artifact(draw: st.DrawFn, artifact: Any, faults: Faults) -> Any:
    if "artifact" not in faults:
        return artifact
    return _not_object(artifact, _not_object_choice(draw, faults))


def _not_object_choice(draw: st.DrawFn, faults: Faults) -> Any:
    return MISSING if ABSENT in faults else draw(_NOT_OBJECTS)


# -- emails and playbooks ------------------------------------------------------------

_SUBJECTS: Final = st.sampled_from(
    ("Shift offer", "a" * 200, "é" * 200, "<b>&</b>", "e\u0301" * 100, "x" * 199 + "😀")
)
# White space alone is a non-empty string (docs/decisions.md §1).
_BODIES: Final = st.sampled_from(("Hello, can you work Monday?", "Grüße 😀 <b>", " \t"))
_TITLES: Final = st.sampled_from(("Weld check", "<Admin> & Co", "é" * 300, "\u3000"))
_STEP_COUNTS: Final = st.sampled_from((1, 2, 3, 20))
_ODD_STEPS: Final = st.sampled_from((None, "😀 weld", "<script>", " "))


def email_case(draw: st.DrawFn, wanted: str, faults: Faults, *, free: bool) -> tuple[Any, Any]:
    """(context, artifact) of an email breaking ``faults``."""
    subject, text = (draw(_SUBJECTS), draw(_BODIES)) if free else ("Shift offer", EMAIL_TEXT)
    context: Any = {"candidate_id": wanted}
    artifact: Any = {"candidate_id": wanted, "subject": subject, "body": text}
    if "phantom" in faults:
        artifact["candidate_id"] = draw(PHANTOM_IDS)
        if free and "consistency.candidate_id" not in faults:
            context["candidate_id"] = artifact["candidate_id"]  # a phantom and nothing else
    elif "consistency.candidate_id" in faults:
        artifact["candidate_id"] = draw(OTHER_IDS[wanted])
    if "subject.length" in faults:
        artifact["subject"] = draw(_LONG_SUBJECTS)
    for field, values in (("body", _NOT_BODIES), ("subject", _NOT_TEXTS)):
        if f"artifact.{field}" in faults:
            put_or_drop(artifact, field, draw(values))
    if "artifact.candidate_id" in faults:
        put_or_drop(artifact, "candidate_id", draw(_NOT_TEXTS))
    if not free:
        return context, artifact
    if "context.candidate_id" in faults:
        put_or_drop(context, "candidate_id", draw(_NOT_TEXTS))
    if "context" in faults:
        context = _not_object(context, _not_object_choice(draw, faults))
    return context, _broken_artifact(draw, artifact, faults)


def playbook_case(draw: st.DrawFn, faults: Faults, *, free: bool) -> Any:
    """A playbook artifact breaking ``faults`` (the context is not read)."""
    if free:
        artifact: Any = {"title": draw(_TITLES), "steps": _steps(draw, draw(_STEP_COUNTS))}
    else:
        artifact = {"title": "Weld check", "steps": list(PLAYBOOK_STEPS)}
    if "steps.count" in faults:
        count = 21 if "steps[i]" in faults else draw(_BAD_STEP_COUNTS)
        artifact["steps"] = [f"s{i}" for i in range(count)]
    steps = artifact["steps"]
    if "steps[i]" in faults:
        steps[draw(st.integers(0, len(steps) - 1))] = draw(_BAD_STEPS)
    if "artifact.steps" in faults:
        put_or_drop(artifact, "steps", _not_array(steps, draw(_NOT_ARRAYS)))
    if "artifact.title" in faults:
        put_or_drop(artifact, "title", draw(_NOT_TEXTS))
    return _broken_artifact(draw, artifact, faults) if free else artifact


def _steps(draw: st.DrawFn, count: int) -> list[Any]:
    steps: list[Any] = [f"Step {i + 1}" for i in range(count)]
    odd = draw(_ODD_STEPS)
    if odd is not None:  # still valid: whitespace is non-empty, markup is text
        steps[draw(st.integers(0, count - 1))] = odd
    return steps
