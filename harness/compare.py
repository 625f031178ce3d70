"""Compare a target's output with the reference's and classify every difference.

CONTRACT §5 and §6 are the rules. The pipeline for one pair of outputs:

1. ``parse_output`` reads each side with a number-preserving parser (an integer
   literal stays an exact ``int``, a literal with a fraction or exponent is a
   ``float``), so ``1`` and ``1.0`` remain distinguishable.
2. A per-suite ``Projection`` strips the volatile fields (§5), reduces
   shape-only fields to a token, and parses strings that hold JSON text.
3. An exact walk over both projected values maps each change to one §6
   class. (deepdiff, the independent implementation, is held to the same
   differences by the differential test in tests/test_compare.py; it costs
   about a hundred times more per pair, so the walk is what runs.)
4. Only when nothing differs structurally are the bytes compared (with the
   same projection applied to the text as written): a difference there is
   ``encoding_only``.

``blame`` turns the per-target differences of one case into ``Failure``s that
name the target(s) which broke the contract.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from deepdiff import DeepDiff

from harness.model import (
    REFERENCE,
    SEVERITY,
    Difference,
    DivergenceClass,
    Failure,
    JsonValue,
    generalise_path,
)
from harness.volatile import ID_SHAPE

__all__ = [
    "ID_SHAPE",
    "JSON_SEGMENT",
    "Projection",
    "blame",
    "compare",
    "compare_plain",
    "format_path",
    "matched_difference",
    "parse_output",
    "status_difference",
]

# A minted trace/session id (docs/decisions.md §3): non-empty [0-9A-Za-z_-], at most 64.
# How a path steps into a string that holds JSON text: $.history[0].status.error<json>.message
JSON_SEGMENT: Final = "<json>"
RELATIVE_TOLERANCE: Final = 1e-15
_IDENT: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WS: Final = " \t\n\r"
_EXCERPT: Final = 24

Segment = str | int
Path = tuple[Segment, ...]


# --------------------------------------------------------------------------- parsing


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise ValueError(f"number out of range: {literal[:40]}")
    return value


_DECODER: Final = json.JSONDecoder(
    parse_int=int, parse_float=_finite_float, parse_constant=_reject_constant
)


def parse_output(text: str) -> JsonValue:
    """Parse a target's output, keeping every number's written type and value.

    Integer literals become exact Python ints (no i64/u64 clamp: the harness
    must see what a runtime *wrote*); fraction/exponent literals become floats.
    Raises ``ValueError`` on anything that is not one JSON value.
    """
    try:
        return _DECODER.decode(text)
    except RecursionError as exc:  # a pathologically deep value is still garbage to us
        raise ValueError("nesting too deep") from exc


# --------------------------------------------------------------------------- paths


def format_path(parts: Sequence[Segment]) -> str:
    """``("a", 0, "b c")`` -> ``$.a[0]["b c"]``; the JSON marker renders as ``<json>``."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part == _JSON_KEY:
            out.append(JSON_SEGMENT)
        elif _IDENT.fullmatch(part):
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(out)


_WILDCARD: Final = object()
_PATTERN_TOKEN: Final = re.compile(
    r"\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\[(?P<index>\d+|\*)\]"
    r"|\[(?P<quoted>\"(?:[^\"\\]|\\.)*\")\]|(?P<json><json>)"
)


def _parse_pattern(pattern: str) -> tuple[object, ...]:
    """``$.attempts[*].span_id`` -> ("attempts", WILDCARD, "span_id")."""
    if not pattern.startswith("$"):
        raise ValueError(f"a path starts with '$': {pattern!r}")
    parts: list[object] = []
    pos = 1
    while pos < len(pattern):
        match = _PATTERN_TOKEN.match(pattern, pos)
        if match is None:
            raise ValueError(f"bad path {pattern!r} at offset {pos}")
        if match["name"] is not None:
            parts.append(match["name"])
        elif match["index"] is not None:
            parts.append(_WILDCARD if match["index"] == "*" else int(match["index"]))
        elif match["quoted"] is not None:
            parts.append(json.loads(match["quoted"]))
        else:
            parts.append(_JSON_KEY)
        pos = match.end()
    return tuple(parts)


