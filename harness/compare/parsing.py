"""Reading an output as JSON without losing what a runtime wrote (CONTRACT §6).

An integer literal stays an exact ``int`` (no i64/u64 clamp), a literal with a
fraction or exponent is a ``float``, so ``1`` and ``1.0`` remain
distinguishable; ``canonical`` writes a value back just as faithfully.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

from harness.model import JsonValue


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise ValueError(f"number out of range: {literal[:40]}")
    return value


DECODER: Final = json.JSONDecoder(
    parse_int=int, parse_float=_finite_float, parse_constant=_reject_constant
)


def parse_output(text: str) -> JsonValue:
    """Parse a target's output, keeping every number's written type and value.

    Integer literals become exact Python ints (the harness must see what a
    runtime *wrote*); fraction/exponent literals become floats. Raises
    ``ValueError`` on anything that is not one JSON value.
    """
    try:
        return DECODER.decode(text)
    except RecursionError as exc:  # a pathologically deep value is still garbage to us
        raise ValueError("nesting too deep") from exc


def canonical(value: JsonValue) -> str:
    """Type-faithful text: 1 -> "1", 1.0 -> "1.0", True -> "true", -0.0 -> "-0.0"."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True, allow_nan=False)
