"""The checks of /v1/validate in the order they run, and the sets of them a
case is drawn to break (often two adjacent ones at once: an order of checks
is only tested by a case that breaks both)."""

from __future__ import annotations

from itertools import pairwise
from typing import Final

from hypothesis import strategies as st

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
# every attempt: ``scenarios._BROKEN_CONTEXTS``) and extract_json only ever yields an object.
ARTIFACT_CHECKS: Final = {
    kind: checks[checks.index("artifact") + 1 :] for kind, checks in CHECKS.items()
}
# Checks past the shape: what a well-formed artifact can still get wrong.
SEMANTIC: Final = frozenset(
    {
        "count", "duplicate", "phantom", "consistency.city", "consistency.state",
        "consistency.role", "unavailable", "consistency.candidate_id",
    }
)  # fmt: skip
WORKER_FAULTS: Final = ("consistency.city", "consistency.state", "consistency.role", "unavailable")
WORKER_SET: Final = frozenset(WORKER_FAULTS)


Faults = frozenset[str]

# Markers a fault set may carry besides checks: how a /v1/validate body breaks
# them (a container absent rather than of the wrong type, a target_count with
# a fraction, the fill wrong in a later field put first).
ABSENT: Final = "~absent"
FRACTION: Final = "~fraction"
REVERSED: Final = "~reversed"


def with_later(draw: st.DrawFn, kind: str, first: str) -> set[str]:
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