def _matches(pattern: tuple[object, ...], path: Path) -> bool:
    if len(pattern) != len(path):
        return False
    for want, got in zip(pattern, path, strict=True):
        if want is _WILDCARD:
            if not isinstance(got, int):
                return False
        elif want != got or isinstance(want, int) != isinstance(got, int):
            return False
    return True


# --------------------------------------------------------------------------- projection


@dataclass(frozen=True)
class Projection:
    """What a suite strips or relaxes before comparing (CONTRACT §5).

    ``drop``: paths removed from both sides. ``shape_only``: path -> regex; a
    string that fully matches becomes ``"<shape:NAME>"`` so only presence and
    shape are compared. ``json_strings``: paths whose string values hold JSON
    text, compared as JSON. Paths may use ``[*]`` for any array index.
    """

    drop: tuple[str, ...] = ()
    shape_only: Mapping[str, str] = field(default_factory=dict)
    json_strings: tuple[str, ...] = ()

    @functools.cached_property
    def compiled(self) -> _Compiled:
        return _Compiled(
            drop=tuple(_parse_pattern(p) for p in self.drop),
            shape=tuple(
                (_parse_pattern(p), re.compile(rx), _token_name(p))
                for p, rx in self.shape_only.items()
            ),
            json_strings=tuple(_parse_pattern(p) for p in self.json_strings),
        )


def _token_name(pattern: str) -> str:
    names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", pattern)
    return f"<shape:{names[-1] if names else 'value'}>"


@dataclass(frozen=True)
class _Compiled:
    drop: tuple[tuple[object, ...], ...]
    shape: tuple[tuple[tuple[object, ...], re.Pattern[str], str], ...]
    json_strings: tuple[tuple[object, ...], ...]

    @functools.cached_property
    def longest(self) -> int:
        """The length of the longest path a rule names (0: no rules)."""
        patterns = [*self.drop, *(p for p, _, _ in self.shape), *self.json_strings]
        return max(map(len, patterns), default=0)

    @functools.cached_property
    def empty(self) -> bool:
        """No rule at all (a rule may name the root: ``longest`` is 0 then too)."""
        return not (self.drop or self.shape or self.json_strings)

    def dropped(self, path: Path) -> bool:
        return any(_matches(p, path) for p in self.drop)

    def shape_token(self, path: Path, value: object) -> str | None:
        for pattern, regex, token in self.shape:
            if isinstance(value, str) and _matches(pattern, path) and regex.fullmatch(value):
                return token
        return None

    def holds_json(self, path: Path) -> bool:
        return any(_matches(p, path) for p in self.json_strings)


# Marker key of a parsed JSON string (a NUL-prefixed key no real output shares).
_JSON_KEY: Final = "\x00json"


class _JsonText(dict[str, Any]):
    """A string that held JSON text: ``{_JSON_KEY: parsed}``, remembering the text."""

    text: str

    @classmethod
    def wrap(cls, text: str, parsed: JsonValue) -> _JsonText:
        out = cls({_JSON_KEY: parsed})
        out.text = text
        return out


class _NegativeZero(float):
    """-0.0, made a distinct type: deepdiff (like ``==``) treats -0.0 and 0.0 as equal."""


def _project(value: JsonValue, path: Path, rules: _Compiled) -> JsonValue:
    if len(path) > rules.longest:
        # No rule names a path this long (a pattern matches paths of its own
        # length only): what is left to do needs no paths, which deep values
        # would otherwise pay for at every level.
        return _signed_zeros(value)
    if isinstance(value, dict):
        return {
            key: _project(item, (*path, key), rules)
            for key, item in value.items()
            if not rules.dropped((*path, key))
        }
    if isinstance(value, list):
        return [
            _project(item, (*path, index), rules)
            for index, item in enumerate(value)
            if not rules.dropped((*path, index))
        ]
    token = rules.shape_token(path, value)
    if token is not None:
        return token
    if isinstance(value, str) and rules.holds_json(path):
        return _maybe_json(value, path, rules)
    if isinstance(value, float) and value == 0.0 and math.copysign(1.0, value) < 0:
        return _NegativeZero(value)
    return value


