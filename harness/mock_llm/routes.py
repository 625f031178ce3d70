"""Which request gets which answer: paths, methods, the turn, the faults.

A chat call in either dialect asks the model for its turn (or, recording, the
recorder's upstream), then carries out the reply: its delay, then its fault
(``script.Fault``) or its text, in the dialect it was asked in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from harness.http_server import (
    Action,
    Answer,
    BadBody,
    Drop,
    Hang,
    Request,
    json_answer,
    parse_json,
)
from harness.mock_llm import dialect_ollama, dialect_openai
from harness.mock_llm.answers import NOT_JSON_BODY, broken_json, cut_in_half
from harness.mock_llm.calls import Turn
from harness.mock_llm.dialect import ChatApi, ChatRequest
from harness.mock_llm.script import Fault, JsonValue

if TYPE_CHECKING:
    from harness.mock_llm.model import ScriptedModel

OPENAI: Final[ChatApi] = dialect_openai.OpenAiApi()
OLLAMA: Final[ChatApi] = dialect_ollama.OllamaApi()
_MODEL_PREFIX: Final = dialect_openai.MODELS_PATH + "/"


@dataclass(frozen=True)
class _Route:
    methods: tuple[str, ...]
    answer: Callable[[Router, Request], Awaitable[Action]]


class Router:
    """The ``server.Handler`` of one listener of a ``ScriptedModel``."""

    def __init__(self, model: ScriptedModel, listener: str) -> None:
        self.model = model
        self.listener = listener

    async def handle(self, request: Request) -> Action:
        route = ROUTES.get(request.path)
        if route is None and request.path.startswith(_MODEL_PREFIX):
            route = _ONE_MODEL
        if route is None:
            return self.refuse(404, f"no route for {request.path}", request.path)
        if request.method not in route.methods:
            allow = (("Allow", ", ".join(route.methods)),)
            return _api(request.path).error(405, f"use {route.methods[0]}", headers=allow)
        return await route.answer(self, request)

    def refuse(self, status: int, message: str, path: str) -> Answer:
        return _api(path).error(status, message)

    # -- chat ------------------------------------------------------------------

    async def _openai_chat(self, request: Request) -> Action:
        return await self._chat(OPENAI, request)

    async def _ollama_chat(self, request: Request) -> Action:
        return await self._chat(OLLAMA, request)

    async def _chat(self, api: ChatApi, request: Request) -> Action:
        try:
            body = parse_json(request.body)
        except BadBody as exc:
            return api.error(exc.status, f"request body is {exc}")
        if not isinstance(body, dict):
            return api.error(400, "request body is not an object")
        chat = api.parse(body)
        turn = await self._turn(api, body, chat)
        if isinstance(turn, Answer):
            return turn
        if turn.refusal is not None or turn.reply is None:
            status, message = turn.refusal or (500, "no reply")
            return api.error(status, message)
        return await self._carry_out(api, turn, chat)

    async def _turn(
        self, api: ChatApi, body: dict[str, JsonValue], chat: ChatRequest
    ) -> Turn | Answer:
        recorder = self.model.recorder
        call = chat.call
        if recorder is None:
            return self.model.next_turn(
                self.listener, call.body, dialect=call.dialect, stream=call.stream
            )
        reply = await recorder.forward(api, body)
        if isinstance(reply, Answer):
            return reply
        return self.model.recorded_turn(self.listener, call, reply)

    async def _carry_out(self, api: ChatApi, turn: Turn, chat: ChatRequest) -> Action:
        reply = turn.reply
        assert reply is not None
        if reply.delay_s > 0:
            await asyncio.sleep(reply.delay_s)
        match reply.fault:
            case Fault.HANG:
                return Hang(self.model.max_hang_s)
            case Fault.DROP:
                return Drop()
            case Fault.HTTP_500:
                return api.error(500, "scripted fault: HTTP 500")
            case Fault.HTTP_429:
                retry = (("Retry-After", str(reply.retry_after_s)),)
                return api.error(429, "scripted fault: rate limited", headers=retry)
            case Fault.NOT_JSON:
                return Answer(200, NOT_JSON_BODY)
            case Fault.CUT_STREAM:
                return cut_in_half(api.reply(turn, reply, chat, malformed=False))
            case Fault.MALFORMED_CHUNK if not chat.call.stream:
                return broken_json(api.reply(turn, reply, chat, malformed=False))
            case _:
                malformed = reply.fault is Fault.MALFORMED_CHUNK
                return api.reply(turn, reply, chat, malformed=malformed)

    # -- the rest --------------------------------------------------------------

    async def _health(self, request: Request) -> Action:
        return json_answer(200, {"status": "ok"})

    async def _models(self, request: Request) -> Action:
        return dialect_openai.models(self.model.models)

    async def _one_model(self, request: Request) -> Action:
        name = request.path.removeprefix(_MODEL_PREFIX)
        return dialect_openai.model(name, self.model.models)

    async def _tags(self, request: Request) -> Action:
        return dialect_ollama.tags(self.model.models)

    async def _version(self, request: Request) -> Action:
        return dialect_ollama.version()

    async def _root(self, request: Request) -> Action:
        return dialect_ollama.running()


def _api(path: str) -> ChatApi:
    """The dialect whose error shape a path gets (Ollama's under /api/)."""
    return OLLAMA if path.startswith("/api/") else OPENAI


_ONE_MODEL: Final = _Route(("GET",), Router._one_model)  # GET /v1/models/{name}
ROUTES: Final[dict[str, _Route]] = {
    "/health": _Route(("GET", "HEAD"), Router._health),
    dialect_openai.CHAT_PATH: _Route(("POST",), Router._openai_chat),
    dialect_openai.MODELS_PATH: _Route(("GET",), Router._models),
    dialect_ollama.CHAT_PATH: _Route(("POST",), Router._ollama_chat),
    dialect_ollama.TAGS_PATH: _Route(("GET",), Router._tags),
    dialect_ollama.VERSION_PATH: _Route(("GET",), Router._version),
    "/": _Route(("GET", "HEAD"), Router._root),
}
