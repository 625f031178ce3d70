"""The contract's JSON model: what "parses" means and how values are written.

CONTRACT §1 makes serde_json (the gateway's parser, with correct rounding) the
definition. Python's own ``json`` module differs in four ways that matter here,
and each is handled on purpose:

* it accepts ``NaN``/``Infinity``  -> rejected by ``parse_constant``;
* it turns ``1e400`` into ``inf``    -> rejected when a number overflows;
* it accepts lone ``\\ud800`` escapes -> rejected after a targeted check;
* it has no depth limit (only a RecursionError) -> 127 levels are enforced
  by a pre-scan of the text as written.

Parsed objects come back with their keys in code point order, because the
gateway's ``serde_json::Value`` is a ``BTreeMap``: "the same value" in this
project includes the key order a runtime writes.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
from collections.abc import Callable
from typing import Any, Final

from reference_impl.rules import Hit, Rule, ignore

MAX_DEPTH: Final = 127
I64_MIN: Final = -(2**63)
I64_MAX: Final = 2**63 - 1
U64_MAX: Final = 2**64 - 1

# A parsed JSON value: None | bool | int | float | str | list[JsonValue] |
# dict[str, JsonValue]. The one definition: the harness imports it from here
# (harness.model, harness.mock_llm.script re-export it). It stays Any: written
# as that recursive alias (mypy accepts it), mypy --strict then finds 118
# errors in 21 files, each a place that reads a value of a shape it already
# checked (``value["kind"]`` after an isinstance test elsewhere) and would
# need a cast or a check of its own.
JsonValue = Any


class JsonError(ValueError):
    """The text is not JSON under the contract's rules; ``rule`` says which."""

    def __init__(self, message: str, rule: Rule = Rule.JSON_INVALID) -> None:
        super().__init__(message)
        self.rule = rule


# ---------------------------------------------------------------------------
# Numbers


def number_from_literal(literal: str) -> int | float:
    """Apply the number model to a syntactically valid JSON number literal.

    Integers are exact when they fit in i64 or u64; anything else becomes the
    nearest double (Python's float() rounds correctly, like serde_json with
    ``float_roundtrip``). ``-0`` is the double -0.0, as in serde_json.
    """
    if "." in literal or "e" in literal or "E" in literal:
        return _finite(float(literal))
    if literal == "-0":
        return -0.0
    # Longer literals cannot fit in u64; converting them through int() would
    # also trip Python's 4300-digit guard for no benefit.
    if len(literal) <= 20:
        value = int(literal)
        if I64_MIN <= value <= U64_MAX:
            return value
    return _finite(float(literal))


def _finite(value: float) -> float:
    if math.isinf(value):
        raise JsonError("number out of range", Rule.NUMBER_EXPONENT_OVERFLOW)
    return value


_NONZERO_DIGIT: Final = re.compile(r"[1-9]")
# Up to 15 significant digits every double parser gets right; beyond, only a
# correctly rounding one (serde_json's float_roundtrip) is sure to.
_DBL_DIG: Final = 15
_SIGNIFICANT: Final = re.compile(r"[1-9](?:[0-9.]*[1-9])?")


def note_number(literal: str, value: int | float, hit: Hit) -> None:
    """Record the number-model rules that turned ``literal`` into ``value``."""
    if isinstance(value, int):
        if value > I64_MAX:
            hit(Rule.NUMBER_BEYOND_I64)
        return
    mantissa = literal.lower().partition("e")[0]
    if literal == "-0":
        hit(Rule.NUMBER_NEGATIVE_ZERO)
    elif "e" in literal or "E" in literal:
        hit(Rule.NUMBER_EXPONENT)
    elif "." not in literal:
        hit(Rule.NUMBER_INTEGER_TO_DOUBLE)
    elif value.is_integer():
        hit(Rule.NUMBER_INTEGRAL_FRACTION)
    if value == 0.0 and _NONZERO_DIGIT.search(mantissa):
        hit(Rule.NUMBER_UNDERFLOW)
    if len(mantissa) > _DBL_DIG:  # else too short to hold that many digits
        significant = _SIGNIFICANT.search(mantissa)
        if significant is not None and len(significant.group(0).replace(".", "")) > _DBL_DIG:
            hit(Rule.NUMBER_LONG)


def _reject_constant(name: str) -> Any:
    raise JsonError(f"{name} is not JSON", Rule.JSON_NAN)


def strict_decoder(
    object_hook: Callable[[list[tuple[str, Any]]], Any],
    number: Callable[[str], Any] = number_from_literal,
) -> json.JSONDecoder:
    """Python's C-accelerated decoder with the contract's hooks: no NaN or
    Infinity, control characters rejected, objects and numbers as given."""
    return json.JSONDecoder(
        object_pairs_hook=object_hook,
        parse_int=number,
        parse_float=number,
        parse_constant=_reject_constant,
        strict=True,
    )


def _sorted_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # dict() keeps the last of duplicate keys, which is serde_json's rule.
    merged = dict(pairs)
    return dict(sorted(merged.items()))


