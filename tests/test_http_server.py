"""The harness's HTTP foundation over real sockets: hostile requests get an
answer (400, 408, 413, 431, 500), never a reset, a hang or a traceback."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.background import Background
from harness.http_server import (
    Action,
    Answer,
    BadBody,
    HttpListeners,
    Limits,
    Request,
    decode_content,
    json_answer,
    parse_json,
)
from harness.mock_llm import ScriptedModel, ScriptedModelServer

REPO = Path(__file__).resolve().parents[1]
CHAT = "/v1/chat/completions"
DEEP = b"[" * 100_000 + b"]" * 100_000
FAST = Limits(read_s=0.5, idle_s=0.5, linger_s=1.0)


class Echo:
    """A handler: echoes the body; ``/boom`` raises; ``/big`` answers 64 MB."""

    def __init__(self) -> None:
        self.seen: list[Request] = []

    async def handle(self, request: Request) -> Action:
        self.seen.append(request)
        if request.path == "/boom":
            raise ZeroDivisionError("a bug in a router")
        if request.path == "/big":
            return Answer(200, b"x" * (64 * 1024 * 1024), content_type="text/plain")
        return json_answer(200, {"echo": request.body.decode("latin-1")})

    def refuse(self, status: int, message: str, path: str) -> Answer:
        return json_answer(status, {"error": {"message": message, "status": status}})


class Served:
    """``HttpListeners`` on a background loop, one listener ``"x"``."""

    def __init__(self, limits: Limits) -> None:
        self.loop = Background("test-http")
        self.http = HttpListeners("test", limits)
        self.handler = Echo()
        self.port = 0

    def __enter__(self) -> Served:
        self.loop.start()
        self.port = self.loop.run(self.http.listen, "x", 0, self.handler, timeout=5)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.loop.run(self.http.close, timeout=5)
        finally:
            self.loop.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def served() -> Iterator[Served]:
    with Served(FAST) as srv:
        yield srv


@pytest.fixture
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(ScriptedModel(limits=FAST)) as srv:
        srv.add_listener("rust")
        yield srv


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def eventually(predicate: Callable[[], bool], timeout_s: float = 5) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def closed_within(sock: socket.socket, seconds: float) -> bytes:
    """What the server sends before closing; fails if it is still open after ``seconds``."""
    sock.settimeout(seconds)
    return read_all(sock)


# -- bodies --------------------------------------------------------------------


def test_parse_json_refuses_what_would_blow_the_stack() -> None:
    with pytest.raises(BadBody, match="nested deeper"):
        parse_json(DEEP)
    with pytest.raises(BadBody, match="nested deeper than 3"):
        parse_json(b'{"a": [[{"b": 1}]]}', max_depth=3)
    assert parse_json(b'{"a": [[1]]}', max_depth=3) == {"a": [[1]]}
    with pytest.raises(BadBody, match="not JSON"):
        parse_json(b"\xff\xfe{")
    with pytest.raises(BadBody, match="not JSON"):
        parse_json(b"1" * 5000)  # past Python's int-from-string limit


def test_decode_content_gzip_within_bounds() -> None:
    text = b'{"batch": []}'
    assert decode_content(text, None, max_bytes=100) == text
    assert decode_content(text, "identity", max_bytes=100) == text
    assert decode_content(gzip.compress(text), "gzip", max_bytes=100) == text
    two = gzip.compress(b"ab") + gzip.compress(b"cd")  # two members, one after another
    assert decode_content(two, "GZIP", max_bytes=100) == b"abcd"
    bomb = gzip.compress(b"\0" * 10_000_000)
    with pytest.raises(BadBody) as exc:
        decode_content(bomb, "gzip", max_bytes=1_000_000)
    assert exc.value.status == 413
    with pytest.raises(BadBody, match="truncated"):
        decode_content(gzip.compress(text)[:-12], "gzip", max_bytes=100)
    with pytest.raises(BadBody, match="not valid gzip"):
        decode_content(b"not gzip at all", "gzip", max_bytes=100)
    with pytest.raises(BadBody) as exc:
        decode_content(text, "br", max_bytes=100)
    assert exc.value.status == 415


# -- issue 18 row 9: a body nested 100,000 deep -------------------------------------


def test_a_deeply_nested_body_gets_a_400_json_error(model: ScriptedModelServer) -> None:
    with httpx.Client(timeout=5) as client:
        for path in (CHAT, "/api/chat"):
            response = client.post(model.url("rust") + path, content=DEEP)
            assert response.status_code == 400, response.text
            assert "nested deeper" in json.dumps(response.json())
    assert model.handler_errors.count == 0


def test_the_standalone_model_says_nothing_on_stderr_for_a_deep_body(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.mock_llm", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = int(line.rsplit(":", 1)[1].split()[0])
        with httpx.Client(timeout=5) as client:
            response = client.post(f"http://127.0.0.1:{port}{CHAT}", content=DEEP)
        assert response.status_code == 400
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert stderr == ""


# -- issue 18 row 14: a 1 MB head; a silent connection ------------------------------------


def test_a_one_megabyte_header_gets_431_not_a_reset(model: ScriptedModelServer) -> None:
    with httpx.Client(timeout=5) as client:
        response = client.get(model.url("rust") + "/health", headers={"X-Big": "a" * 1_000_000})
    assert response.status_code == 431
    assert response.headers["connection"] == "close"
    assert "too large" in response.json()["error"]["message"]


def test_a_big_head_that_arrives_whole_gets_431(served: Served) -> None:
    # Between h11's bound and twice it: h11 alone would let it through.
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 100_000 + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(head)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:60]
    assert served.handler.seen == []


def test_a_connection_that_sends_nothing_is_closed(model: ScriptedModelServer) -> None:
    port = model.model.ports["rust"]
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.monotonic()
        assert closed_within(sock, 5) == b""  # closed without a word
    assert time.monotonic() - started < 3
    assert eventually(lambda: model.model.open_connections == 0)


def test_a_kept_alive_connection_is_closed_once_idle(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = closed_within(sock, 5)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"Connection: close" not in answer  # kept alive, then let go when idle


@pytest.mark.parametrize(
    "partial",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n",  # a head that stops half-way
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",  # a body that does
    ],
)
def test_a_request_that_stalls_gets_408(served: Served, partial: bytes) -> None:
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(partial)
        answer = closed_within(sock, 5)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:60]
    assert b'"status": 408' in answer
    assert served.handler.seen == []


def test_a_client_that_stops_reading_is_let_go(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        assert eventually(lambda: served.handler.seen != [])  # it is answering
        assert served.http.open_connections == 1
        assert eventually(lambda: served.http.open_connections == 0)


def test_limits_still_allow_a_slow_but_steady_request(served: Served) -> None:
    body = b"0123456789"
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n")
        sock.sendall(f"Content-Length: {len(body)}\r\n\r\n".encode())
        for byte in body:  # each piece well inside read_s
            time.sleep(0.1)
            sock.sendall(bytes([byte]))
        answer = closed_within(sock, 5)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b'{"echo": "0123456789"}')


# -- an exception inside a router ----------------------------------------------------


def test_a_handler_exception_is_a_500_and_is_counted(served: Served) -> None:
    with httpx.Client(timeout=5) as client:
        response = client.post(served.url + "/boom", content=b"{}")
        assert response.status_code == 500
        assert response.json()["error"]["message"] == "internal error: ZeroDivisionError"
        assert response.headers["connection"] == "close"
        assert client.get(served.url + "/").status_code == 200  # the server goes on
    errors = served.http.errors
    assert errors.count == 1
    assert errors.last == "x POST /boom: ZeroDivisionError: a bug in a router"
    assert errors.last_traceback is not None and "ZeroDivisionError" in errors.last_traceback


def test_a_scripted_model_bug_is_a_500_the_run_can_see(
    model: ScriptedModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("scripts are broken")

    monkeypatch.setattr(model.model, "next_turn", broken)
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(timeout=5) as client:
        response = client.post(model.url("rust") + CHAT, json=body)
    assert response.status_code == 500
    assert response.json()["error"]["message"] == "internal error: RuntimeError"
    assert model.handler_errors.count == 1
    assert "scripts are broken" in (model.handler_errors.last or "")


# -- pause and resume ------------------------------------------------------------------


def test_a_paused_listener_refuses_then_serves_again_on_its_port(served: Served) -> None:
    idle = socket.create_connection(("127.0.0.1", served.port))
    assert eventually(lambda: served.http.open_connections == 1)
    served.loop.run(served.http.pause, "x", timeout=5)
    idle.settimeout(5)
    assert idle.recv(1) == b""  # its connections closed too
    idle.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", served.port), timeout=1)
    served.loop.run(served.http.resume, "x", timeout=5)
    with httpx.Client(timeout=5) as client:
        assert client.post(served.url + "/", content=b"back").json() == {"echo": "back"}


# -- generated requests ----------------------------------------------------------------

methods = st.sampled_from([b"GET", b"POST", b"HEAD", b"PUT", b"G\x00T", b""])
paths = st.sampled_from([b"/health", CHAT.encode(), b"/api/chat", b"/v1/models/m", b"*", b"/\xff"])
header_lines = st.lists(
    st.one_of(
        st.sampled_from(
            [
                b"Host: x",
                b"Content-Type: application/json",
                b"Transfer-Encoding: chunked",
                b"Expect: 100-continue",
                b"Connection: close",
                b" folded",
                b"No-Colon",
            ]
        ),
        st.builds(lambda n: b"Content-Length: " + n, st.sampled_from([b"0", b"5", b"-1", b"x"])),
        st.binary(max_size=20),
    ),
    max_size=5,
)
bodies = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([DEEP[:2000] + b"]", b'{"model": "m", "messages": []}', b"0\r\n\r\n"]),
)


@st.composite
def raw_requests(draw: st.DrawFn) -> bytes:
    """Mostly well-framed requests (so that the handlers see them), some not."""
    body = draw(bodies)
    if draw(st.integers(0, 3)) == 0:  # anything at all in the head
        version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2", b"HTTP/1.1 x"]))
        line = draw(methods) + b" " + draw(paths) + b" " + version
        return b"\r\n".join([line, *draw(header_lines)]) + b"\r\n\r\n" + body
    method = draw(st.sampled_from([b"GET", b"POST", b"HEAD"]))
    framing = draw(st.sampled_from(["length", "chunked", "short", "none"]))
    head = [method + b" " + draw(paths) + b" HTTP/1.1", b"Host: x"]
    if framing == "length":
        head.append(b"Content-Length: " + str(len(body)).encode())
    elif framing == "short":  # promises more than it sends: a stall, 408
        head.append(b"Content-Length: " + str(len(body) + 10).encode())
    elif framing == "chunked":
        head.append(b"Transfer-Encoding: chunked")
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
    head.append(b"Connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + body


@pytest.fixture(scope="module")
def shared_model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(ScriptedModel(limits=FAST)) as srv:
        srv.add_listener("rust")
        yield srv


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=raw_requests())
def test_any_request_gets_an_answer_or_a_clean_close(
    shared_model: ScriptedModelServer, payload: bytes
) -> None:
    bugs = shared_model.handler_errors.count
    with socket.create_connection(("127.0.0.1", shared_model.model.ports["rust"])) as sock:
        sock.sendall(payload)
        answer = closed_within(sock, 5)  # a partial request times out (408), never hangs
    if answer:
        assert answer.startswith(b"HTTP/1.1 "), answer[:60]
        assert not answer.startswith(b"HTTP/1.1 500 "), answer[:200]
    assert shared_model.handler_errors.count == bugs, shared_model.handler_errors.last_traceback
