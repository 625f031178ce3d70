"""Every fault the scripted model injects, in both dialects, streamed and not, over real sockets."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from harness.mock_llm import Fault, Reply, ScriptedModel, ScriptedModelServer, case_marker
from reference_impl.iterate import HopError

F = TypeVar("F", bound=Callable[..., None])
PATHS = {"openai": "/v1/chat/completions", "ollama": "/api/chat"}
TEXT = "thirty-two characters of text.."
WAYS = [
    pytest.param(dialect, stream, id=f"{dialect}-{'stream' if stream else 'plain'}")
    for dialect in PATHS
    for stream in (False, True)
]
COVERED: set[Fault] = set()


def covers(fault: Fault) -> Callable[[F], F]:
    """Marks the test of a fault (at import: ``test_every_fault_has_a_test_above``)."""
    COVERED.add(fault)
    return lambda test: test


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(ScriptedModel(max_hang_s=30)) as srv:
        srv.add_listener("svc")
        yield srv


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5, trust_env=False) as c:
        yield c


def body(case_id: str, stream: bool) -> dict[str, Any]:
    return {
        "model": "m",
        "messages": [{"role": "user", "content": f"go {case_marker(case_id)}"}],
        "stream": stream,
    }


def url(server: ScriptedModelServer, dialect: str) -> str:
    return server.url("svc") + PATHS[dialect]


def said(dialect: str, stream: bool, raw: bytes) -> str | None:
    """The text an answer carries (None: no content at all)."""
    if not stream:
        answer = json.loads(raw)
        message = answer["choices"][0]["message"] if dialect == "openai" else answer["message"]
        return message.get("content")
    parts = [p for p in pieces(dialect, raw) if isinstance(p, dict)]
    if dialect == "openai":
        deltas = [p["choices"][0]["delta"] for p in parts if p.get("choices")]
    else:
        deltas = [p["message"] for p in parts]
    texts = [d["content"] for d in deltas if d.get("content")]
    return "".join(texts) if texts else None


def pieces(dialect: str, raw: bytes) -> list[Any]:
    """A stream's events (SSE ``data:``) or lines (NDJSON), each parsed or, when
    it is not JSON, kept as text; ``[DONE]`` is kept as the string."""
    text = raw.decode()
    if dialect == "openai":
        assert text.endswith("\n\n") or not text
        items = [e.removeprefix("data: ") for e in text.split("\n\n") if e]
    else:
        items = [line for line in text.split("\n") if line]
    out: list[Any] = []
    for item in items:
        try:
            out.append(json.loads(item) if item != "[DONE]" else item)
        except ValueError:
            out.append(item)
    return out


def ok_after(server: ScriptedModelServer, client: httpx.Client, dialect: str, stream: bool) -> None:
    """The next call, on the same client, is answered normally."""
    response = client.post(url(server, dialect), json=body("f", stream))
    assert response.status_code == 200
    assert said(dialect, stream, response.content) == "after"


def error_message(dialect: str, response: httpx.Response) -> str:
    payload = response.json()
    if dialect == "openai":
        assert set(payload["error"]) == {"message", "type", "param", "code"}
        return str(payload["error"]["message"])
    assert set(payload) == {"error"}
    return str(payload["error"])


@covers(Fault.HTTP_500)
@pytest.mark.parametrize(("dialect", "stream"), WAYS)
def test_http_500(
    server: ScriptedModelServer, client: httpx.Client, dialect: str, stream: bool
) -> None:
    server.model.register("f", [Reply(fault=Fault.HTTP_500), Reply("after")])
    response = client.post(url(server, dialect), json=body("f", stream))
    assert response.status_code == 500
    assert error_message(dialect, response) == "scripted fault: HTTP 500"
    if dialect == "openai":
        assert response.json()["error"]["type"] == "server_error"
    ok_after(server, client, dialect, stream)


@covers(Fault.HTTP_429)
@pytest.mark.parametrize(("dialect", "stream"), WAYS)
def test_http_429_with_retry_after(
    server: ScriptedModelServer, client: httpx.Client, dialect: str, stream: bool
) -> None:
    fault = Fault.HTTP_429
    server.model.register("f", [Reply(fault=fault, retry_after_s=3), Reply("after")])
    response = client.post(url(server, dialect), json=body("f", stream))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert "rate limited" in error_message(dialect, response)
    ok_after(server, client, dialect, stream)


@covers(Fault.HANG)
@pytest.mark.parametrize(("dialect", "stream"), WAYS)
def test_hang_until_the_client_leaves(
    server: ScriptedModelServer, dialect: str, stream: bool
) -> None:
    server.model.register("f", [Reply(fault=Fault.HANG), Reply("after")])
    with httpx.Client(timeout=0.3) as short, pytest.raises(httpx.ReadTimeout):
        short.post(url(server, dialect), json=body("f", stream))
    deadline = time.monotonic() + 5
    while server.model.open_connections and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.model.open_connections == 0
    with httpx.Client(timeout=5) as client:
        ok_after(server, client, dialect, stream)


@covers(Fault.DROP)
@pytest.mark.parametrize(("dialect", "stream"), WAYS)
def test_drop(
    server: ScriptedModelServer, client: httpx.Client, dialect: str, stream: bool
) -> None:
    server.model.register("f", [Reply(fault=Fault.DROP), Reply("after")])
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        client.post(url(server, dialect), json=body("f", stream))
    ok_after(server, client, dialect, stream)


@covers(Fault.NOT_JSON)
@pytest.mark.parametrize(("dialect", "stream"), WAYS)
def test_not_json(
    server: ScriptedModelServer, client: httpx.Client, dialect: str, stream: bool
) -> None:
    server.model.register("f", [Reply("x", fault=Fault.NOT_JSON), Reply("after")])
    response = client.post(url(server, dialect), json=body("f", stream))
    assert response.status_code == 200
    assert response.text.startswith("<html>")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    ok_after(server, client, dialect, stream)


@covers(Fault.SLOW)
@pytest.mark.parametrize(("dialect", "stream"), WAYS)
def test_slow(
    server: ScriptedModelServer, client: httpx.Client, dialect: str, stream: bool
) -> None:
    fault = Fault.SLOW
    server.model.register("f", [Reply(TEXT, fault=fault, delay_s=0.3), Reply("after")])
    started = time.monotonic()
    response = client.post(url(server, dialect), json=body("f", stream))
    assert time.monotonic() - started >= 0.3
    assert said(dialect, stream, response.content) == TEXT
    ok_after(server, client, dialect, stream)


@covers(Fault.NO_CONTENT)
@pytest.mark.parametrize(("dialect", "stream"), WAYS)
def test_no_content(
    server: ScriptedModelServer, client: httpx.Client, dialect: str, stream: bool
) -> None:
    server.model.register("f", [Reply(TEXT, fault=Fault.NO_CONTENT), Reply("after")])
    response = client.post(url(server, dialect), json=body("f", stream))
    assert response.status_code == 200
    assert said(dialect, stream, response.content) is None
    if not stream:
        answer = response.json()
        message = answer["choices"][0]["message"] if dialect == "openai" else answer["message"]
        assert message == {"role": "assistant"}
    ok_after(server, client, dialect, stream)


@covers(Fault.CUT_STREAM)
@pytest.mark.parametrize(("dialect", "stream"), WAYS)
def test_cut_stream(
    server: ScriptedModelServer, client: httpx.Client, dialect: str, stream: bool
) -> None:
    long_text = TEXT * 4
    server.model.register("f", [Reply(long_text, fault=Fault.CUT_STREAM), Reply("after")])
    received: list[bytes] = []
    with (
        pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|without sending complete"),
        client.stream("POST", url(server, dialect), json=body("f", stream)) as response,
    ):
        assert response.status_code == 200
        received.extend(response.iter_raw())
    got = b"".join(received)
    if stream:
        parts = pieces(dialect, got)
        assert parts, "the first half of the stream arrives"
        assert all(isinstance(p, dict) for p in parts)
        text = said(dialect, stream, got) or ""
        assert 0 < len(text) < len(long_text) and long_text.startswith(text)
    else:
        assert got.startswith(b"{")
        with pytest.raises(json.JSONDecodeError):
            json.loads(got)
    ok_after(server, client, dialect, stream)


@covers(Fault.MALFORMED_CHUNK)
@pytest.mark.parametrize(("dialect", "stream"), WAYS)
def test_malformed_chunk(
    server: ScriptedModelServer, client: httpx.Client, dialect: str, stream: bool
) -> None:
    fault = Fault.MALFORMED_CHUNK
    server.model.register("f", [Reply(TEXT, fault=fault), Reply("after")])
    response = client.post(url(server, dialect), json=body("f", stream))
    assert response.status_code == 200
    if stream:
        parts = pieces(dialect, response.content)
        broken = [p for p in parts if isinstance(p, str) and p != "[DONE]"]
        assert len(broken) == 1
        # The rest of the stream follows, to its end.
        assert said(dialect, stream, response.content) == TEXT
        assert parts[-1] == "[DONE]" if dialect == "openai" else parts[-1]["done"] is True
    else:
        assert response.text.startswith("{")
        with pytest.raises(json.JSONDecodeError):
            response.json()
    ok_after(server, client, dialect, stream)


def test_every_fault_has_a_test_above() -> None:
    assert set(Fault) == COVERED


def test_the_reference_sees_each_new_fault_as_a_failed_hop(server: ScriptedModelServer) -> None:
    new = [Fault.HTTP_429, Fault.CUT_STREAM, Fault.MALFORMED_CHUNK]
    server.model.register("r", [Reply("x", fault=fault) for fault in new])
    generate = server.model.generator("reference", timeout_s=2)
    for _ in new:
        with pytest.raises(HopError):
            generate(body("r", False))


def test_reply_script_entries_round_trip() -> None:
    for reply in [
        Reply("t"),
        Reply(None),
        Reply(fault=Fault.HTTP_429, retry_after_s=9),
        Reply("x", fault=Fault.SLOW, delay_s=0.5),
        Reply("y", fault=Fault.CUT_STREAM),
    ]:
        assert Reply.from_json(reply.to_json()) == reply
    for bad in [{"fault": "http_429", "retry_after_s": "1"}, {"retry_after_s": True}]:
        with pytest.raises(ValueError):
            Reply.from_json(bad)
    with pytest.raises(ValueError):
        Reply(retry_after_s=-1)
