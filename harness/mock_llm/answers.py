"""What the HTTP side does with a request: send an ``Answer``, ``Hang`` or ``Drop``.

The dialects and the router decide; ``server`` carries it out on the socket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from harness.mock_llm.script import JsonValue

JSON_TYPE: Final = "application/json"
NOT_JSON_BODY: Final = b"<html><body>scripted fault: this body is not JSON</body></html>"


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
    status: int, payload: JsonValue, *, headers: tuple[tuple[str, str], ...] = ()
) -> Answer:
    return Answer(status, encode_json(payload), headers=headers)


def cut_in_half(answer: Answer) -> Answer:
    """The same answer, broken off half-way through its body or its chunks."""
    if answer.chunks is not None:
        return Answer(
            answer.status,
            content_type=answer.content_type,
            headers=answer.headers,
            chunks=answer.chunks,
            cut=len(answer.chunks) // 2,
        )
    return Answer(
        answer.status,
        answer.body,
        content_type=answer.content_type,
        headers=answer.headers,
        cut=len(answer.body) // 2,
    )


def broken_json(answer: Answer) -> Answer:
    """A complete answer whose JSON body stops inside (framing intact)."""
    return Answer(
        answer.status,
        answer.body[: max(1, len(answer.body) // 2)],
        content_type=answer.content_type,
        headers=answer.headers,
    )


def pieces(text: str, size: int) -> list[str]:
    """``text`` in pieces of at most ``size`` characters (a stream's deltas)."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def estimate_tokens(text: str) -> int:
    """A token count for ``usage``: about four characters a token, at least one
    for any text. Deterministic, so recorded usage compares across runs."""
    return -(-len(text) // 4)
