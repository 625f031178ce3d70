"""Hypothesis strategies for the live suites: /v1/validate request bodies and
/v1/iterate scenarios (a request, a trace header, the model's scripted replies).

Every choice is a native Hypothesis draw, and every menu lists its plainest
option first: Hypothesis shrinks ``sampled_from`` towards the first element,
integers towards the lower bound, booleans towards ``False`` and lists towards
fewer elements. The engine shrinks live cases with Hypothesis alone, so every
case drawn here is admissible by construction (an iterate request valid
against ``schemas/iterate-request.json``, replies ``Reply.from_json`` reads,
a trace header name that is an HTTP token).

Invalid cases are built from sets of faults named after the validator's
checks (``CHECKS``, in the order they run), often two adjacent ones at once:
an order of checks is only tested by a case that breaks both.
``benchmarks/check_pairs.py`` counts how often each adjacent pair is reached.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Any, Final

from hypothesis import strategies as st

from harness import defaults

# ---------------------------------------------------------------------------
# Live cases: /v1/validate requests and /v1/iterate scenarios.
#
# They are written against the fixture roster (fixtures/roster.jsonl): the
# workers below are its facts, so that generated fills are often valid, and
# invalid in named ways when not. Against another roster the same cases still
# run; they are simply rejected more often.
#
# Every case is plain JSON (reproducers store it). A scenario carries its
# model replies as script entries (``harness.mock_llm.Reply.from_json``) and a
# case ``id`` derived from its content; the suite gives each *execution* its
# own session id and prompt marker, so a case can run any number of times.

# (city, state, role) -> the available workers that match, in roster order.
FILL_CONTEXTS: Final = (
    (("Toledo", "OH", "Welder"), ("W-2", "W-3", "W-10")),
    (("Columbus", "OH", "Forklift Operator"), ("W-7", "W-8")),
    (("Louisville", "KY", "Welder"), ("W-1",)),
    (("Louisville", "KY", "Forklift Operator"), ("W-12",)),
    (("Louisville", "KY", "Electrician"), ("W-9",)),
    (("Toledo", "OH", "Electrician"), ("W-4",)),
)
ROSTER_IDS: Final = tuple(f"W-{i}" for i in range(1, 13))
AVAILABLE_IDS: Final = ("W-1", "W-2", "W-3", "W-4", "W-6", "W-7", "W-8", "W-9", "W-10", "W-12")
# id -> (city, state, role, available), as in the fixture roster.
_WORKERS: Final = {
    "W-1": ("Louisville", "KY", "Welder", True),
    "W-2": ("Toledo", "OH", "Welder", True),
    "W-3": ("Toledo", "OH", "Welder", True),
    "W-4": ("Toledo", "OH", "Electrician", True),
    "W-5": ("Toledo", "OH", "Welder", False),
    "W-6": ("Toledo", "MI", "Welder", True),
    "W-7": ("Columbus", "OH", "Forklift Operator", True),
    "W-8": ("Columbus", "OH", "Forklift Operator", True),
    "W-9": ("Louisville", "KY", "Electrician", True),
    "W-10": ("Toledo", "OH", "Welder", True),
    "W-11": ("Columbus", "OH", "Welder", False),
    "W-12": ("Louisville", "KY", "Forklift Operator", True),
}
_MISSING: Final = object()  # a field left out

# The checks of /v1/validate per kind, in the order they run (docs/decisions.md
# §1, reference_impl/validate.py): the first one broken is the answer. An order
# is only tested by a case that breaks two of them, so the strategies below
# draw sets of these names and build bodies that break them together.
CHECKS: Final[dict[str, tuple[str, ...]]] = {
    "fill": (
        "$", "kind", "context", "context.target_count", "context.city", "context.state",
        "context.role", "artifact", "artifact.fills", "fills[i]", "fills[i].candidate_id",
        "count", "duplicate", "phantom", "consistency.city", "consistency.state",
        "consistency.role", "unavailable",
    ),
    "email": (
        "$", "kind", "context", "context.candidate_id", "artifact", "artifact.candidate_id",
        "artifact.subject", "artifact.body", "subject.length", "consistency.candidate_id",
        "phantom",
    ),
    "playbook": (
        "$", "kind", "artifact", "artifact.title", "artifact.steps", "steps.count", "steps[i]",
    ),
}  # fmt: skip
# Adjacent checks no body breaks together: the second is a rule about the
# elements or the length of an array that the first says is not there.
UNREACHABLE_PAIRS: Final = frozenset(
    {("artifact.fills", "fills[i]"), ("artifact.steps", "steps.count")}
)
# The checks an /v1/iterate artifact can break: its context is the scenario's
# (well-formed but for a few scenarios, whose one broken field then answers
# every attempt: ``_BROKEN_CONTEXTS``) and extract_json only ever yields an object.
ARTIFACT_CHECKS: Final = {
    kind: checks[checks.index("artifact") + 1 :] for kind, checks in CHECKS.items()
}
# Checks past the shape: what a well-formed artifact can still get wrong.
_SEMANTIC: Final = frozenset(
    {
        "count", "duplicate", "phantom", "consistency.city", "consistency.state",
        "consistency.role", "unavailable", "consistency.candidate_id",
    }
)  # fmt: skip
_WORKER_FAULTS: Final = ("consistency.city", "consistency.state", "consistency.role", "unavailable")
_WORKER_SET: Final = frozenset(_WORKER_FAULTS)


def _case_id(prefix: str, case: dict[str, Any]) -> str:
    digest = hashlib.blake2b(json.dumps(case, sort_keys=True).encode(), digest_size=5)
    return prefix + digest.hexdigest()


def _put(obj: dict[str, Any], key: str, value: object) -> None:
    if value is not _MISSING:
        obj[key] = value


def _set(obj: dict[str, Any], key: str, value: object) -> None:
    """Like ``_put``, but a missing value removes the key."""
    if value is _MISSING:
        obj.pop(key, None)
    else:
        obj[key] = value


# -- how many faults, and which ------------------------------------------------------

Faults = frozenset[str]

# Markers a fault set may carry besides checks: how a /v1/validate body breaks
# them (a container absent rather than of the wrong type, a target_count with
# a fraction, the fill wrong in a later field put first).
ABSENT: Final = "~absent"
FRACTION: Final = "~fraction"
REVERSED: Final = "~reversed"


def _with_later(draw: st.DrawFn, kind: str, first: str) -> set[str]:
    """``first`` and maybe checks of ``kind`` after it: none, the next one (the
    order of the two decides the answer), or the next one and two adjacent
    ones further on (their order is tested too, by a case whose answer is
    ``first``)."""
    checks = CHECKS[kind]
    later = [c for c in checks[checks.index(first) + 1 :] if (first, c) not in _NOT_TOGETHER]
    faults = {first}
    mode = draw(_LATER)
    if mode == "none" or not later:
        return faults
    faults.add(later[0])
    pairs = [pair for pair in pairwise(later[1:]) if pair not in _NOT_TOGETHER]
    if mode == "pair" and pairs:
        faults.update(draw(st.sampled_from(pairs)))
    return faults


_LATER: Final = st.sampled_from(("none", "next", "next", "pair", "pair"))
# A body without its context or artifact object has none of their fields
# either: one fault already breaks both checks of these pairs, so a body
# breaking the first is not said to break the second as well.
_CONTAINER_PAIRS: Final = frozenset(
    {
        ("context", "context.target_count"), ("context", "context.candidate_id"),
        ("artifact", "artifact.fills"), ("artifact", "artifact.candidate_id"),
        ("artifact", "artifact.title"),
    }
)  # fmt: skip
_NOT_TOGETHER: Final = UNREACHABLE_PAIRS | _CONTAINER_PAIRS


# -- values that break one check ----------------------------------------------------

_NOT_OBJECTS: Final = st.sampled_from((None, _MISSING, "array", "W-2"))  # "array": [the value]
_NOT_TEXTS: Final = st.sampled_from((_MISSING, "", 5, None))
_NOT_ARRAYS: Final = st.sampled_from((_MISSING, "object", "W-2", None))  # "object": {"0": ...}
_BAD_TARGETS: Final = st.sampled_from((0, _MISSING, -1, 2.0, "2", None, True, 2**64))
_FRACTIONS: Final = st.sampled_from((2.0, 1.0, 3.0))  # numbers, but not integers
_BAD_KINDS: Final = st.sampled_from(("Fill", _MISSING, "", None, 5, "fills", "playbook ", ["fill"]))
_PHANTOM_IDS: Final = st.sampled_from(
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
_NOT_BODIES: Final = st.sampled_from((_MISSING, "", ["x"], None))
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


def _wrong_for(worker: str, place: tuple[str, str, str]) -> frozenset[str]:
    """The worker-side checks ``worker`` breaks in a fill for ``place``."""
    *mine, available = _WORKERS[worker]
    fields = ("city", "state", "role")
    wrong = {f"consistency.{f}" for f, a, b in zip(fields, mine, place, strict=True) if a != b}
    return frozenset(wrong if available else wrong | {"unavailable"})


@cache
def _workers(
    place_index: int, fault: str, wanted: Faults, tight: bool = False
) -> tuple[tuple[str, ...], bool]:
    """The workers that break ``fault`` in a fill for the place, and whether
    they are clean: wrong in no worker-side check before the first one
    ``wanted``, so that the order of the wanted checks decides the answer.
    Clean ones only when there are some; those wrong in the fewest other ways
    first (a single fault stays as single as the roster allows, and
    shrinking lands there). ``tight`` (no room for more fills): only those
    that show the most of the ``wanted`` faults at once, e.g. an unavailable
    worker that is also of the wrong role."""
    place = FILL_CONTEXTS[place_index][0]
    found = [w for w in ROSTER_IDS if fault in _wrong_for(w, place)]
    found.sort(key=lambda w: len(_wrong_for(w, place)))
    first = min(_WORKER_FAULTS.index(f) for f in wanted)
    clean = [w for w in found if min(map(_WORKER_FAULTS.index, _wrong_for(w, place))) >= first]
    chosen = clean or found
    if tight:
        most = max(len(_wrong_for(w, place) & wanted) for w in chosen)
        chosen = [w for w in chosen if len(_wrong_for(w, place) & wanted) == most]
    return tuple(chosen), bool(clean)


@cache
def _worker_choice(
    place_index: int, fault: str, wanted: Faults, tight: bool
) -> st.SearchStrategy[str]:
    return st.sampled_from(_workers(place_index, fault, wanted, tight)[0])


@cache
def _first_wrong(place_index: int, fault: str) -> tuple[str, ...]:
    """The workers whose first wrong worker-side check for the place is ``fault``."""
    place = FILL_CONTEXTS[place_index][0]
    return tuple(
        w
        for w in ROSTER_IDS
        if (wrong := _wrong_for(w, place)) and min(wrong, key=_WORKER_FAULTS.index) == fault
    )


@cache
def _places(wanted: Faults, reversed_: bool = False) -> st.SearchStrategy[int]:
    """Fill contexts for a /v1/validate body breaking the ``wanted`` worker-side
    checks: where the roster has a clean unavailable worker, when one is
    wanted (a consistency fault can go to the context's side instead); in
    ``reversed_`` order, where each has a worker wrong first in it."""
    every = range(len(FILL_CONTEXTS))
    if reversed_:
        return st.sampled_from([i for i in every if all(_first_wrong(i, f) for f in wanted)])
    if "unavailable" in wanted:
        clean = [i for i in every if _workers(i, "unavailable", wanted)[1]]
        return st.sampled_from(clean or every)
    return st.sampled_from(every)


_OTHER_IDS: Final = {i: st.sampled_from([o for o in ROSTER_IDS if o != i]) for i in ROSTER_IDS}


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
        bad.append({"candidate_id": draw(_PHANTOM_IDS)})
    wanted = faults & _WORKER_SET
    covered: set[str] = set()  # one worker may be wrong in two ways
    for fault in _WORKER_FAULTS:
        if fault not in faults or (fault in covered and REVERSED not in faults):
            continue
        if _context_side(draw, context, fault, faults, _workers(place_index, fault, wanted)[1]):
            continue
        # A scenario's fill has a fixed target: fewer wrong workers, fewer
        # good ones to give up. Reversed: each worker wrong in no earlier field.
        if REVERSED in faults:
            worker = draw(st.sampled_from(_first_wrong(place_index, fault)))
        else:
            worker = draw(_worker_choice(place_index, fault, wanted, context is None))
        covered |= _wrong_for(worker, FILL_CONTEXTS[place_index][0]) & wanted
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
    phantoms = [f for f in ids if f["candidate_id"] not in _WORKERS]
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


def _fill_case(
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
        _put(artifact, "fills", _not_array(fills, draw(_NOT_ARRAYS)))
    if free:
        return _broken_fill_context(draw, context, faults), _broken_artifact(draw, artifact, faults)
    return context, artifact


def _free_count(draw: st.DrawFn, context: dict[str, Any], fills: list[Any], faults: Faults) -> None:
    """A /v1/validate context asks for as many fills as there are, or, for a
    count fault, sometimes for another number (else the fills change)."""
    if "context.target_count" in faults:
        _set(context, "target_count", draw(_FRACTIONS if FRACTION in faults else _BAD_TARGETS))
    elif "count" not in faults:
        context["target_count"] = max(1, len(fills))
    elif draw(st.booleans()):
        n = len(fills)
        context["target_count"] = n - 1 if n > 1 and draw(st.booleans()) else n + 1


def _broken_fill_context(draw: st.DrawFn, context: dict[str, Any], faults: Faults) -> Any:
    for field in ("city", "state", "role"):
        if f"context.{field}" in faults:
            _set(context, field, draw(_NOT_TEXTS))
    if "context" in faults:
        return _not_object(context, _not_object_choice(draw, faults))
    return context


def _broken_artifact(draw: st.DrawFn, artifact: Any, faults: Faults) -> Any:
    if "artifact" not in faults:
        return artifact
    return _not_object(artifact, _not_object_choice(draw, faults))


def _not_object_choice(draw: st.DrawFn, faults: Faults) -> Any:
    return _MISSING if ABSENT in faults else draw(_NOT_OBJECTS)


# -- emails and playbooks ------------------------------------------------------------

_SUBJECTS: Final = st.sampled_from(
    ("Shift offer", "a" * 200, "é" * 200, "<b>&</b>", "e\u0301" * 100, "x" * 199 + "😀")
)
# White space alone is a non-empty string (docs/decisions.md §1).
_BODIES: Final = st.sampled_from(("Hello, can you work Monday?", "Grüße 😀 <b>", " \t"))
_TITLES: Final = st.sampled_from(("Weld check", "<Admin> & Co", "é" * 300, "\u3000"))
_STEP_COUNTS: Final = st.sampled_from((1, 2, 3, 20))
_ODD_STEPS: Final = st.sampled_from((None, "😀 weld", "<script>", " "))


def _email_case(draw: st.DrawFn, wanted: str, faults: Faults, *, free: bool) -> tuple[Any, Any]:
    """(context, artifact) of an email breaking ``faults``."""
    subject, text = (draw(_SUBJECTS), draw(_BODIES)) if free else ("Shift offer", _EMAIL_TEXT)
    context: Any = {"candidate_id": wanted}
    artifact: Any = {"candidate_id": wanted, "subject": subject, "body": text}
    if "phantom" in faults:
        artifact["candidate_id"] = draw(_PHANTOM_IDS)
        if free and "consistency.candidate_id" not in faults:
            context["candidate_id"] = artifact["candidate_id"]  # a phantom and nothing else
    elif "consistency.candidate_id" in faults:
        artifact["candidate_id"] = draw(_OTHER_IDS[wanted])
    if "subject.length" in faults:
        artifact["subject"] = draw(_LONG_SUBJECTS)
    for field, values in (("body", _NOT_BODIES), ("subject", _NOT_TEXTS)):
        if f"artifact.{field}" in faults:
            _set(artifact, field, draw(values))
    if "artifact.candidate_id" in faults:
        _set(artifact, "candidate_id", draw(_NOT_TEXTS))
    if not free:
        return context, artifact
    if "context.candidate_id" in faults:
        _set(context, "candidate_id", draw(_NOT_TEXTS))
    if "context" in faults:
        context = _not_object(context, _not_object_choice(draw, faults))
    return context, _broken_artifact(draw, artifact, faults)


def _playbook_case(draw: st.DrawFn, faults: Faults, *, free: bool) -> Any:
    """A playbook artifact breaking ``faults`` (the context is not read)."""
    if free:
        artifact: Any = {"title": draw(_TITLES), "steps": _steps(draw, draw(_STEP_COUNTS))}
    else:
        artifact = {"title": "Weld check", "steps": list(_PLAYBOOK_STEPS)}
    if "steps.count" in faults:
        count = 21 if "steps[i]" in faults else draw(_BAD_STEP_COUNTS)
        artifact["steps"] = [f"s{i}" for i in range(count)]
    steps = artifact["steps"]
    if "steps[i]" in faults:
        steps[draw(st.integers(0, len(steps) - 1))] = draw(_BAD_STEPS)
    if "artifact.steps" in faults:
        _set(artifact, "steps", _not_array(steps, draw(_NOT_ARRAYS)))
    if "artifact.title" in faults:
        _set(artifact, "title", draw(_NOT_TEXTS))
    return _broken_artifact(draw, artifact, faults) if free else artifact


def _steps(draw: st.DrawFn, count: int) -> list[Any]:
    steps: list[Any] = [f"Step {i + 1}" for i in range(count)]
    odd = draw(_ODD_STEPS)
    if odd is not None:  # still valid: whitespace is non-empty, markup is text
        steps[draw(st.integers(0, count - 1))] = odd
    return steps


# -- /v1/validate ------------------------------------------------------------------

_NOT_JSON_BODIES: Final = st.sampled_from(
    (
        "", " ", "not json", "{", '{"kind": "fill"', '{"kind": "fill"}x', "NaN", "\ufeff{}",
        "{'kind': 'fill'}", '{"kind": "fill",}',
        '{"kind": "playbook", "artifact": {"title": "t", "steps": ["a"]}} {}',
    )
)  # fmt: skip
_NOT_OBJECT_BODIES: Final = st.sampled_from(("[]", "null", '"fill"', "1", "true"))
_LAYOUT_OPTIONS: Final = st.tuples(
    st.booleans(),  # ensure_ascii
    st.sampled_from(((",", ":"), (", ", ": "), (",\n", ":\t"))),
    st.sampled_from((None, None, None, "extra", "dup-kind", "artifact-first")),
)

# What a /v1/validate body is drawn to show, plainest first: a valid body of a
# kind, or the check that answers it. Every check of docs/decisions.md §1 is
# one entry whatever its kind (the kind, a context or an artifact that is not
# an object, and the three fields of a context are one entry each, the kind
# or field drawn next), so that each answer gets its share of the budget: with the
# checks per kind drawn uniformly, the last of a long chain (unavailable) was
# the answer of one body in 250. Then a few corners no set of broken checks
# says: a context or artifact absent, a target_count with a fraction, a fill
# wrong in a later field before one wrong in an earlier field. Fills are
# valid twice (a fill's chain is the longest), emails and playbooks once
# (their subjects, bodies and steps have corners).
_FIRST_FAULTS: Final = (
    ("fill", "valid"), ("email", "valid"), ("playbook", "valid"), ("fill", "valid"),
    ("$", "not json"), ("$", "not an object"),
    ("*", "kind"),
    ("fill|email", "context"), ("*", "artifact"), ("fill|email", ABSENT),
    ("fill", "context.target_count"), ("fill", FRACTION), ("fill", "context.field"),
    ("fill", "artifact.fills"), ("fill", "fills[i]"), ("fill", "fills[i].candidate_id"),
    ("fill", "count"), ("fill", "duplicate"), ("fill", "phantom"), ("fill", "consistency.city"),
    ("fill", "consistency.state"), ("fill", "consistency.role"), ("fill", "unavailable"),
    ("fill", REVERSED), ("email", "context.candidate_id"), ("email", "artifact.candidate_id"),
    ("email", "artifact.subject"), ("email", "artifact.body"),
    ("email", "subject.length"), ("email", "consistency.candidate_id"), ("email", "phantom"),
    ("playbook", "artifact.title"), ("playbook", "artifact.steps"), ("playbook", "steps.count"),
    ("playbook", "steps[i]"),
)  # fmt: skip
_KINDS_OF: Final = {
    "*": st.sampled_from(("fill", "email", "playbook")),
    "fill|email": st.sampled_from(("fill", "email")),
}
# Entries that stand for one of several checks: which one is drawn next.
_ONE_OF: Final = {
    "context.field": st.sampled_from(("context.city", "context.state", "context.role")),
    ABSENT: st.sampled_from(("context", "artifact")),
    FRACTION: st.just("context.target_count"),
}
# Two checks of fills broken by two fills, the later check's fill first: a
# shape, or a worker's field.
_REVERSED_PAIRS: Final = st.sampled_from(
    (
        ("consistency.city", "consistency.role"),
        ("consistency.state", "consistency.role"),
        ("consistency.city", "consistency.state"),
        ("fills[i]", "fills[i].candidate_id"),
    )
)
_VALIDATE_FIRSTS: Final = st.sampled_from(_FIRST_FAULTS)


def _validate_faults(draw: st.DrawFn, kind: str, first: str) -> Faults:
    """The checks a body of ``kind`` breaks: ``first`` (its answer), and
    maybe checks after it."""
    if first == "valid":
        return frozenset()
    if first == REVERSED:
        return frozenset({*draw(_REVERSED_PAIRS), REVERSED})
    chosen = draw(_ONE_OF[first]) if first in _ONE_OF else first
    faults = _with_later(draw, kind, chosen)
    return frozenset({*faults, first} if first.startswith("~") else faults)


_FILL_TARGETS: Final = tuple(st.integers(1, min(len(ids), 3)) for _, ids in FILL_CONTEXTS)


def _validate_fill(draw: st.DrawFn, faults: Faults) -> dict[str, Any]:
    place_index = draw(_places(faults & _WORKER_SET, REVERSED in faults))
    target = draw(_FILL_TARGETS[place_index])
    context, artifact = _fill_case(draw, place_index, target, faults, free=True)
    return _body("fill", artifact, context)


def _validate_email(draw: st.DrawFn, faults: Faults) -> dict[str, Any]:
    context, artifact = _email_case(draw, draw(_ROSTER_ID), faults, free=True)
    return _body("email", artifact, context)


def _validate_playbook(draw: st.DrawFn, faults: Faults) -> dict[str, Any]:
    return _body("playbook", _playbook_case(draw, faults, free=True), draw(_PLAYBOOK_CONTEXTS))


_ROSTER_ID: Final = st.sampled_from(ROSTER_IDS)
_PLAYBOOK_CONTEXTS: Final = st.sampled_from((_MISSING, None, {"city": "Toledo"}, "ignored"))
_VALIDATE_BODIES: Final[dict[str, Callable[[st.DrawFn, Faults], dict[str, Any]]]] = {
    "fill": _validate_fill,
    "email": _validate_email,
    "playbook": _validate_playbook,
}


def _body(kind: str, artifact: Any, context: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind}
    _put(body, "artifact", artifact)
    _put(body, "context", context)
    return body


def _render_body(body: dict[str, Any], layout: tuple[bool, tuple[str, str], str | None]) -> str:
    ascii_only, separators, twist = layout
    if twist == "extra":
        body = {**body, "note": "unknown fields are ignored <&>"}
    elif twist == "artifact-first":
        body = dict(reversed(list(body.items())))
    text = json.dumps(body, ensure_ascii=ascii_only, separators=separators)
    if twist == "dup-kind" and text.startswith("{") and len(text) > 2:
        # The last of two equal keys wins (serde_json and encoding/json agree).
        text = '{"kind"' + separators[1] + '"nonsense"' + separators[0] + text[1:]
    return text


@st.composite
def validate_requests(draw: st.DrawFn) -> dict[str, str]:
    """``{"body": text}``: a /v1/validate request body, mostly JSON, against the
    fixture roster: valid fills, emails and playbooks, and each way the contract
    says they fail (phantom ids, wrong city/state/role, duplicates, wrong counts,
    wrong shapes, unknown kinds, non-JSON bodies), often two or more at once so
    that the order of the checks decides the answer."""
    kind, first = draw(_VALIDATE_FIRSTS)
    if kind == "$":
        return {"body": draw(_NOT_JSON_BODIES if first == "not json" else _NOT_OBJECT_BODIES)}
    kind = draw(_KINDS_OF[kind]) if kind in _KINDS_OF else kind
    faults = _validate_faults(draw, kind, first)
    body = _VALIDATE_BODIES[kind](draw, faults)
    if "kind" in faults:
        _set(body, "kind", draw(_BAD_KINDS))
    return {"body": _render_body(body, draw(_LAYOUT_OPTIONS))}


# -- /v1/iterate ------------------------------------------------------------------

# What one model reply holds, before it is wrapped in prose or fences.
_CONTENTS: Final = st.sampled_from(
    (
        "valid", "valid", "valid", "invalid", "invalid", "invalid", "invalid", "invalid_shape",
        "invalid_shape", "valid_extra", "valid_unicode", "no_json", "no_json_array",
        "broken_json", "empty",
    )
)  # fmt: skip
_WRAPPERS: Final = st.sampled_from(
    ("bare", "bare", "prose", "fenced", "fenced_plain", "fence_then_prose", "long", "two", "pretty")
)  # fmt: skip
_NO_JSON_TEXTS: Final = st.sampled_from(
    ("I cannot help.", "Voilà — aucun résultat. 你好 😀", "<p>No JSON &amp; no luck</p>")
)
# Number literals in an otherwise valid artifact (one to three): each is what
# the contract's number model says it is, and a runtime that keeps a different
# value diverges.
_EXTRA_LITERALS: Final = st.lists(
    st.sampled_from(("1.0", "12345678901234567890", "1E2", "-0", "0.1", "9007199254740993")),
    min_size=1,
    max_size=3,
    unique=True,
)
# A model answer longer than the 2000 characters history keeps: the cut falls
# in the artifact after the padding, or inside the padding, whose characters
# around the cut are all multi-byte (a cut in bytes would split one).
_LONG_PADDING: Final = ("Réflexion 😀 " * 166)[:1980] + "😀é" * 20 + "\n"
_PROMPTS: Final = (
    "Reply in JSON.",
    'Trouve des soudeurs à Toledo — 你好 😀 <b>&amp;</b> "quoted" \\ back',
    "Plain prompt\nwith a newline\tand a tab",
    "x" * 3990 + "é😀" * 20,
    "Long " + "ça 😀 " * 900,
)
_PROMPT_INDEX: Final = st.integers(0, len(_PROMPTS) - 1)
_SYSTEMS: Final = st.sampled_from(
    (
        _MISSING, _MISSING, "You are a staffing assistant. Answer with JSON only.",
        "Système : réponds en JSON 😀 <&>", "",
    )
)  # fmt: skip
_MAX_ITERATIONS: Final = st.sampled_from((_MISSING, _MISSING, 0, 1, 2, 3, 4, 5, None))
_TRACES: Final = st.sampled_from((None, None, "", "t-", "trace.", "T_"))
_HEADER_NAMES: Final = st.sampled_from(("X-Lakehouse-Trace-Id", "x-lakehouse-trace-id"))
_SAMPLING: Final = st.sampled_from(
    (
        (_MISSING, _MISSING), (_MISSING, _MISSING), (0.7, 256), (0, 1), (1, _MISSING),
        (None, None), (0.25, 4096),
    )
)  # fmt: skip
_MODELS: Final = st.sampled_from(defaults.PROVIDERS)
_EMAIL_TEXT: Final = "Hello, can you work Monday?"
_PLAYBOOK_STEPS: Final = ("Inspect", "Weld", "Grind")


@dataclass(frozen=True)
class _Task:
    """What a scenario asks the model for: the kind, its context and artifacts."""

    kind: str
    context: Any  # _MISSING for none

    def valid(self) -> dict[str, Any]:
        if self.kind == "fill":
            ids = _matching(self.context)
            return {"fills": [{"candidate_id": i} for i in ids[: self.context["target_count"]]]}
        if self.kind == "email":
            return {
                "candidate_id": self.context["candidate_id"],
                "subject": "Shift offer",
                "body": _EMAIL_TEXT,
            }
        return {"title": "Weld check", "steps": list(_PLAYBOOK_STEPS)}

    def first_faults(self, semantic: bool) -> st.SearchStrategy[str]:
        """The checks an invalid artifact of this task may break first: of its
        shape, or past it; each one the task's context can have as the answer
        (a worker wrong first in that field exists for its place; an email
        names a worker of the roster, so a phantom is always also a mismatch)."""
        every = ARTIFACT_CHECKS[self.kind]
        checks = [c for c in every if (c in _SEMANTIC) == semantic]
        if self.kind == "fill":
            place = _place_index(self.context)
            checks = [c for c in checks if c not in _WORKER_SET or _first_wrong(place, c)]
        if self.kind == "email":
            # Past its shape an email has one check that can answer: any check
            # then, else every invalid email would be the same mismatch.
            checks = [c for c in (every if semantic else checks) if c != "phantom"]
        # A playbook's checks are all of its shape.
        return st.sampled_from(checks or every)

    def invalid(self, draw: st.DrawFn, first: st.SearchStrategy[str]) -> Any:
        """An artifact that breaks a check ``first`` draws, and maybe later ones."""
        faults = frozenset(_with_later(draw, self.kind, draw(first)))
        if self.kind == "fill":
            place = _place_index(self.context)
            target = self.context["target_count"]
            return _fill_case(draw, place, target, faults, free=False)[1]
        if self.kind == "email":
            return _email_case(draw, self.context["candidate_id"], faults, free=False)[1]
        return _playbook_case(draw, faults, free=False)


def _place_index(context: dict[str, Any]) -> int:
    key = (context["city"], context["state"], context["role"])
    return next(i for i, (place, _) in enumerate(FILL_CONTEXTS) if place == key)


def _matching(context: dict[str, Any]) -> tuple[str, ...]:
    return FILL_CONTEXTS[_place_index(context)][1]


def _artifact_text(draw: st.DrawFn, task: _Faulty, content: str) -> str:
    """The JSON text of one reply's artifact."""
    if content == "invalid":
        return json.dumps(task.task.invalid(draw, task.semantic))
    if content == "invalid_shape":
        return json.dumps(task.task.invalid(draw, task.shape))
    artifact = task.task.valid()
    if content == "valid_unicode":
        artifact = {**artifact, "note": 'Grüße 😀 <b>&</b> \u2028 "q"'}
        return json.dumps(artifact, ensure_ascii=draw(st.booleans()))
    text = json.dumps(artifact)
    if content == "valid_extra":
        extra = draw(_EXTRA_LITERALS)
        pairs = zip("nmk", extra, strict=False)
        text = text[:-1] + "".join(f', "{key}": {literal}' for key, literal in pairs) + "}"
    return text


@dataclass(frozen=True)
class _Faulty:
    """A task and the checks its invalid artifacts break first (built once)."""

    task: _Task
    semantic: st.SearchStrategy[str]
    shape: st.SearchStrategy[str]

    @classmethod
    def of(cls, task: _Task) -> _Faulty:
        return cls(task, task.first_faults(semantic=True), task.first_faults(semantic=False))


def _wrapped(draw: st.DrawFn, task: _Faulty, text: str) -> str:
    """``text`` as the model might frame it (the wrapper is drawn after the
    content: shrinking settles the content first)."""
    wrapper = draw(_WRAPPERS)
    if wrapper == "prose":
        return f"Here is the artifact: {text} Let me know if you need more."
    if wrapper == "fenced":
        return f"```json\n{text}\n```"
    if wrapper == "fenced_plain":
        return f"```\n{text}\n```"
    if wrapper == "fence_then_prose":
        return f"Sure!\n```json\n{text}\n```\nAnything else? {{not json}}"
    if wrapper == "long":
        return _LONG_PADDING[: 1990 + draw(st.integers(0, 23))] + text
    if wrapper == "two":
        return json.dumps(task.task.invalid(draw, task.semantic)) + " or rather " + text
    if wrapper == "pretty":
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return text


def _reply_text(draw: st.DrawFn, task: _Faulty, content: str, *, wrap: bool) -> str:
    if content == "empty":
        return ""
    if content == "no_json":
        return draw(_NO_JSON_TEXTS)
    if content == "no_json_array":
        return '```json\n[{"candidate_id": "W-2"}]\n```' if draw(st.booleans()) else "[1, 2, 3]"
    if content == "broken_json":
        return '{"fills": [{"candidate_id": "W-2"}' if draw(st.booleans()) else "{ not json }"
    text = _artifact_text(draw, task, content)
    return _wrapped(draw, task, text) if wrap else text


_FILL_TASKS: Final = tuple(
    {"target_count": n, "city": c, "state": s, "role": r}
    for (c, s, r), ids in FILL_CONTEXTS
    for n in range(1, min(len(ids), 3) + 1)
)
# Fills of two or three workers count twice: a duplicate, or two wrong
# workers, only leave the count right when the target leaves room for them.
_FILL_WEIGHTS: Final = tuple(1 if ctx["target_count"] == 1 else 2 for ctx in _FILL_TASKS)
_TASKS: Final = (
    tuple(
        _Task("fill", ctx)
        for ctx, w in zip(_FILL_TASKS, _FILL_WEIGHTS, strict=True)
        for _ in range(w)
    ),
    tuple(_Task("email", {"candidate_id": i}) for i in AVAILABLE_IDS),
    tuple(_Task("playbook", c) for c in (_MISSING, None, {"note": "ignored"})),
)


@dataclass(frozen=True)
class _TaskDraws:
    """A task and the strategies of its replies, built once (cheap draws)."""

    task: _Task
    replies: st.SearchStrategy[list[Any]]
    before_fault: st.SearchStrategy[list[Any]]


def _task_draws(task: _Task) -> _TaskDraws:
    faulty = _Faulty.of(task)

    @st.composite
    def reply(draw: st.DrawFn, contents: st.SearchStrategy[str], wrap: bool) -> str:
        return _reply_text(draw, faulty, draw(contents), wrap=wrap)

    return _TaskDraws(
        task,
        st.lists(reply(_CONTENTS, True), min_size=1, max_size=5),
        st.lists(reply(_BEFORE_FAULT, False), max_size=2),
    )


_BEFORE_FAULT: Final = st.sampled_from(("no_json", "invalid", "invalid_shape", "empty"))


_GROUPS: Final = tuple(
    st.sampled_from(tuple(_task_draws(task) for task in group)) for group in _TASKS
)
# Fills have the longest chain of checks, playbooks the shortest: 5 : 3 : 2.
# Two draws (the kind, then the task) so that shrinking can settle the kind
# first. A playbook first (it has no context: the smallest scenario), and
# again last to keep the shares.
_TASK_GROUPS: Final = st.sampled_from(
    (_GROUPS[2],) + (_GROUPS[0],) * 5 + (_GROUPS[1],) * 3 + (_GROUPS[2],)
)


def _without(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda context: {k: v for k, v in context.items() if k != key}


def _with(key: str, value: object) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda context: {**context, key: value}


# Contexts /v1/validate rejects before it reads the artifact, one field broken
# at a time: every attempt that yields an object then fails with the same
# context error. Only these make the validator say "integer >= 1" in an
# iterate session, whose ">" a runtime may escape (Go writes \u003e) inside
# the error history keeps. The scenario's replies are still written for the
# well-formed context; it is only the request that carries the broken one.
_BROKEN_CONTEXTS: Final = {
    "fill": st.sampled_from(
        (
            _without("target_count"),
            _with("target_count", 0),
            _with("target_count", "2"),
            _without("city"),
        )
    ),
    "email": st.sampled_from((_without("candidate_id"),)),
}
# About one fill or email scenario in thirteen, after the well-formed context
# (shrinking keeps that).
_CONTEXT_BROKEN: Final = st.sampled_from((False,) * 12 + (True,))


def _sent_context(draw: st.DrawFn, task: _Task) -> Any:
    """The context the request carries: the task's, or now and then a
    broken copy of it."""
    breaks = _BROKEN_CONTEXTS.get(task.kind)
    if breaks is None or not draw(_CONTEXT_BROKEN):
        return task.context
    return draw(breaks)(task.context)


def _scenario(
    draw: st.DrawFn,
    prefix: str,
    task: _Task,
    replies: list[Any],
    max_iterations: object,
    context: Any,
) -> dict[str, Any]:
    """The request around ``replies``, drawn plainest first, and the case's id."""
    prompt = _PROMPTS[draw(_PROMPT_INDEX)]
    system, trace = draw(_SYSTEMS), draw(_TRACES)
    header = draw(_HEADER_NAMES) if trace is not None else None
    (temperature, max_tokens), (provider, model) = draw(_SAMPLING), draw(_MODELS)
    request: dict[str, Any] = {
        "kind": task.kind,
        "prompt": prompt,
        "provider": provider,
        "model": model,
    }
    _put(request, "system", system)
    _put(request, "context", context)
    _put(request, "max_iterations", max_iterations)
    _put(request, "temperature", temperature)
    _put(request, "max_tokens", max_tokens)
    case: dict[str, Any] = {"request": request, "trace": trace, "replies": replies}
    if header is not None:
        case["header"] = header
    return {"id": _case_id(prefix, case), **case}


@st.composite
def iterate_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """One /v1/iterate session: the request, the trace header, and the model's
    replies in order (no JSON, invalid and valid artifacts, prose around JSON,
    fences, long answers); ``max_iterations`` absent, null, or 0 to 5; with
    and without a system prompt; unicode and over-4000-character prompts;
    now and then a fill or email context the validator rejects (no
    ``target_count``, 0 or "2", no city; no ``candidate_id``), so that every
    attempt fails with the same context error."""
    drawn = draw(draw(_TASK_GROUPS))
    context = _sent_context(draw, drawn.task)
    replies = draw(drawn.replies)
    return _scenario(draw, "i", drawn.task, replies, draw(_MAX_ITERATIONS), context)


# A fault, then what the model says if it is asked again.
_FAULTS: Final[st.SearchStrategy[Any]] = st.sampled_from(
    (
        {"fault": "http_500"}, {"fault": "http_500"}, {"fault": "drop"}, {"fault": "drop"},
        {"fault": "not_json"}, {"fault": "not_json"}, {"fault": "hang"}, {"fault": "no_content"},
        {"text": None}, "slow", {"fault": "http_429", "retry_after_s": 1},
        {"fault": "cut_stream"}, {"fault": "malformed_chunk"},
    )
)  # fmt: skip
# Mostly reach the fault: "reach" is max_iterations just past the calls before it.
_FAULT_MAX_ITERATIONS: Final = st.sampled_from((_MISSING, "reach", 5, "reach", 0, None))


@st.composite
def fault_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A session whose model fails on one call: HTTP 500 or 429, a hang past
    the daemon's upstream timeout, a dropped connection, a body that is not
    JSON, cut short or broken inside (each a 502 and an ``infra_error`` row),
    or a reply without content, a null content or a slow answer (each an
    ordinary attempt)."""
    drawn = draw(draw(_TASK_GROUPS))
    task = drawn.task
    replies = draw(drawn.before_fault)
    before = len(replies)
    fault = draw(_FAULTS)
    valid = json.dumps(task.valid())
    if fault == "slow":
        replies.append({"text": valid, "delay_s": 0.05})
    else:
        replies.extend([dict(fault), valid])
    max_iterations = draw(_FAULT_MAX_ITERATIONS)
    if max_iterations == "reach":
        max_iterations = before + 1
    return _scenario(draw, "f", task, replies, max_iterations, task.context)
