"""Paths into a JSON value: how a difference names where it is
(``$.history[0].status.error<json>.message``) and the patterns a projection
names (``$.attempts[*].span_id``)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Final

Segment = str | int
Path = tuple[Segment, ...]
Pattern = tuple[object, ...]

# How a path steps into a string that holds JSON text, as written and as a
# segment (a NUL-prefixed key no real output shares).
JSON_SEGMENT: Final = "<json>"
JSON_KEY: Final = "\x00json"

_IDENT: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WILDCARD: Final = object()
_PATTERN_TOKEN: Final = re.compile(
    r"\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\[(?P<index>\d+|\*)\]"
    r"|\[(?P<quoted>\"(?:[^\"\\]|\\.)*\")\]|(?P<json><json>)"
)


def format_path(parts: Sequence[Segment]) -> str:
    """``("a", 0, "b c")`` -> ``$.a[0]["b c"]``; the JSON marker renders as ``<json>``."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part == JSON_KEY:
            out.append(JSON_SEGMENT)
        elif _IDENT.fullmatch(part):
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(out)


def parse_pattern(pattern: str) -> Pattern:
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
            parts.append(JSON_KEY)
        pos = match.end()
    return tuple(parts)


def matches(pattern: Pattern, path: Path) -> bool:
    if len(pattern) != len(path):
        return False
    for want, got in zip(pattern, path, strict=True):
        if want is _WILDCARD:
            if not isinstance(got, int):
                return False
        elif want != got or isinstance(want, int) != isinstance(got, int):
            return False
    return True


def token_name(pattern: str) -> str:
    """The token a shape-only value becomes: its pattern's last name."""
    names = _IDENT.findall(pattern)
    return f"<shape:{names[-1] if names else 'value'}>"
