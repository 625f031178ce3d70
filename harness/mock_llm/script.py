"""What the scripted model answers: replies, the faults they inject, case markers.

Each generated session carries a case id inside its prompt (``case_marker``);
the n-th call for that id on a listener is answered with the n-th ``Reply``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from reference_impl.jsonmodel import JsonValue as JsonValue

CASE_MARKER_RE: Final = re.compile(r"\[parity-case:([A-Za-z0-9_-]{1,64})\]")
_CASE_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")

# Answered when no script is given to the standalone server: a playbook is the
# one artifact whose validation does not depend on the request's context.
SMOKE_ARTIFACT: Final[Mapping[str, JsonValue]] = {
    "title": "Smoke test playbook",
    "steps": ["Check /health", "Send one /v1/iterate", "Read the session log"],
}

DEFAULT_RETRY_AFTER_S: Final = 1


class Fault(StrEnum):
    """What a scripted call does instead of (or on the way to) answering."""

    HTTP_500 = "http_500"  # 500 with the dialect's JSON error body
    HTTP_429 = "http_429"  # 429 with ``Retry-After: retry_after_s`` and an error body
    HANG = "hang"  # never answers; holds the socket until the client leaves
    DROP = "drop"  # closes the socket without answering
    NOT_JSON = "not_json"  # 200 whose body is not JSON
    SLOW = "slow"  # a normal answer after ``delay_s``
    NO_CONTENT = "no_content"  # 200 whose message has no ``content`` field
    # The answer stops half-way and the connection closes: a stream without its
    # end, or a JSON body shorter than its Content-Length.
    CUT_STREAM = "cut_stream"
    # One piece is not JSON: a stream chunk (the rest of the stream follows),
    # or, unstreamed, a JSON body broken off inside.
    MALFORMED_CHUNK = "malformed_chunk"


_REPLY_KEYS: Final = frozenset({"text", "fault", "delay_s", "retry_after_s"})


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``delay_s`` is waited before any reply or fault.

    ``text=None`` without a fault answers ``"content": null``;
    ``retry_after_s`` is the ``Retry-After`` of an ``HTTP_429``.
    """

    text: str | None = None
    fault: Fault | None = None
    delay_s: float = 0
    retry_after_s: int = DEFAULT_RETRY_AFTER_S

    def __post_init__(self) -> None:
        if self.delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {self.delay_s}")
        if self.retry_after_s < 0:
            raise ValueError(f"retry_after_s must be >= 0, got {self.retry_after_s}")

    @classmethod
    def from_json(cls, value: JsonValue) -> Reply:
        """A script entry: a string (the text) or ``{text?, fault?, delay_s?, retry_after_s?}``."""
        if isinstance(value, str):
            return cls(text=value)
        if not isinstance(value, dict):
            raise ValueError(f"a reply is a string or an object, got {value!r}")
        unknown = set(value) - _REPLY_KEYS
        if unknown:
            raise ValueError(f"unknown reply keys: {sorted(unknown)}")
        text, fault, delay = value.get("text"), value.get("fault"), value.get("delay_s", 0)
        retry_after = value.get("retry_after_s", DEFAULT_RETRY_AFTER_S)
        if text is not None and not isinstance(text, str):
            raise ValueError(f"reply text must be a string or null, got {text!r}")
        if isinstance(delay, bool) or not isinstance(delay, int | float):
            raise ValueError(f"delay_s must be a number, got {delay!r}")
        if isinstance(retry_after, bool) or not isinstance(retry_after, int):
            raise ValueError(f"retry_after_s must be an integer, got {retry_after!r}")
        return cls(
            text=text,
            fault=None if fault is None else Fault(fault),
            delay_s=delay,
            retry_after_s=retry_after,
        )

    def to_json(self) -> JsonValue:
        """The script entry ``from_json`` reads back (a plain string when it can be)."""
        if self.fault is None and self.delay_s == 0 and self.text is not None:
            return self.text
        entry: dict[str, JsonValue] = {"text": self.text}
        if self.fault is not None:
            entry["fault"] = self.fault.value
        if self.delay_s:
            entry["delay_s"] = self.delay_s
        if self.fault is Fault.HTTP_429:
            entry["retry_after_s"] = self.retry_after_s
        return entry


def case_marker(case_id: str) -> str:
    """The marker to put in a prompt so the model knows which script to follow."""
    if not _CASE_ID_RE.fullmatch(case_id):
        raise ValueError(f"a case id is 1-64 characters of [A-Za-z0-9_-], got {case_id!r}")
    return f"[parity-case:{case_id}]"


def find_case_id(body: JsonValue) -> str | None:
    """The case id in the last user message of a chat body, if any."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            match = CASE_MARKER_RE.search(content_text(message.get("content")))
            return match.group(1) if match else None
    return None


def content_text(content: JsonValue) -> str:
    """A message's text: OpenAI also allows a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""
