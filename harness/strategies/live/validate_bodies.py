"""/v1/validate request bodies: valid fills, emails and playbooks, and
bodies that break sets of checks (the first one broken is the answer),
laid out in several ways."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from hypothesis import strategies as st

from harness.strategies.live.artifacts import (
    MISSING,
    email_case,
    fill_case,
    playbook_case,
    put,
    put_or_drop,
)
from harness.strategies.live.checks import (
    ABSENT,
    FRACTION,
    REVERSED,
    WORKER_SET,
    Faults,
    with_later,
)
from harness.strategies.live.roster_facts import FILL_CONTEXTS, ROSTER_IDS, places

# -- /v1/validate ------------------------------------------------------------------

_NOT_JSON_BODIES: Final = st.sampled_from(
    (
        "", " ", "not json", "{", '{"kind": "fill"', '{"kind": "fill"}x', "NaN", "\ufeff{}",
        "{'kind': 'fill'}", '{"kind": "fill",}',
        '{"kind": "playbook", "artifact": {"title": "t", "steps": ["a"]}} {}',
    )
)  # fmt: skip
_NOT_OBJECT_BODIES: Final = st.sampled_from(("[]", "null", '"fill"', "1", "true"))
_BAD_KINDS: Final = st.sampled_from(("Fill", MISSING, "", None, 5, "fills", "playbook ", ["fill"]))
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
    faults = with_later(draw, kind, chosen)
    return frozenset({*faults, first} if first.startswith("~") else faults)


_FILL_TARGETS: Final = tuple(st.integers(1, min(len(ids), 3)) for _, ids in FILL_CONTEXTS)


def _validate_fill(draw: st.DrawFn, faults: Faults) -> dict[str, Any]:
    place_index = draw(places(faults & WORKER_SET, REVERSED in faults))
    target = draw(_FILL_TARGETS[place_index])
    context, artifact = fill_case(draw, place_index, target, faults, free=True)
    return _body("fill", artifact, context)


def _validate_email(draw: st.DrawFn, faults: Faults) -> dict[str, Any]:
    context, artifact = email_case(draw, draw(_ROSTER_ID), faults, free=True)
    return _body("email", artifact, context)


def _validate_playbook(draw: st.DrawFn, faults: Faults) -> dict[str, Any]:
    return _body("playbook", playbook_case(draw, faults, free=True), draw(_PLAYBOOK_CONTEXTS))


_ROSTER_ID: Final = st.sampled_from(ROSTER_IDS)
_PLAYBOOK_CONTEXTS: Final = st.sampled_from((MISSING, None, {"city": "Toledo"}, "ignored"))
_VALIDATE_BODIES: Final[dict[str, Callable[[st.DrawFn, Faults], dict[str, Any]]]] = {
    "fill": _validate_fill,
    "email": _validate_email,
    "playbook": _validate_playbook,
}


def _body(kind: str, artifact: Any, context: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind}
    put(body, "artifact", artifact)
    put(body, "context", context)
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
        put_or_drop(body, "kind", draw(_BAD_KINDS))
    return {"body": _render_body(body, draw(_LAYOUT_OPTIONS))}
