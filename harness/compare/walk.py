"""The exact structural walk: every difference of two projected values, each
mapped to one §6 class. (tests/oracle_deepdiff.py finds the same differences
with deepdiff, the independent implementation the walk is held to.)"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

from harness.compare.classify import classify
from harness.compare.paths import Path, Segment, format_path
from harness.compare.projection import plain
from harness.model import Difference, DivergenceClass, JsonValue

ABSENT_ON_TARGET: Final = "null on the reference, absent on the target"
ABSENT_ON_REFERENCE: Final = "absent on the reference, null on the target"


def exact(expected: JsonValue, actual: JsonValue, path: Path = ()) -> Iterator[Difference]:
    """Every difference of two (projected) values, by an exact walk."""
    out: list[Difference] = []
    _walk(expected, actual, list(path), out)
    return iter(out)


def _walk(
    expected: JsonValue, actual: JsonValue, path: list[Segment], out: list[Difference]
) -> None:
    # One path list, pushed and popped: a deep value costs O(depth), not O(depth²).
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key, item in expected.items():
            path.append(key)
            if key in actual:
                _walk(item, actual[key], path, out)
            else:
                out.append(dict_item(path, item, on_target=True))
            path.pop()
        for key in actual.keys() - expected.keys():
            path.append(key)
            out.append(dict_item(path, actual[key], on_target=False))
            path.pop()
    elif isinstance(expected, list) and isinstance(actual, list):
        for index, (x, y) in enumerate(zip(expected, actual, strict=False)):
            path.append(index)
            _walk(x, y, path, out)
            path.pop()
        if len(expected) != len(actual):
            out.append(length_difference(tuple(path), expected, actual))
    else:
        found = leaf(path, expected, actual)
        if found is not None:
            out.append(found)


def leaf(path: Sequence[Segment], expected: JsonValue, actual: JsonValue) -> Difference | None:
    """The difference of two leaf values (or of an object and a leaf), if any."""
    e, a = plain(expected), plain(actual)
    cls = classify(e, a)
    if cls is None:
        return None
    return Difference(cls=cls, path=format_path(path), expected=e, actual=a)


def dict_item(path: Sequence[Segment], value: JsonValue, *, on_target: bool) -> Difference:
    """A key one side has and the other has not (``on_target``: the target lacks it)."""
    present = plain(value)
    if value is None:
        cls = DivergenceClass.NULL_VS_ABSENT
        note = ABSENT_ON_TARGET if on_target else ABSENT_ON_REFERENCE
    elif on_target:
        cls, note = DivergenceClass.MISSING_FIELD, "absent on the target"
    else:
        cls, note = DivergenceClass.EXTRA_FIELD, "absent on the reference"
    expected, actual = (present, None) if on_target else (None, present)
    return Difference(cls=cls, path=format_path(path), expected=expected, actual=actual, note=note)


def length_difference(path: Path, expected: list[Any], actual: list[Any]) -> Difference:
    n_e, n_a = len(expected), len(actual)
    return Difference(
        cls=DivergenceClass.VALUE,
        path=format_path(path),
        expected=n_e,
        actual=n_a,
        note=f"array length {n_e} vs {n_a}",
    )
