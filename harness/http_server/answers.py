"""What a handler asks the server to do with a request: ``Answer``, ``Hang`` or ``Drop``.

Handlers (the scripted model's router, the Langfuse stand-in's) decide;
``server`` carries it out on the socket, including what no ASGI server lets an
application say: close without answering, break an answer off half-way, hold
the socket without answering.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from harness.model import JsonValue

JSON_TYPE: Final = "application/json"


@dataclass(frozen=True)
class Answer:
    """An HTTP response. ``chunks`` (sent with chunked framing, each flushed on
    its own) replaces ``body`` for a stream. ``cut`` sends only the first
    ``cut`` chunks (or bytes of ``body``, under its full Content-Length) and
    then closes the connection: an answer broken off half-way."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()
    chunks: tuple[bytes, ...] | None = None
    cut: int | None = None
    close: bool = False  # close the connection after this answer

    def __post_init__(self) -> None:
        if self.cut is not None and self.cut < 0:
            raise ValueError(f"cut must be >= 0, got {self.cut}")


@dataclass(frozen=True)
class Hang:
    """Never answer; hold the socket until the client leaves or ``max_s`` runs out."""

    max_s: float


@dataclass(frozen=True)
class Drop:
    """Close the socket without answering."""


Action = Answer | Hang | Drop


def encode_json(payload: JsonValue) -> bytes:
    try:
        return json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate cannot be UTF-8: send it as a \\u escape instead.
        return json.dumps(payload).encode("ascii")


def json_answer(
    status: int,
    payload: JsonValue,
    *,
    headers: tuple[tuple[str, str], ...] = (),
    close: bool = False,
) -> Answer:
    return Answer(status, encode_json(payload), headers=headers, close=close)
