"""A/A: what one runtime answered differently when asked the same case twice.

Each of the two answers is compared with the reference's answer to its own
execution (a live case runs as a fresh session each time, so the two
references differ in the session's id and nothing else). A path is
*unstable* for a runtime when the two comparisons disagree there: one answer
matched the reference and the other did not, or both differed and not alike.
That is the ground truth Diffy approximates with two copies of the old
version: the runtime itself gave two answers to one input.

Session ids are replaced by a token before the comparisons are compared, so
that an answer which carries its session's id (a wrong trace id echoed, a
marker in a prompt) is not taken for a varying one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from harness.model import Difference, DivergenceClass, JsonValue

SESSION_TOKEN: Final = "<session>"


@dataclass(frozen=True)
class Stability:
    """One runtime's two answers to one case, compared."""

    unstable: tuple[Difference, ...]  # one ``unstable`` difference per varying path
    stable: tuple[Difference, ...]  # the first answer's differences elsewhere


def compare_twice(
    first: Sequence[Difference],
    second: Sequence[Difference],
    sessions: Iterable[str] = (),
) -> Stability:
    """``first`` and ``second``: one runtime's differences from the
    reference, for two executions of one case; ``sessions``: the ids to
    ignore (both executions')."""
    ids = tuple(s for s in sessions if s)
    ours, theirs = _by_path(first, ids), _by_path(second, ids)
    varying = sorted(p for p in ours.keys() | theirs.keys() if ours.get(p) != theirs.get(p))
    unstable = tuple(_unstable(path, first, second) for path in varying)
    stable = tuple(d for d in first if not _at_or_below(d.path, varying))
    return Stability(unstable, stable)


def _by_path(differences: Sequence[Difference], ids: tuple[str, ...]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for diff in differences:
        seen = str(diff.cls)
        if diff.cls is not DivergenceClass.ENCODING_ONLY:
            # An encoding difference shows a window of bytes around where
            # the texts part, which may cut a session id anywhere: its class
            # and place say all there is to compare.
            seen += f"\x1f{_neutral(diff.actual, ids)}\x1f{_neutral(diff.expected, ids)}"
        out.setdefault(diff.path, set()).add(seen)
    return {path: frozenset(seen) for path, seen in out.items()}


def _neutral(value: JsonValue, ids: tuple[str, ...]) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=repr)
    for session in ids:
        text = text.replace(session, SESSION_TOKEN)
    return text


def _unstable(path: str, first: Sequence[Difference], second: Sequence[Difference]) -> Difference:
    return Difference(
        DivergenceClass.UNSTABLE,
        path,
        expected=_answer_at(path, first),
        actual=_answer_at(path, second),
        note="the runtime answered this case twice, differently here "
        "(first answer as expected, second as actual)",
    )


def _answer_at(path: str, differences: Sequence[Difference]) -> JsonValue:
    """What one answer held at ``path``: its differing value, or that it
    agreed with the reference there."""
    for diff in differences:
        if diff.path == path:
            return diff.actual if diff.cls is not DivergenceClass.MISSING_FIELD else "(absent)"
    return "(as the reference)"


def _at_or_below(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith((r + ".", r + "[")) for r in roots)
