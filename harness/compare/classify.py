"""The §6 class of two leaf values: the number model (an int is not a float,
-0.0 is not 0.0, two doubles within ``RELATIVE_TOLERANCE`` differ only in
precision) and the other JSON kinds."""

from __future__ import annotations

import math
from typing import Final

from harness.compare.parsing import canonical
from harness.model import DivergenceClass, JsonValue

RELATIVE_TOLERANCE: Final = 1e-15


def _kind(value: JsonValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an int beyond the double range
        return math.copysign(math.inf, value)


def _close(a: int | float, b: int | float) -> bool:
    fa, fb = _as_float(a), _as_float(b)
    if math.isinf(fa) or math.isinf(fb):
        return False
    return fa == fb or abs(fa - fb) <= RELATIVE_TOLERANCE * max(abs(fa), abs(fb))


def _same_bits(a: int | float, b: int | float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return a == b


def classify(expected: JsonValue, actual: JsonValue) -> DivergenceClass | None:
    """The §6 class of two differing leaf values; ``None`` when they are the same."""
    kind_e, kind_a = _kind(expected), _kind(actual)
    if kind_e != kind_a:
        return DivergenceClass.TYPE
    if kind_e != "number":
        return None if canonical(expected) == canonical(actual) else DivergenceClass.VALUE
    if isinstance(expected, int) != isinstance(actual, int):
        return DivergenceClass.NUMBER_TYPE if _close(expected, actual) else DivergenceClass.VALUE
    if _same_bits(expected, actual):
        return None
    return DivergenceClass.NUMBER_PRECISION if _close(expected, actual) else DivergenceClass.VALUE


def strictly_equal(a: JsonValue, b: JsonValue) -> bool:
    """Equal as JSON values of the contract's number model: unlike ``==``,
    ``1`` is not ``1.0``, ``True`` is not ``1`` and ``-0.0`` is not ``0.0``
    (key order does not matter)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strictly_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(strictly_equal, a, b))
    if isinstance(a, float):
        return _same_bits(a, b)
    return bool(a == b)
