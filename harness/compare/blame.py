"""One case's per-target differences as ``Failure``s naming the target(s)
that broke the contract, and the words that say what changed."""

from __future__ import annotations

import json

from harness.compare.walk import ABSENT_ON_REFERENCE, ABSENT_ON_TARGET
from harness.model import (
    REFERENCE,
    Difference,
    DivergenceClass,
    Failure,
    JsonValue,
    generalise_path,
)


def _show(value: JsonValue, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _side(diff: Difference, *, target: bool, limit: int = 40) -> str:
    absent_target = diff.cls is DivergenceClass.MISSING_FIELD or diff.note == ABSENT_ON_TARGET
    absent_reference = diff.cls is DivergenceClass.EXTRA_FIELD or diff.note == ABSENT_ON_REFERENCE
    if (target and absent_target) or (not target and absent_reference):
        return "absent"
    return _show(diff.actual if target else diff.expected, limit)


def what_changed(diff: Difference, limit: int = 24) -> str:
    """The difference in a few words: ``1.0 comes back as 1``; for a schema
    difference, the rule that was broken."""
    if diff.cls is DivergenceClass.SCHEMA and diff.note:
        return diff.note
    expected = _side(diff, target=False, limit=limit)
    return f"{expected} comes back as {_side(diff, target=True, limit=limit)}"


def _message(cls: DivergenceClass, by_target: dict[str, Difference]) -> str:
    blamed = sorted(by_target)
    first = by_target[blamed[0]]
    if cls is DivergenceClass.SCHEMA and first.note:
        # Which rule the output broke says more than two nulls would.
        return f"{', '.join(blamed)}: {cls} at {first.path}: {first.note}"
    sides = [f"{REFERENCE} {_side(first, target=False)}"]
    sides += [f"{name} {_side(by_target[name], target=True)}" for name in blamed]
    return f"{', '.join(blamed)}: {cls} at {first.path} ({', '.join(sides)})"


def blame(case_suite: str, differences: dict[str, tuple[Difference, ...]]) -> tuple[Failure, ...]:
    """Group one case's differences into failures naming the target(s) to blame.

    Differences group by (class, generalised path). Targets that answered the
    case the same way (the same differences, all of them) share one failure:
    together they disagree with the reference, which is worth one line.
    Targets that answered differently each get their own, even where one of
    their differences happens to match: two runtimes that write ``1`` for
    ``1.0`` for two different reasons are two faults. Each target's first
    difference of a group gives the values in the message. Sorted by
    severity, path, blamed.
    """
    groups: dict[tuple[DivergenceClass, str, tuple[str, ...]], dict[str, Difference]] = {}
    for same in _same_answer(differences):
        for target in same:
            for diff in differences[target]:
                key = (diff.cls, generalise_path(diff.path), tuple(same))
                groups.setdefault(key, {}).setdefault(target, diff)
    failures = [
        Failure(
            suite=case_suite,
            cls=cls,
            path=path,
            blamed=blamed,
            message=_message(cls, by_target),
        )
        for (cls, path, blamed), by_target in groups.items()
    ]
    return tuple(sorted(failures, key=lambda f: f.rank))


def _same_answer(differences: dict[str, tuple[Difference, ...]]) -> list[list[str]]:
    """The targets with differences, split by what exactly they answered."""
    split: dict[str, list[str]] = {}
    for name in sorted(differences):
        diffs = differences[name]
        if name == REFERENCE or not diffs:
            continue
        what = json.dumps([(str(d.cls), d.path, d.actual) for d in diffs], default=repr)
        split.setdefault(what, []).append(name)
    return list(split.values())