_DECODER: Final = strict_decoder(_sorted_object)

# A lone surrogate can only come from a \uD8xx-\uDFxx escape (or a raw
# surrogate code point in an already-broken str); most texts have neither,
# so the exact walk below runs only when this finds a candidate.
_MAYBE_SURROGATE: Final = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")
_SURROGATE_CHAR: Final = re.compile(r"[\ud800-\udfff]")
# Everything but the brackets outside strings: a string (as the parser
# would end it), a run of other characters, or a quote that opens no string.
_NOT_STRUCTURE: Final = re.compile(r'"(?:[^"\\]|\\.)*"|[^\[\]{}"]+|"', re.DOTALL)
_DEPTH_STEP: Final = {"[": 1, "{": 1, "]": -1, "}": -1}


def loads(text: str, hit: Hit = ignore) -> JsonValue:
    """Parse one JSON text under the contract's rules, or raise JsonError.

    ``hit`` hears the rule that rejected the text, or, once it parsed, the
    rules that shaped its value (a duplicate key, a number turned double...):
    a value rule of a text that is then rejected decided nothing.
    """
    if hit is ignore:
        return _parse(text, None)
    noted = _noted()
    try:
        value = _parse(text, noted)
    except JsonError as exc:
        hit(exc.rule)
        raise
    for rule in noted.found:
        hit(rule)
    return value


def _parse(text: str, noted: _Noted | None) -> JsonValue:
    depth = _nesting_depth(text)
    if depth > MAX_DEPTH:
        raise JsonError(
            f"recursion limit exceeded (more than {MAX_DEPTH} levels)", Rule.DEPTH_OVER_LIMIT
        )
    check_surrogates = _MAYBE_SURROGATE.search(text) is not None
    if noted is None:
        decoder = _SURROGATE_DECODER if check_surrogates else _DECODER
    else:
        decoder = noted.decoder(check_surrogates)
    try:
        value = decoder.decode(text)
    except JsonError:
        raise
    except json.JSONDecodeError as exc:
        rule = (
            Rule.JSON_CONTROL_CHAR if exc.msg.startswith("Invalid control") else Rule.JSON_INVALID
        )
        raise JsonError(str(exc), rule) from exc
    except (ValueError, RecursionError) as exc:
        raise JsonError(str(exc)) from exc
    if check_surrogates:
        _reject_surrogates(value)
    if noted is not None:
        noted.parsed(text, depth, check_surrogates)
    return value


def _nesting_depth(text: str) -> int:
    """Deepest bracket nesting of the text as written, strings skipped (0
    when the text has too few brackets to reach the limit)."""
    if text.count("{") + text.count("[") < MAX_DEPTH:
        return 0  # cannot reach the limit: skip the exact scan
    # The brackets outside strings, in order; the deepest running sum of
    # +1/-1 over them (all of it in C: a deep text has hundreds of brackets).
    brackets = _NOT_STRUCTURE.sub("", text)
    return max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets), initial=0))


def _checked_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Every pair is checked before duplicates collapse: the contract rejects a
    # lone surrogate even where a later duplicate key would have replaced it.
    _check_pairs(pairs)
    return _sorted_object(pairs)


def _check_pairs(pairs: list[tuple[str, Any]]) -> None:
    for key, value in pairs:
        _reject_surrogates(key)
        _reject_surrogates(value)


_SURROGATE_DECODER: Final = strict_decoder(_checked_object)


def _reject_surrogates(value: JsonValue) -> None:
    # Python's decoder joins valid \uD83D\uDE00 pairs into one code point, so
    # any surrogate left in a str was lone in the text.
    if isinstance(value, str):
        if _SURROGATE_CHAR.search(value):
            raise JsonError("lone surrogate in \\u escape", Rule.STRING_LONE_SURROGATE)
    elif isinstance(value, list):
        for item in value:
            _reject_surrogates(item)
    # dicts were checked by their own hook when they were built


# A high surrogate escape: in a text that parsed, it was half of a pair.
_HIGH_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89abAB]")


class _Noted:
    """The value rules one parse went through, kept until it succeeds; its
    decoders are built once per thread (``_noted``)."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self._decoders = (
            strict_decoder(self._object, self._number),
            strict_decoder(self._checked_object, self._number),
        )

    def decoder(self, check_surrogates: bool) -> json.JSONDecoder:
        return self._decoders[check_surrogates]

    def _object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        merged = dict(pairs)
        if len(merged) < len(pairs):
            self.found.append(Rule.OBJECT_DUPLICATE_KEY)
        ordered = dict(sorted(merged.items()))
        if list(ordered) != list(merged):
            self.found.append(Rule.OBJECT_KEYS_SORTED)
        return ordered

    def _checked_object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        _check_pairs(pairs)
        return self._object(pairs)

    def _number(self, literal: str) -> int | float:
        value = number_from_literal(literal)
        note_number(literal, value, self.found.append)
        return value

    def parsed(self, text: str, depth: int, check_surrogates: bool) -> None:
        if depth == MAX_DEPTH:
            self.found.append(Rule.DEPTH_AT_LIMIT)
        if check_surrogates and _HIGH_SURROGATE_ESCAPE.search(text):
            self.found.append(Rule.STRING_SURROGATE_PAIR)


_PER_THREAD: Final = threading.local()


def _noted() -> _Noted:
    """This thread's ``_Noted``, emptied (a parse never starts another)."""
    noted: _Noted | None = getattr(_PER_THREAD, "noted", None)
    if noted is None:
        noted = _PER_THREAD.noted = _Noted()
    noted.found = []
    return noted


