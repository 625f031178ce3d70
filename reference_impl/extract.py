"""``extract_json`` (CONTRACT §1): the first JSON object in free-form model output."""

from __future__ import annotations

import re
from typing import Any, Final

from reference_impl.jsonmodel import JsonError, loads
from reference_impl.text import rust_trim

FENCE: Final = "```"
_BRACE: Final = re.compile(r"[{}]")


def fenced_candidates(raw: str) -> list[str]:
    """Bodies of the ``` fences, left to right, trimmed as Rust's str::trim."""
    candidates: list[str] = []
    position = 0
    while (start := raw.find(FENCE, position)) >= 0:
        after = start + len(FENCE)
        # The first newline after the fence ends the info string, even when it
        # lies beyond the next fence: the runtimes search the whole remainder.
        newline = raw.find("\n", after)
        body_start = newline + 1 if newline >= 0 else after
        end = raw.find(FENCE, body_start)
        if end < 0:
            break  # an unclosed fence ends the fenced scan
        candidates.append(rust_trim(raw[body_start:end]))
        position = end + len(FENCE)
    return candidates


def _as_object(text: str) -> dict[str, Any] | None:
    try:
        value = loads(text)
    except JsonError:
        return None
    return value if isinstance(value, dict) else None


def brace_scan(raw: str) -> dict[str, Any] | None:
    """The runtimes' byte-level balance scan, quirks included.

    Braces inside JSON strings count, and a stray ``}`` drives the depth
    negative so that it never returns to zero. ``{`` and ``}`` are single
    UTF-8 bytes that never occur inside a multi-byte sequence, so walking
    code points finds the same positions as walking bytes.
    """
    depth = 0
    start: int | None = None
    for match in _BRACE.finditer(raw):
        index = match.start()
        if raw[index] == "{":
            if start is None:
                start = index
            depth += 1
            continue
        depth -= 1
        if depth == 0 and start is not None:
            found = _as_object(raw[start : index + 1])
            if found is not None:
                return found
            start = None
    return None


def extract_json(raw: str) -> dict[str, Any] | None:
    """The first fenced candidate that is an object, else the brace scan's."""
    for candidate in fenced_candidates(raw):
        found = _as_object(candidate)
        if found is not None:
            return found
    return brace_scan(raw)
