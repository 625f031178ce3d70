"""``extract_json`` (CONTRACT §1): the first JSON object in free-form model output.

Every function takes an optional recorder, ``hit`` (``reference_impl.rules``),
that hears the rules the answer went through.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from reference_impl.jsonmodel import JsonError, JsonValue, loads
from reference_impl.rules import Hit, Rule, ignore
from reference_impl.text import WHITE_SPACE, rust_trim

FENCE: Final = "```"
_BRACE: Final = re.compile(r"[{}]")


def fenced_candidates(raw: str) -> list[str]:
    """Bodies of the ``` fences, left to right, trimmed as Rust's str::trim."""
    return [fence.candidate for fence in _fences(raw, ignore)]


@dataclass(frozen=True)
class _Fence:
    start: int  # where the fence opens
    body: str  # between the opening line and the closing fence
    candidate: str  # the body trimmed


def _fences(raw: str, hit: Hit) -> Iterator[_Fence]:
    """The fences, lazily: a fence is only looked at once every earlier
    candidate has been passed over."""
    position = 0
    while (start := raw.find(FENCE, position)) >= 0:
        after = start + len(FENCE)
        # The first newline after the fence ends the info string, even when it
        # lies beyond the next fence: the runtimes search the whole remainder.
        newline = raw.find("\n", after)
        body_start = newline + 1 if newline >= 0 else after
        end = raw.find(FENCE, body_start)
        if end < 0:
            hit(Rule.FENCE_UNCLOSED)
            if hit is not ignore and _is_object(rust_trim(raw[body_start:])):
                hit(Rule.FENCE_UNCLOSED_OBJECT)
            return  # an unclosed fence ends the fenced scan
        if hit is not ignore:
            _note_opening(raw, after, newline, hit)
        body = raw[body_start:end]
        yield _Fence(start, body, rust_trim(body))
        position = end + len(FENCE)


def _note_opening(raw: str, after: int, newline: int, hit: Hit) -> None:
    if newline < 0:
        hit(Rule.FENCE_NO_NEWLINE)
    elif newline > after:
        hit(Rule.FENCE_INFO_STRING)
        if 0 <= raw.find(FENCE, after) < newline:
            hit(Rule.FENCE_NEWLINE_PAST_CLOSE)


_JSON_SPACE: Final = frozenset(" \t\n\r")
_SEPARATORS: Final = "\x1c\x1d\x1e\x1f"


def _note_trim(fence: _Fence, parsed: bool, hit: Hit) -> None:
    """The trimming rules that decided whether the candidate parses."""
    body, candidate = fence.body, fence.candidate
    if parsed and candidate != body:
        hit(Rule.FENCE_TRIMMED_BODY)
        left, right = len(body) - len(body.lstrip(WHITE_SPACE)), len(body.rstrip(WHITE_SPACE))
        if set(body[:left] + body[right:]) - _JSON_SPACE:
            hit(Rule.FENCE_UNICODE_TRIM)  # untrimmed, it would not parse
    if (
        not parsed
        and candidate
        and (candidate[0] in _SEPARATORS or candidate[-1] in _SEPARATORS)
        and _parsed(candidate.strip(), ignore) is not _INVALID
    ):
        hit(Rule.FENCE_SEPARATOR_KEPT)  # stripped as Python does, it would parse


class _Invalid:
    """A candidate that does not parse."""


_INVALID: Final = _Invalid()


def _is_object(text: str) -> bool:
    return text[:1] == "{" and text[-1:] == "}" and isinstance(_parsed(text, ignore), dict)


def _parsed(text: str, hit: Hit) -> JsonValue | _Invalid:
    """The candidate's value, or ``_INVALID``. ``hit`` hears why it failed,
    or what shaped its value once it is the answer (an object)."""
    if hit is ignore:
        try:
            return loads(text)
        except JsonError:
            return _INVALID
    shaping: list[str] = []
    try:
        value = loads(text, shaping.append)
    except JsonError:
        value = _INVALID
    if value is _INVALID or isinstance(value, dict):
        for rule in shaping:
            hit(rule)
    return value


def brace_scan(raw: str, hit: Hit = ignore) -> dict[str, Any] | None:
    """The runtimes' byte-level balance scan, quirks included.

    Braces inside JSON strings count, and a stray ``}`` drives the depth
    negative so that it never returns to zero. ``{`` and ``}`` are single
    UTF-8 bytes that never occur inside a multi-byte sequence, so walking
    code points finds the same positions as walking bytes.
    """
    depth = 0
    start: int | None = None
    first: int | None = None
    cleared = False
    for match in _BRACE.finditer(raw):
        index = match.start()
        if raw[index] == "{":
            if start is None:
                start = index
                first = index if first is None else first
            depth += 1
            continue
        depth -= 1
        if depth == 0 and start is not None:
            value = _parsed(raw[start : index + 1], hit)
            if isinstance(value, dict):
                hit(Rule.SCAN_OBJECT)
                if cleared:
                    hit(Rule.SCAN_AFTER_CLEARED)
                if hit is not ignore:
                    _note_scan(raw, first, index + 1, hit)
                return value
            hit(Rule.SCAN_CLEARED)
            cleared = True
            start = None
        elif depth == -1:
            hit(Rule.SCAN_STRAY_CLOSE)
    if start is not None:
        hit(Rule.SCAN_UNBALANCED)
    if hit is not ignore:
        _note_scan(raw, first, len(raw), hit)
    return None


# A string literal as a JSON parser would read it (one line).
_STRING_LITERAL: Final = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def _note_scan(raw: str, first: int | None, stop: int, hit: Hit) -> None:
    if first is None:
        return
    if raw.find("{", stop) >= 0:
        hit(Rule.SCAN_FIRST_WINS)
    region = raw[first:stop]
    if '"' not in region:
        return
    # Fewer braces once the string literals are gone: some were inside one.
    outside = _STRING_LITERAL.sub("", region)
    if outside.count("{") + outside.count("}") < region.count("{") + region.count("}"):
        hit(Rule.SCAN_BRACE_IN_STRING)


def extract_json(raw: str, hit: Hit = ignore) -> dict[str, Any] | None:
    """The first fenced candidate that is an object, else the brace scan's."""
    passed_over = False
    for fence in _fences(raw, hit):
        value = _parsed(fence.candidate, hit)
        if hit is not ignore:
            _note_trim(fence, value is not _INVALID, hit)
        if isinstance(value, dict):
            hit(Rule.FENCE_OBJECT)
            if passed_over:
                hit(Rule.FENCE_LATER_CANDIDATE)
            if hit is not ignore and "{" in raw[: fence.start]:
                hit(Rule.FENCE_BEFORE_BARE)
            return value
        hit(Rule.FENCE_INVALID if value is _INVALID else Rule.FENCE_NOT_OBJECT)
        passed_over = True
    found = brace_scan(raw, hit)
    if found is None:
        hit(Rule.NO_OBJECT)
    return found
