"""Request bodies a handler can trust: JSON that cannot blow the stack, and
``Content-Encoding`` undone within a size bound.

``json.loads`` raises ``RecursionError`` (not ``ValueError``) on a body nested
a few thousand deep, and a value that parses just under the interpreter's
limit can still blow up later, when a handler encodes it again deeper in its
own stack (a recorded call, a JSON Lines row). So a body nested deeper than
``MAX_JSON_DEPTH`` is refused like any other bad body: ``BadBody``, a 400.
"""

from __future__ import annotations

import json
import zlib
from typing import Final

from harness.model import JsonValue

# Deeper than any request the harness's servers expect, shallow enough that
# encoding the value again never nears the interpreter's recursion limit.
MAX_JSON_DEPTH: Final = 256
_GZIP_WBITS: Final = 16 + zlib.MAX_WBITS


class BadBody(ValueError):
    """A body the handler cannot use; ``str(exc)`` is one line for the client."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def parse_json(body: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> JsonValue:
    """The JSON value of ``body``, or ``BadBody`` (never ``RecursionError``)."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise BadBody(f"JSON nested deeper than {max_depth} levels") from None
    except ValueError:  # UnicodeDecodeError included
        raise BadBody("not JSON") from None
    if _deeper_than(value, max_depth):
        raise BadBody(f"JSON nested deeper than {max_depth} levels")
    return value


def _deeper_than(value: JsonValue, limit: int) -> bool:
    # Iterative: the point is never to recurse on what a client sent.
    stack: list[tuple[JsonValue, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def decode_content(body: bytes, encoding: str | None, *, max_bytes: int) -> bytes:
    """``body`` with its ``Content-Encoding`` undone (``gzip`` or none); a
    decoded size over ``max_bytes`` is a 413, a broken stream a 400."""
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return body
    if codings != ["gzip"] and codings != ["x-gzip"]:
        raise BadBody(f"unsupported Content-Encoding {encoding!r} (gzip only)", 415)
    return _gunzip(body, max_bytes)


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    out = bytearray()
    rest = data
    try:
        while rest:  # a gzip file may hold several members, one after another
            stream = zlib.decompressobj(_GZIP_WBITS)
            out += stream.decompress(rest, max_bytes + 1 - len(out))
            if len(out) > max_bytes:
                raise BadBody(f"request body over {max_bytes} bytes once decompressed", 413)
            if not stream.eof:
                raise BadBody("request body is a truncated gzip stream")
            rest = stream.unused_data
    except zlib.error as exc:
        raise BadBody(f"request body is not valid gzip ({exc})") from None
    return bytes(out)
