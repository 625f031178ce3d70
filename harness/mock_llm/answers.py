"""The scripted model's own answers: faults made of a good answer (cut off,
broken inside, not JSON), stream pieces and token estimates.

What any handler may ask of the server (``Answer``, ``Hang``, ``Drop``) is in
``harness.http_server.answers``.
"""

from __future__ import annotations

from typing import Final

from harness.http_server import Answer

NOT_JSON_BODY: Final = b"<html><body>scripted fault: this body is not JSON</body></html>"


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
