"""Byte-level comparison (CONTRACT §6 ``encoding_only``): two outputs of the
same value written differently. Each text is scanned as written, the
projection applied to it (volatile members left out, shape-only scalars
as their token), and what is left compared byte for byte; a JSON string
held inside is compared as its own text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from harness.compare.parsing import DECODER
from harness.compare.paths import JSON_KEY, JSON_SEGMENT, Path, Segment, format_path
from harness.compare.projection import JsonText, Rules
from harness.model import Difference, DivergenceClass, JsonValue

_WS: Final = " \t\n\r"
_EXCERPT: Final = 24


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
    value, end = DECODER.raw_decode(text, pos)
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
    key, pos = DECODER.raw_decode(text, pos)
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


def _emit(node: _Node, path: Path, rules: Rules, skip: frozenset[Path]) -> Iterator[str]:
    """The text as written, with the projection applied (dropped members left out)."""
    if not node.container:
        token = rules.shape_token(path, node.value)
        yield token if token is not None else (JSON_SEGMENT if path in skip else node.raw)
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


def _residual(text: str, rules: Rules, skip: frozenset[Path]) -> str:
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
    """Every place where both sides hold a JSON string (after ``reconcile``)."""
    if isinstance(a, JsonText) and isinstance(b, JsonText):
        yield path, a.text, b.text
        yield from _json_pairs(a[JSON_KEY], b[JSON_KEY], (*path, JSON_KEY))
    elif isinstance(a, dict) and isinstance(b, dict):
        for key in a.keys() & b.keys():
            yield from _json_pairs(a[key], b[key], (*path, key))
    elif isinstance(a, list) and isinstance(b, list):
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from _json_pairs(x, y, (*path, index))


def encoding(
    a: JsonValue, b: JsonValue, expected_text: str, actual_text: str, rules: Rules
) -> list[Difference]:
    """The ``encoding_only`` differences of two texts whose (projected) values
    ``a`` and ``b`` are the same."""
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
