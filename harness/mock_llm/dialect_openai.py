"""The OpenAI-compatible dialect: ``POST /v1/chat/completions`` (plain, or
server-sent events with ``stream: true``), ``GET /v1/models``, error bodies.

A recorded call is the request body without ``stream`` and ``stream_options``:
how the answer travels is not what the runtime asked the model (the call keeps
``stream`` on its own, ``calls.Call.stream``).
"""

from __future__ import annotations

import json
import time
from typing import Final

from harness.http_server import Answer, encode_json, json_answer
from harness.mock_llm.answers import estimate_tokens, pieces
from harness.mock_llm.calls import Call, Dialect, Turn
from harness.mock_llm.dialect import ChatRequest, prompt_text
from harness.mock_llm.script import Fault, JsonValue, Reply

CHAT_PATH: Final = "/v1/chat/completions"
MODELS_PATH: Final = "/v1/models"
SSE_TYPE: Final = "text/event-stream"
STREAM_PIECE_CHARS: Final = 16
OWNER: Final = "parity-harness"
_TRANSPORT_KEYS: Final = ("stream", "stream_options")
# A chunk broken off inside its JSON (the ``MALFORMED_CHUNK`` fault).
MALFORMED_EVENT: Final = b'data: {"object": "chat.completion.chunk", "choices": [{"delta": \n\n'
DONE_EVENT: Final = b"data: [DONE]\n\n"


class OpenAiApi:
    dialect: Final = Dialect.OPENAI
    chat_path: Final = CHAT_PATH

    def parse(self, body: dict[str, JsonValue]) -> ChatRequest:
        recorded = {k: v for k, v in body.items() if k not in _TRANSPORT_KEYS}
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        call = Call(recorded, Dialect.OPENAI, stream=body.get("stream") is True)
        return ChatRequest(call, include_usage=include_usage)

    def reply(self, turn: Turn, reply: Reply, request: ChatRequest, *, malformed: bool) -> Answer:
        if request.call.stream:
            return Answer(
                200, content_type=SSE_TYPE, chunks=_events(turn, reply, request, malformed)
            )
        return json_answer(200, completion(turn, reply, request.call.model, request.call.body))

    def error(
        self, status: int, message: str, *, headers: tuple[tuple[str, str], ...] = ()
    ) -> Answer:
        return json_answer(status, error_body(status, message), headers=headers)


def error_body(status: int, message: str) -> dict[str, JsonValue]:
    """OpenAI's error object: ``{"error": {message, type, param, code}}``."""
    if status == 429:
        kind, code = "requests", "rate_limit_exceeded"
    elif status >= 500:
        kind, code = "server_error", None
    else:
        kind, code = "invalid_request_error", "not_found" if status == 404 else None
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def completion(
    turn: Turn, reply: Reply, model: str, body: dict[str, JsonValue] | None = None
) -> dict[str, JsonValue]:
    """The ``chat.completion`` body for a reply that answers normally."""
    message: dict[str, JsonValue] = {"role": "assistant"}
    if reply.fault is not Fault.NO_CONTENT:
        message["content"] = reply.text
    return {
        "id": completion_id(turn),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": usage(body or {}, _said(reply)),
    }


def completion_id(turn: Turn) -> str:
    return f"chatcmpl-{turn.listener}-{turn.case_id or 'none'}-{turn.index}"


def usage(body: dict[str, JsonValue], text: str) -> dict[str, int]:
    prompt, answer = estimate_tokens(prompt_text(body)), estimate_tokens(text)
    return {"prompt_tokens": prompt, "completion_tokens": answer, "total_tokens": prompt + answer}


def _said(reply: Reply) -> str:
    return "" if reply.fault is Fault.NO_CONTENT or reply.text is None else reply.text


def _events(turn: Turn, reply: Reply, request: ChatRequest, malformed: bool) -> tuple[bytes, ...]:
    """Role delta, content deltas, the finish chunk, usage when asked, ``[DONE]``."""
    head: dict[str, JsonValue] = {
        "id": completion_id(turn),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": request.call.model,
    }
    if request.include_usage:
        head["usage"] = None  # as OpenAI: null on every chunk but the last

    def chunk(delta: dict[str, JsonValue], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _event({**head, "choices": [choice]})

    text = _said(reply)
    events = [chunk({"role": "assistant", "content": ""})]
    if malformed:
        events.append(MALFORMED_EVENT)
    events += [chunk({"content": piece}) for piece in pieces(text, STREAM_PIECE_CHARS)]
    events.append(chunk({}, "stop"))
    if request.include_usage:
        events.append(_event({**head, "choices": [], "usage": usage(request.call.body, text)}))
    events.append(DONE_EVENT)
    return tuple(events)


def _event(payload: JsonValue) -> bytes:
    return b"data: " + encode_json(payload) + b"\n\n"


def models(names: list[str]) -> Answer:
    """``GET /v1/models``."""
    return json_answer(200, {"object": "list", "data": [_model(name) for name in names]})


def model(name: str, known: list[str]) -> Answer:
    """``GET /v1/models/{name}``."""
    if name not in known:
        return json_answer(404, error_body(404, f"The model {json.dumps(name)} does not exist"))
    return json_answer(200, _model(name))


def _model(name: str) -> dict[str, JsonValue]:
    return {"id": name, "object": "model", "created": 0, "owned_by": OWNER}
