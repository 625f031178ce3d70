"""Ollama's native dialect: ``POST /api/chat`` (NDJSON streamed unless
``"stream": false``), ``GET /api/tags``, ``GET /api/version``, ``GET /``.

A recorded call is put in the OpenAI upstream shape so that the calls of a
runtime speaking Ollama compare with those of one speaking OpenAI:
``options.temperature`` becomes ``temperature``, ``options.num_predict``
becomes ``max_tokens``; other options stay under ``options``, other fields as
they are but an empty ``tools`` list (the ``ollama`` client always sends one;
it means what its absence means); ``stream`` is how the answer travels
(``calls.Call.stream``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Final

from harness.http_server import Answer, encode_json, json_answer
from harness.mock_llm.answers import estimate_tokens, pieces
from harness.mock_llm.calls import Call, Dialect, Turn
from harness.mock_llm.dialect import ChatRequest, prompt_text
from harness.mock_llm.script import Fault, JsonValue, Reply

CHAT_PATH: Final = "/api/chat"
TAGS_PATH: Final = "/api/tags"
VERSION_PATH: Final = "/api/version"
NDJSON_TYPE: Final = "application/x-ndjson"
# The version /api/version claims: one whose /api/chat has everything served here.
VERSION: Final = "0.12.0"
STREAM_PIECE_CHARS: Final = 16
RUNNING: Final = b"Ollama is running"
# A line broken off inside its JSON (the ``MALFORMED_CHUNK`` fault).
MALFORMED_LINE: Final = b'{"model": "parity-mock", "message": {"role": \n'
_RENAMED_OPTIONS: Final = {"temperature": "temperature", "num_predict": "max_tokens"}


class OllamaApi:
    dialect: Final = Dialect.OLLAMA
    chat_path: Final = CHAT_PATH

    def parse(self, body: dict[str, JsonValue]) -> ChatRequest:
        return ChatRequest(
            Call(upstream_shape(body), Dialect.OLLAMA, body.get("stream") is not False)
        )

    def reply(self, turn: Turn, reply: Reply, request: ChatRequest, *, malformed: bool) -> Answer:
        call = request.call
        text = None if reply.fault is Fault.NO_CONTENT else reply.text
        if not call.stream:
            final = {**_head(call), **_done(call, reply, text, whole=True)}
            return json_answer(200, final)
        lines = [
            _line(
                {**_head(call), "message": {"role": "assistant", "content": piece}, "done": False}
            )
            for piece in pieces(text or "", STREAM_PIECE_CHARS)
        ]
        if malformed:
            lines.insert(min(1, len(lines)), MALFORMED_LINE)
        lines.append(_line({**_head(call), **_done(call, reply, text, whole=False)}))
        return Answer(200, content_type=NDJSON_TYPE, chunks=tuple(lines))

    def error(
        self, status: int, message: str, *, headers: tuple[tuple[str, str], ...] = ()
    ) -> Answer:
        return json_answer(status, {"error": message}, headers=headers)


def upstream_shape(body: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """An ``/api/chat`` body as the OpenAI upstream body of docs/decisions.md §4."""
    shaped = {key: value for key, value in body.items() if key not in ("stream", "options")}
    if shaped.get("tools") == []:
        del shaped["tools"]  # the ollama client always sends it: no tools, as when absent
    options = body.get("options")
    if not isinstance(options, dict):
        if options is not None:
            shaped["options"] = options
        return shaped
    rest = dict(options)
    for ours, theirs in _RENAMED_OPTIONS.items():
        if ours in rest:
            shaped[theirs] = rest.pop(ours)
    if rest:
        shaped["options"] = rest
    return shaped


def _head(call: Call) -> dict[str, JsonValue]:
    return {"model": call.model, "created_at": _now()}


def _done(call: Call, reply: Reply, text: str | None, *, whole: bool) -> dict[str, JsonValue]:
    """The last object: the whole message (unstreamed) or an empty one, and the counts."""
    message: dict[str, JsonValue] = {"role": "assistant"}
    if reply.fault is not Fault.NO_CONTENT:
        message["content"] = text if whole else ""
    return {
        "message": message,
        "done": True,
        "done_reason": "stop",
        "total_duration": 0,
        "load_duration": 0,
        "prompt_eval_count": estimate_tokens(prompt_text(call.body)),
        "prompt_eval_duration": 0,
        "eval_count": estimate_tokens(text or ""),
        "eval_duration": 0,
    }


def _line(payload: JsonValue) -> bytes:
    return encode_json(payload) + b"\n"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def tags(names: list[str]) -> Answer:
    """``GET /api/tags``: the models, as Ollama lists local models."""
    return json_answer(200, {"models": [_tag(name) for name in names]})


def _tag(name: str) -> dict[str, JsonValue]:
    return {
        "name": name,
        "model": name,
        "modified_at": "2025-01-01T00:00:00Z",
        "size": 0,
        "digest": hashlib.sha256(name.encode("utf-8")).hexdigest(),
        "details": {
            "format": "scripted",
            "family": "parity",
            "families": ["parity"],
            "parameter_size": "0",
            "quantization_level": "none",
        },
    }


def version() -> Answer:
    return json_answer(200, {"version": VERSION})


def running() -> Answer:
    return Answer(200, RUNNING, content_type="text/plain; charset=utf-8")