# ---------------------------------------------------------------------------
# Writing


def dumps(value: JsonValue, hit: Hit = ignore) -> str:
    """Compact JSON, byte-compatible with ``serde_json::to_string``.

    Objects are written in their dict order (parsed values are already
    sorted); floats as serde_json's formatter (zmij, since 1.0.15x) prints
    them; strings with serde_json's escapes
    (which are also Python's with ``ensure_ascii=False``). ``hit`` hears
    the writing rules that applied (a float in exponent form...).
    """
    parts: list[str] = []
    _write(value, parts)
    text = "".join(parts)
    if hit is not ignore:
        _note_written(text, hit)
    return text


# What an encoder other than serde_json's may escape: non-ASCII, and the
# characters Go's encoding/json escapes for HTML.
_ESCAPABLE: Final = re.compile("[<>&\u0080-\U0010ffff]")
_STRING_TOKEN: Final = re.compile(r'"(?:[^"\\]|\\.)*"')
# How format_float writes a double in exponent form, and an integral one.
_FLOAT_EXPONENT: Final = re.compile(r"\de[+-]\d")
_FLOAT_INTEGRAL: Final = re.compile(r"(?<![\d.])\d+\.0(?!\d)")


def _note_written(text: str, hit: Hit) -> None:
    """The writing rules that gave ``text`` (read off the text itself: only
    strings hold what another encoder would escape, and outside strings only
    doubles hold a decimal point or an exponent)."""
    if _ESCAPABLE.search(text):
        hit(Rule.WRITE_STRING_UNESCAPED)
    # Substring tests first (most answers have no double; a string may only
    # look like one, so a match is checked again without the strings).
    exponent = ("e+" in text or "e-" in text) and _FLOAT_EXPONENT.search(text)
    integral = ".0" in text and _FLOAT_INTEGRAL.search(text)
    if not exponent and not integral:
        return
    bare = _STRING_TOKEN.sub("", text) if '"' in text else text
    if exponent and _FLOAT_EXPONENT.search(bare):
        hit(Rule.WRITE_FLOAT_EXPONENT)
    if integral and _FLOAT_INTEGRAL.search(bare):
        hit(Rule.WRITE_FLOAT_INTEGRAL)


_encode_str = json.encoder.encode_basestring  # C-accelerated; escapes '"', '\\', control chars only


def _write(value: JsonValue, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(format_float(value))
    elif isinstance(value, str):
        out.append(_encode_str(value))
    elif isinstance(value, list):
        _write_array(value, out)
    elif isinstance(value, dict):
        _write_object(value, out)
    else:
        raise TypeError(f"not a JSON value: {type(value).__name__}")


def _write_array(items: list[JsonValue], out: list[str]) -> None:
    out.append("[")
    for index, item in enumerate(items):
        if index:
            out.append(",")
        _write(item, out)
    out.append("]")


def _write_object(obj: dict[str, JsonValue], out: list[str]) -> None:
    out.append("{")
    for index, (key, item) in enumerate(obj.items()):
        if index:
            out.append(",")
        out.append(_encode_str(key))
        out.append(":")
        _write(item, out)
    out.append("}")


def format_float(value: float) -> str:
    """Format a finite double exactly as serde_json does.

    Shortest round-trip digits; plain notation when the decimal exponent of
    the first digit is in -5..=15 (always with a fraction: ``100.0``),
    otherwise ``d.ddde+N`` / ``de-N`` with the exponent's sign always written.
    """
    if not math.isfinite(value):
        raise ValueError("JSON has no non-finite numbers")
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    digits, point = _shortest_digits(abs(value))
    return sign + _layout(digits, point)


def _shortest_digits(value: float) -> tuple[str, int]:
    """Shortest round-trip digits d1d2... and kk with value = 0.d1d2... x 10**kk."""
    mantissa, _, exponent = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    leading_zeros = len(whole + fraction) - len((whole + fraction).lstrip("0"))
    point = len(whole) - leading_zeros + (int(exponent) if exponent else 0)
    return digits.rstrip("0"), point


def _layout(digits: str, kk: int) -> str:
    length = len(digits)
    k = kk - length
    if k >= 0 and kk <= 16:
        return digits + "0" * k + ".0"
    if 0 < kk <= 16:
        return digits[:kk] + "." + digits[kk:]
    if -5 < kk <= 0:
        return "0." + "0" * -kk + digits
    mantissa = digits if length == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{kk - 1:+d}"
