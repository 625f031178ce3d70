"""What the scripted model was asked (``Call``) and what it decided (``Turn``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from harness.mock_llm.script import JsonValue, Reply


class Dialect(StrEnum):
    """The provider API a call came in through."""

    OPENAI = "openai"  # POST /v1/chat/completions
    OLLAMA = "ollama"  # POST /api/chat


@dataclass(frozen=True)
class Call:
    """One chat call as recorded: ``body`` in the OpenAI upstream shape of
    docs/decisions.md §4 whatever the dialect (see the dialect modules), so that
    the calls of runtimes speaking different dialects compare."""

    body: dict[str, JsonValue]
    dialect: Dialect = Dialect.OPENAI
    stream: bool = False

    @property
    def model(self) -> str:
        model = self.body.get("model")
        return model if isinstance(model, str) else "parity-mock"


@dataclass(frozen=True)
class Turn:
    """The model's decision for one call: the reply to give, or a refusal."""

    listener: str
    case_id: str | None
    index: int  # 0-based call number for (listener, case id); -1 on refusal
    reply: Reply | None = None
    refusal: tuple[int, str] | None = None  # (HTTP status, message)