def _signed_zeros(value: JsonValue) -> JsonValue:
    """``_project`` where no rule applies: only -0.0 is made distinct."""
    if isinstance(value, dict):
        return {key: _signed_zeros(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_signed_zeros(item) for item in value]
    if isinstance(value, float) and value == 0.0 and math.copysign(1.0, value) < 0:
        return _NegativeZero(value)
    return value


def _maybe_json(text: str, path: Path, rules: _Compiled) -> JsonValue:
    try:
        parsed = parse_output(text)
    except ValueError:
        return text
    return _JsonText.wrap(text, _project(parsed, (*path, _JSON_KEY), rules))


def _reconcile(a: JsonValue, b: JsonValue) -> tuple[JsonValue, JsonValue]:
    """Compare as JSON only where *both* sides parsed; elsewhere fall back to the strings."""
    if isinstance(a, _JsonText) and isinstance(b, _JsonText):
        inner_a, inner_b = _reconcile(a[_JSON_KEY], b[_JSON_KEY])
        return _JsonText.wrap(a.text, inner_a), _JsonText.wrap(b.text, inner_b)
    if isinstance(a, _JsonText) or isinstance(b, _JsonText):
        return _unwrapped(a), _unwrapped(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return _reconcile_dicts(a, b)
    if isinstance(a, list) and isinstance(b, list):
        pairs = [_reconcile(x, y) for x, y in zip(a, b, strict=False)]
        n = len(pairs)
        return [p[0] for p in pairs] + a[n:], [p[1] for p in pairs] + b[n:]
    return a, b


def _unwrapped(value: JsonValue) -> JsonValue:
    return value.text if isinstance(value, _JsonText) else value


def _reconcile_dicts(a: dict[str, Any], b: dict[str, Any]) -> tuple[JsonValue, JsonValue]:
    out_a, out_b = dict(a), dict(b)
    for key in a.keys() & b.keys():
        out_a[key], out_b[key] = _reconcile(a[key], b[key])
    return out_a, out_b


def _plain(value: JsonValue) -> JsonValue:
    """Undo the comparison wrappers so a ``Difference`` carries ordinary JSON values."""
    if isinstance(value, _JsonText):
        return value.text
    if isinstance(value, _NegativeZero):
        return -0.0
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _canonical(value: JsonValue) -> str:
    # Type-faithful: 1 -> "1", 1.0 -> "1.0", True -> "true", -0.0 -> "-0.0".
    return json.dumps(value, sort_keys=True, ensure_ascii=True, allow_nan=False)


# --------------------------------------------------------------------------- classification


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
        return None if _canonical(expected) == _canonical(actual) else DivergenceClass.VALUE
    if isinstance(expected, int) != isinstance(actual, int):
        return DivergenceClass.NUMBER_TYPE if _close(expected, actual) else DivergenceClass.VALUE
    if _same_bits(expected, actual):
        return None
    return DivergenceClass.NUMBER_PRECISION if _close(expected, actual) else DivergenceClass.VALUE


# --------------------------------------------------------------------------- structural walk


def _get(value: JsonValue, path: Sequence[Segment]) -> JsonValue:
    for part in path:
        value = value[part]
    return value


def _leaf(cls: DivergenceClass, path: Sequence[Segment], e: JsonValue, a: JsonValue) -> Difference:
    return Difference(cls=cls, path=format_path(path), expected=_plain(e), actual=_plain(a))


_ABSENT_ON_TARGET: Final = "null on the reference, absent on the target"
_ABSENT_ON_REFERENCE: Final = "absent on the reference, null on the target"


def _dict_item(path: Sequence[Segment], value: JsonValue, *, on_target: bool) -> Difference:
    present = _plain(value)
    if value is None:
        cls = DivergenceClass.NULL_VS_ABSENT
        note = _ABSENT_ON_TARGET if on_target else _ABSENT_ON_REFERENCE
    elif on_target:
        cls, note = DivergenceClass.MISSING_FIELD, "absent on the target"
    else:
        cls, note = DivergenceClass.EXTRA_FIELD, "absent on the reference"
    expected, actual = (present, None) if on_target else (None, present)
    return Difference(cls=cls, path=format_path(path), expected=expected, actual=actual, note=note)


# Every option that could make deepdiff looser than the contract, spelled out.
_DEEPDIFF_OPTIONS: Final[dict[str, Any]] = {
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


def _exact(expected: JsonValue, actual: JsonValue, path: Path) -> Iterator[Difference]:
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
                out.append(_dict_item(path, item, on_target=True))
            path.pop()
        for key in actual.keys() - expected.keys():
            path.append(key)
            out.append(_dict_item(path, actual[key], on_target=False))
            path.pop()
    elif isinstance(expected, list) and isinstance(actual, list):
        for index, (x, y) in enumerate(zip(expected, actual, strict=False)):
            path.append(index)
            _walk(x, y, path, out)
            path.pop()
        if len(expected) != len(actual):
            out.append(_length_difference(tuple(path), expected, actual))
    else:
        cls = classify(_plain(expected), _plain(actual))
        if cls is not None:
            out.append(_leaf(cls, path, expected, actual))


def _structural(expected: JsonValue, actual: JsonValue) -> list[Difference]:
    """The same differences as ``_exact``, found by deepdiff: the independent
    implementation the differential test holds the walk to."""
    tree = DeepDiff(expected, actual, **_DEEPDIFF_OPTIONS)
    out: list[Difference] = []
    resized: set[Path] = set()
    for report, levels in tree.items():
        for level in levels:
            path: Path = tuple(level.path(output_format="list"))
            if report in ("type_changes", "values_changed"):
                cls = classify(_plain(level.t1), _plain(level.t2))
                if cls is not None:
                    out.append(_leaf(cls, path, level.t1, level.t2))
            elif report == "dictionary_item_removed":
                out.append(_dict_item(path, level.t1, on_target=True))
            elif report == "dictionary_item_added":
                out.append(_dict_item(path, level.t2, on_target=False))
            elif report in ("iterable_item_added", "iterable_item_removed"):
                resized.add(path[:-1])
            else:  # anything else deepdiff may invent is still a difference
                out.append(_leaf(DivergenceClass.VALUE, path, level.t1, level.t2))
    out.extend(_length_difference(p, _get(expected, p), _get(actual, p)) for p in resized)
    # The caller saw the canonical forms differ, so "nothing" is deepdiff's blind spot.
    return out or list(_exact(expected, actual, ()))


def _length_difference(path: Path, expected: list[Any], actual: list[Any]) -> Difference:
    n_e, n_a = len(expected), len(actual)
    return Difference(
        cls=DivergenceClass.VALUE,
        path=format_path(path),
        expected=n_e,
        actual=n_a,
        note=f"array length {n_e} vs {n_a}",
    )


# --------------------------------------------------------------------------- bytes


@dataclass
class _Node:
    """A JSON value as written: scalars keep their spelling, containers their layout."""

    raw: str = ""  # scalar spelling
    value: JsonValue = None  # decoded scalar
    container: str = ""  # "{" or "[" for containers
    members: list[_Member] = field(default_factory=list)
    inner: str = ""  # whitespace inside an empty container


@dataclass
class _Member:
    key: Segment
    lead: str  # whitespace, key spelling and colon before the value
    node: _Node
    trail: str  # whitespace after the value


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WS:
        pos += 1
    return pos


def _scan(text: str, pos: int) -> tuple[_Node, int]:
    char = text[pos]
    if char == "{" or char == "[":
        return _scan_container(text, pos)
    value, end = _DECODER.raw_decode(text, pos)
    return _Node(raw=text[pos:end], value=value), end


def _scan_container(text: str, pos: int) -> tuple[_Node, int]:
    node = _Node(container=text[pos])
    close = "}" if node.container == "{" else "]"
    pos += 1
    start = pos
    pos = _skip_ws(text, pos)
    if text[pos] == close:
        node.inner = text[start:pos]
        return node, pos + 1
    index = 0
    while True:
        key: Segment = index
        if node.container == "{":
            key, pos = _scan_key(text, pos)
        child, end = _scan(text, pos)
        after = _skip_ws(text, end)
        node.members.append(_Member(key, text[start:pos], child, text[end:after]))
        if text[after] == close:
            return node, after + 1
        start, index = after + 1, index + 1
        pos = _skip_ws(text, start)


def _scan_key(text: str, pos: int) -> tuple[str, int]:
    if text[pos] != '"':
        raise ValueError(f"expected a key at {pos}")
    key, pos = _DECODER.raw_decode(text, pos)
    pos = _skip_ws(text, pos)
    if text[pos] != ":":
        raise ValueError(f"expected ':' at {pos}")
    return key, _skip_ws(text, pos + 1)


def _spelled(text: str) -> tuple[str, _Node, str] | None:
    try:
        head = _skip_ws(text, 0)
        node, end = _scan(text, head)
    except (ValueError, IndexError, RecursionError):
        return None
    return text[:head], node, text[end:]


def _emit(node: _Node, path: Path, rules: _Compiled, skip: frozenset[Path]) -> Iterator[str]:
    """The text as written, with the projection applied (dropped members left out)."""
    if not node.container:
        token = rules.shape_token(path, node.value)
        yield token if token is not None else ("<json>" if path in skip else node.raw)
        return
    yield node.container
    kept = [m for m in node.members if not rules.dropped((*path, m.key))]
    for number, member in enumerate(kept):
        yield "," if number else ""
        yield member.lead
        yield from _emit(member.node, (*path, member.key), rules, skip)
        yield member.trail
    yield node.inner if not kept else ""
    yield "}" if node.container == "{" else "]"


def _residual(text: str, rules: _Compiled, skip: frozenset[Path]) -> str:
    spelled = _spelled(text)
    if spelled is None:  # not scannable: compare the text as it is
        return text
    head, node, tail = spelled
    return head + "".join(_emit(node, (), rules, skip)) + tail


def _first_difference(raw_a: bytes, raw_b: bytes) -> int:
    """The offset of the first byte that differs (or the shorter length).

    A binary search over slices: each comparison is a memcmp, where a loop
    over the bytes would cost a Python step per byte of a long output.
    """
    low, high = 0, min(len(raw_a), len(raw_b))
    while low < high:  # raw_a[:low] == raw_b[:low], and the answer is <= high
        middle = (low + high + 1) // 2
        if raw_a[low:middle] == raw_b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _encoding_difference(path: str, a: str, b: str, what: str) -> Difference:
    raw_a, raw_b = a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    offset = _first_difference(raw_a, raw_b)
    lo = max(0, offset - 8)

    def excerpt(raw: bytes) -> str:
        return raw[lo : offset + _EXCERPT].decode("utf-8", "backslashreplace")

    return Difference(
        cls=DivergenceClass.ENCODING_ONLY,
        path=path,
        expected=excerpt(raw_a),
        actual=excerpt(raw_b),
        note=f"same value, different bytes: first difference at byte {offset} of the {what}",
    )


def _json_pairs(a: JsonValue, b: JsonValue, path: Path) -> Iterator[tuple[Path, str, str]]:
    """Every place where both sides hold a JSON string (after ``_reconcile``)."""
    if isinstance(a, _JsonText) and isinstance(b, _JsonText):
        yield path, a.text, b.text
        yield from _json_pairs(a[_JSON_KEY], b[_JSON_KEY], (*path, _JSON_KEY))
    elif isinstance(a, dict) and isinstance(b, dict):
        for key in a.keys() & b.keys():
            yield from _json_pairs(a[key], b[key], (*path, key))
    elif isinstance(a, list) and isinstance(b, list):
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from _json_pairs(x, y, (*path, index))


def _encoding(
    a: JsonValue, b: JsonValue, expected_text: str, actual_text: str, rules: _Compiled
) -> list[Difference]:
    if expected_text == actual_text:  # then every JSON string inside is equal too
        return []
    out: list[Difference] = []
    inner: set[Path] = set()
    pairs = _json_pairs(a, b, ()) if rules.json_strings else iter(())
    for path, text_a, text_b in sorted(pairs, key=lambda t: format_path(t[0])):
        if text_a != text_b:
            inner.add(path)
            out.append(_encoding_difference(format_path(path), text_a, text_b, "JSON text"))
    # Outer bytes: JSON strings already reported inside are masked so each
    # encoding difference is reported once, where it is.
    skip = frozenset(inner)
    if skip or rules.drop or rules.shape:
        res_a, res_b = _residual(expected_text, rules, skip), _residual(actual_text, rules, skip)
    else:  # nothing to remove or mask: the residual is the text itself
        res_a, res_b = expected_text, actual_text
    if res_a != res_b:
        out.insert(0, _encoding_difference("$", res_a, res_b, "output (volatile fields removed)"))
    return out


# --------------------------------------------------------------------------- public API


def compare(
    expected: JsonValue,
    actual: JsonValue,
    *,
    expected_text: str,
    actual_text: str,
    projection: Projection,
) -> tuple[Difference, ...]:
    """Every difference of ``actual`` (a target) from ``expected`` (the reference).

    ``expected``/``actual`` are the parsed outputs (``parse_output``) and the
    texts are what was written, for the byte-level ``encoding_only`` check.
    Differences are sorted by path, then class.
    """
    rules = projection.compiled  # first: a bad projection is refused whatever the values
    # Fast paths (most answers agree to the byte, many more in value): values
    # the same in type and spelling project to the same, so only the bytes
    # can differ, and equal texts cannot. What the full path would find.
    if _canonical(expected) == _canonical(actual):
        if expected_text == actual_text:
            return ()
        if not rules.json_strings:  # _encoding then reads the texts only
            return _sorted(_encoding(expected, actual, expected_text, actual_text, rules))
    if rules.empty:
        # No rule to apply: projecting would only mark -0.0, which the walk
        # tells from 0.0 by itself (``classify``), and the canonical forms
        # already differ, so the walk finds what projecting first would.
        a, b = expected, actual
        found = list(_exact(a, b, ()))
    else:
        a, b = _project(expected, (), rules), _project(actual, (), rules)
        if rules.json_strings:  # otherwise there is no JSON string to reconcile
            a, b = _reconcile(a, b)
        found = [] if _canonical(a) == _canonical(b) else list(_exact(a, b, ()))
    if not found:
        found = _encoding(a, b, expected_text, actual_text, rules)
    return _sorted(found)


def _sorted(found: list[Difference]) -> tuple[Difference, ...]:
    return tuple(sorted(found, key=lambda d: (d.path, SEVERITY.index(d.cls))))


def compare_plain(expected_text: str, actual_text: str) -> tuple[Difference, ...]:
    """Compare two non-JSON bodies (the 502 plain-text body) as strings."""
    if expected_text == actual_text:
        return ()
    return (Difference(DivergenceClass.VALUE, "$", expected_text, actual_text, "plain text"),)


def status_difference(expected: int, actual: int) -> Difference:
    """The ``status`` difference for two HTTP statuses (call it when they differ)."""
    return Difference(
        cls=DivergenceClass.STATUS,
        path="$",
        expected=expected,
        actual=actual,
        note=f"HTTP status {expected} vs {actual}",
    )


def matched_difference(expected: JsonValue, actual: JsonValue) -> Difference | None:
    """The ``matched`` difference of two extract_json answers, or ``None``.

    When it is not ``None`` it is the only difference to report for the pair:
    the values of a found and a not-found answer are not comparable.
    """
    if not isinstance(expected, dict) or not isinstance(actual, dict):
        return None
    found_e, found_a = expected.get("matched"), actual.get("matched")
    if not isinstance(found_e, bool) or not isinstance(found_a, bool) or found_e == found_a:
        return None
    return Difference(
        cls=DivergenceClass.MATCHED,
        path="$.matched",
        expected=found_e,
        actual=found_a,
        note="one probe found an object, the other did not",
    )


# --------------------------------------------------------------------------- blame


def _show(value: JsonValue, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _side(diff: Difference, *, target: bool, limit: int = 40) -> str:
    absent_target = diff.cls is DivergenceClass.MISSING_FIELD or diff.note == _ABSENT_ON_TARGET
    absent_reference = diff.cls is DivergenceClass.EXTRA_FIELD or diff.note == _ABSENT_ON_REFERENCE
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
