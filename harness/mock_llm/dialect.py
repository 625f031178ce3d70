"""What a provider dialect provides the router (``dialect_openai``, ``dialect_ollama``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from harness.http_server import Answer
from harness.mock_llm.calls import Call, Dialect, Turn
from harness.mock_llm.script import JsonValue, Reply, content_text


@dataclass(frozen=True)
class ChatRequest:
    """A chat call as received: what is recorded, and how to answer it."""

    call: Call
    include_usage: bool = False  # OpenAI's stream_options.include_usage


class ChatApi(Protocol):
    @property
    def dialect(self) -> Dialect: ...

    @property
    def chat_path(self) -> str: ...

    def parse(self, body: dict[str, JsonValue]) -> ChatRequest: ...

    def reply(self, turn: Turn, reply: Reply, request: ChatRequest, *, malformed: bool) -> Answer:
        """The answer to a call that is answered (``NO_CONTENT`` included);
        ``malformed`` puts one chunk that is not JSON into a stream."""
        ...

    def error(
        self, status: int, message: str, *, headers: tuple[tuple[str, str], ...] = ()
    ) -> Answer: ...


def prompt_text(body: dict[str, JsonValue]) -> str:
    """Every message's text, for the prompt's token estimate."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    return "\n".join(
        content_text(message.get("content")) for message in messages if isinstance(message, dict)
    )
