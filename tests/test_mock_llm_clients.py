"""The scripted model through the official clients as published: ``openai`` and ``ollama``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import ollama
import openai
import pytest

from harness.mock_llm import Dialect, Fault, Reply, ScriptedModel, ScriptedModelServer, case_marker

TEXT = "A playbook, streamed in pieces: héllo ✓ and more than sixteen characters."


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(ScriptedModel(max_hang_s=5)) as srv:
        srv.add_listener("svc")
        yield srv


def messages(case_id: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "be terse"},
        {"role": "user", "content": f"Write a playbook. {case_marker(case_id)}"},
    ]


def openai_client(server: ScriptedModelServer, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url("svc") + "/v1", api_key="unused", max_retries=retries)


# -- openai ----------------------------------------------------------------------------


def test_openai_plain_completion_has_usage(server: ScriptedModelServer) -> None:
    server.model.register("plain", [Reply(TEXT)])
    with openai_client(server) as client:
        answer = client.chat.completions.create(
            model="kimi-k2.6", messages=messages("plain"), temperature=0.2, max_tokens=64
        )
    assert answer.choices[0].message.content == TEXT
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == "kimi-k2.6"
    assert answer.usage is not None
    assert answer.usage.completion_tokens == len(TEXT) // 4 + 1
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens
    [call] = server.model.call_log("plain", "svc")
    assert call.body == {
        "model": "kimi-k2.6",
        "messages": messages("plain"),
        "temperature": 0.2,
        "max_tokens": 64,
    }
    assert (call.dialect, call.stream) == (Dialect.OPENAI, False)


def test_openai_stream_with_usage(server: ScriptedModelServer) -> None:
    server.model.register("stream", [Reply(TEXT)])
    with openai_client(server) as client:
        chunks = list(
            client.chat.completions.create(
                model="m",
                messages=messages("stream"),
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == TEXT
    assert len(chunks) > 3  # the text came in several deltas
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert set(finishes[:-1]) == {None}
    # The usage chunk is last, without choices; every other chunk has usage null.
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(TEXT) // 4 + 1
    assert all(c.usage is None for c in chunks[:-1])
    [call] = server.model.call_log("stream", "svc")
    assert call.stream is True
    assert "stream" not in call.body and "stream_options" not in call.body


def test_openai_stream_without_usage(server: ScriptedModelServer) -> None:
    server.model.register("s", [Reply("short")])
    with openai_client(server) as client:
        stream = client.chat.completions.create(model="m", messages=messages("s"), stream=True)
        chunks = list(stream)
    assert [c.choices[0].delta.content for c in chunks] == ["", "short", None]
    assert all(c.usage is None for c in chunks)


def test_openai_models(server: ScriptedModelServer) -> None:
    server.model.register("m", [Reply("x")])
    with openai_client(server) as client:
        assert [m.id for m in client.models.list()] == ["parity-mock"]
        client.chat.completions.create(model="kimi-k2.6", messages=messages("m"))
        # A model asked for is listed from then on (a client may check first).
        assert [m.id for m in client.models.list()] == ["parity-mock", "kimi-k2.6"]
        assert client.models.retrieve("kimi-k2.6").owned_by == "parity-harness"
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("nope")


def test_openai_429_is_a_rate_limit_error_with_retry_after(server: ScriptedModelServer) -> None:
    server.model.register("rl", [Reply(fault=Fault.HTTP_429, retry_after_s=7)])
    with openai_client(server) as client, pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="m", messages=messages("rl"))
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.code == "rate_limit_exceeded"


def test_openai_retries_after_the_retry_after_it_was_given(server: ScriptedModelServer) -> None:
    server.model.register("rl", [Reply(fault=Fault.HTTP_429, retry_after_s=1), Reply("ok")])
    started = time.monotonic()
    with openai_client(server, retries=1) as client:
        answer = client.chat.completions.create(model="m", messages=messages("rl"))
    assert answer.choices[0].message.content == "ok"
    assert time.monotonic() - started >= 1.0  # the client waited as told
    assert server.model.call_count("rl", "svc") == 2


def test_openai_500_is_an_internal_server_error(server: ScriptedModelServer) -> None:
    server.model.register("e", [Reply(fault=Fault.HTTP_500)])
    with openai_client(server) as client, pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="m", messages=messages("e"))
    assert caught.value.type == "server_error"
    assert "scripted fault" in caught.value.message


def test_openai_unknown_case_is_not_found(server: ScriptedModelServer) -> None:
    with openai_client(server) as client, pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="m", messages=messages("nobody"))
    assert "nobody" in caught.value.message


def test_openai_stream_faults_surface_as_errors(server: ScriptedModelServer) -> None:
    server.model.register(
        "f",
        [Reply(TEXT, fault=Fault.CUT_STREAM), Reply(TEXT, fault=Fault.MALFORMED_CHUNK)],
    )
    with openai_client(server) as client:
        with pytest.raises(openai.APIConnectionError):
            list(client.chat.completions.create(model="m", messages=messages("f"), stream=True))
        with pytest.raises(ValueError, match="Expecting value"):
            list(client.chat.completions.create(model="m", messages=messages("f"), stream=True))


# -- ollama ----------------------------------------------------------------------------

OPTIONS: dict[str, Any] = {"temperature": 0.2, "num_predict": 64}


def test_ollama_chat_unstreamed(server: ScriptedModelServer) -> None:
    server.model.register("o", [Reply(TEXT)])
    client = ollama.Client(host=server.url("svc"))
    answer = client.chat(model="kimi-k2.6", messages=messages("o"), stream=False, options=OPTIONS)
    assert answer.message.content == TEXT
    assert answer.message.role == "assistant"
    assert answer.done is True
    assert answer.done_reason == "stop"
    assert answer.eval_count == len(TEXT) // 4 + 1
    [call] = server.model.call_log("o", "svc")
    assert (call.dialect, call.stream) == (Dialect.OLLAMA, False)


def test_ollama_chat_streamed_by_default(server: ScriptedModelServer) -> None:
    server.model.register("o", [Reply(TEXT)])
    client = ollama.Client(host=server.url("svc"))
    parts = list(client.chat(model="m", messages=messages("o"), stream=True))
    assert "".join(p.message.content or "" for p in parts) == TEXT
    assert len(parts) > 3
    assert [p.done for p in parts] == [False] * (len(parts) - 1) + [True]
    assert parts[-1].done_reason == "stop"
    # The ollama client always says stream; a raw body without it streams too.
    server.model.register("raw", [Reply("raw")])
    body = {"model": "m", "messages": messages("raw")}
    response = httpx.post(server.url("svc") + "/api/chat", json=body, timeout=5)
    assert response.headers["content-type"] == "application/x-ndjson"
    assert [line for line in response.text.splitlines() if line][-1].startswith('{"model": "m"')
    assert server.model.call_log("raw", "svc")[0].stream is True


def test_ollama_and_openai_calls_are_recorded_alike(server: ScriptedModelServer) -> None:
    """options.temperature / num_predict are recorded as temperature / max_tokens."""
    server.model.register("same", [Reply("a"), Reply("b")])
    ollama.Client(host=server.url("svc")).chat(
        model="kimi-k2.6", messages=messages("same"), stream=False, options=OPTIONS
    )
    with openai_client(server) as client:
        client.chat.completions.create(
            model="kimi-k2.6", messages=messages("same"), temperature=0.2, max_tokens=64
        )
    ours, theirs = server.model.calls("same", "svc")
    assert ours == theirs


def test_ollama_keeps_other_options() -> None:
    from harness.mock_llm.dialect_ollama import upstream_shape

    body = {"model": "m", "messages": [], "stream": True, "options": {"num_ctx": 8, "seed": 1}}
    assert upstream_shape(body) == {
        "model": "m",
        "messages": [],
        "options": {"num_ctx": 8, "seed": 1},
    }
    assert upstream_shape({"model": "m", "options": {"num_predict": 5}}) == {
        "model": "m",
        "max_tokens": 5,
    }


def test_ollama_tags_and_version(server: ScriptedModelServer) -> None:
    server.model.register("t", [Reply("x")])
    client = ollama.Client(host=server.url("svc"))
    client.chat(model="kimi-k2.6", messages=messages("t"), stream=False)
    assert [m.model for m in client.list().models] == ["parity-mock", "kimi-k2.6"]
    version = httpx.get(server.url("svc") + "/api/version", timeout=5).json()
    assert version == {"version": "0.12.0"}
    assert httpx.get(server.url("svc") + "/", timeout=5).text == "Ollama is running"


@pytest.mark.parametrize(("fault", "status"), [(Fault.HTTP_500, 500), (Fault.HTTP_429, 429)])
def test_ollama_errors_are_response_errors(
    server: ScriptedModelServer, fault: Fault, status: int
) -> None:
    server.model.register("e", [Reply(fault=fault)])
    client = ollama.Client(host=server.url("svc"))
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model="m", messages=messages("e"), stream=False)
    assert caught.value.status_code == status
    assert "scripted fault" in caught.value.error


def test_ollama_stream_faults_surface_as_errors(server: ScriptedModelServer) -> None:
    server.model.register(
        "f", [Reply(TEXT, fault=Fault.CUT_STREAM), Reply(TEXT, fault=Fault.MALFORMED_CHUNK)]
    )
    client = ollama.Client(host=server.url("svc"))
    with pytest.raises(httpx.RemoteProtocolError):
        list(client.chat(model="m", messages=messages("f"), stream=True))
    with pytest.raises(ValueError, match="Expecting value"):
        list(client.chat(model="m", messages=messages("f"), stream=True))
