"""The structural differences of two parsed outputs found by deepdiff: the
independent implementation the exact walk (``harness.compare.walk``) is held
to by tests/test_compare.py. Only tests use it; deepdiff is a dependency of
the ``test`` extra."""

from __future__ import annotations

import math
from typing import Any, Final

from deepdiff import DeepDiff

from harness.compare.paths import Path, format_path
from harness.compare.walk import dict_item, leaf, length_difference
from harness.model import Difference, DivergenceClass, JsonValue

# Every option that could make deepdiff looser than the contract, spelled out.
OPTIONS: Final[dict[str, Any]] = {
    "view": "tree",
    # Arrays index by index: difflib alignment would hide `True` vs `1` (equal
    # hashes) and shift every later index.
    "zip_ordered_iterables": True,
    # Otherwise two objects with few keys in common are one "value changed".
    "threshold_to_diff_deeper": 0,
    # Otherwise keys starting with "__" are skipped.
    "ignore_private_variables": False,
    "ignore_numeric_type_changes": False,
    "ignore_string_type_changes": False,
    "ignore_type_in_groups": None,
    "ignore_order": False,
    "significant_digits": None,
    "math_epsilon": None,
    "max_diffs": None,
}


class NegativeZero(float):
    """-0.0, made a distinct type: deepdiff (like ``==``) treats -0.0 and 0.0 as equal."""


def signed_zeros(value: JsonValue) -> JsonValue:
    """``value`` with every -0.0 a ``NegativeZero``."""
    if isinstance(value, dict):
        return {key: signed_zeros(item) for key, item in value.items()}
    if isinstance(value, list):
        return [signed_zeros(item) for item in value]
    if isinstance(value, float) and value == 0.0 and math.copysign(1.0, value) < 0:
        return NegativeZero(value)
    return value


def _unsigned(value: JsonValue) -> JsonValue:
    """Every ``NegativeZero`` back to a float."""
    if isinstance(value, NegativeZero):
        return -0.0
    if isinstance(value, dict):
        return {key: _unsigned(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unsigned(item) for item in value]
    return value


def _get(value: JsonValue, path: Path) -> JsonValue:
    for part in path:
        value = value[part]
    return value


def structural(expected: JsonValue, actual: JsonValue) -> list[Difference]:
    """The differences ``exact`` finds in two values as ``parse_output`` reads
    them (no projection), found by deepdiff."""
    e, a = signed_zeros(expected), signed_zeros(actual)
    tree = DeepDiff(e, a, **OPTIONS)
    out: list[Difference] = []
    resized: set[Path] = set()
    for report, levels in tree.items():
        for level in levels:
            path: Path = tuple(level.path(output_format="list"))
            t1, t2 = _unsigned(level.t1), _unsigned(level.t2)
            if report in ("type_changes", "values_changed"):
                found = leaf(path, t1, t2)
                if found is not None:
                    out.append(found)
            elif report == "dictionary_item_removed":
                out.append(dict_item(path, t1, on_target=True))
            elif report == "dictionary_item_added":
                out.append(dict_item(path, t2, on_target=False))
            elif report in ("iterable_item_added", "iterable_item_removed"):
                resized.add(path[:-1])
            else:  # anything else deepdiff may invent is still a difference
                out.append(Difference(DivergenceClass.VALUE, format_path(path), t1, t2))
    out.extend(length_difference(p, _get(expected, p), _get(actual, p)) for p in resized)
    return out
