"""Helpers every report format shares: safe text, truncation, target order."""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from harness.model import REFERENCE, JsonValue

# Bidi controls can make escaped text *display* as something else ("Trojan
# Source"); they are shown as escapes like other invisible characters.
_BIDI: Final = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def jsonable(value: Any) -> JsonValue:
    """Any value as plain JSON data (inputs come from strategies, not promises)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return repr(value)


def printable(text: str) -> str:
    """``text`` with control, bidi and lone-surrogate characters shown as escapes.

    Newlines and tabs are kept; call ``one_line`` to escape them too.
    """
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char in "\n\t":
            out.append(char)
        elif (
            unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI or code in (0x2028, 0x2029)
        ):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def one_line(text: str) -> str:
    return printable(text).replace("\n", "\\n").replace("\t", "\\t")


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def compact(value: JsonValue) -> str:
    """Compact JSON for display (non-ASCII as itself, escapes applied later)."""
    return json.dumps(jsonable(value), ensure_ascii=False, separators=(",", ":"))


def ordered_targets(names: Iterable[str]) -> list[str]:
    """The reference first, then the targets by name."""
    names = set(names)
    return ([REFERENCE] if REFERENCE in names else []) + sorted(names - {REFERENCE})


def write_text(path: Path, text: str) -> Path:
    # A lone surrogate cannot be UTF-8; written as a \\udxxx escape it stays
    # valid JSON (it can only occur inside a string) and harmless elsewhere.
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8", "backslashreplace"))
    return path
