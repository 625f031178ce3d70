"""The scripted model over real sockets: scripts, per-listener counters, faults, HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.mock_llm import (
    SMOKE_ARTIFACT,
    Fault,
    Reply,
    ScriptedModel,
    ScriptedModelServer,
    case_marker,
    find_case_id,
    load_script,
)
from reference_impl.iterate import HopError

REPO = Path(__file__).resolve().parents[1]
CHAT = "/v1/chat/completions"


def chat_body(case_id: str | None, extra: str = "", model: str = "m-1") -> dict[str, Any]:
    marker = case_marker(case_id) if case_id is not None else ""
    return {
        "model": model,
        "messages": [
            {"role": "system", "content": "be terse"},
            {"role": "user", "content": f"Write a playbook. {marker}{extra}"},
        ],
        "temperature": 0.2,
        "max_tokens": 4096,
    }


def content(response: httpx.Response) -> Any:
    return response.json()["choices"][0]["message"].get("content", "<absent>")


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(ScriptedModel(max_hang_s=30)) as srv:
        srv.add_listener("rust")
        srv.add_listener("go")
        yield srv


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c


def post(client: httpx.Client, server: ScriptedModelServer, listener: str, body: Any) -> Any:
    return client.post(server.url(listener) + CHAT, json=body)


# -- pure parts ----------------------------------------------------------------------


@given(st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True), st.text(), st.text())
def test_marker_round_trips_through_any_prompt(case_id: str, before: str, after: str) -> None:
    body = {"messages": [{"role": "user", "content": before + case_marker(case_id) + after}]}
    found = find_case_id(body)
    # Text around the marker may itself contain a marker that comes first.
    assert found == case_id or "[parity-case:" in before


@pytest.mark.parametrize("bad", ["", "a" * 65, "a b", "é", "a]"])
def test_case_marker_rejects_bad_ids(bad: str) -> None:
    with pytest.raises(ValueError):
        case_marker(bad)


def test_case_id_comes_from_the_last_user_message() -> None:
    body = {
        "messages": [
            {"role": "user", "content": case_marker("first")},
            {"role": "assistant", "content": case_marker("assistant")},
            {"role": "user", "content": [{"type": "text", "text": case_marker("last")}]},
            {"role": "assistant", "content": "trailing"},
        ]
    }
    assert find_case_id(body) == "last"
    assert find_case_id({"messages": [{"role": "user", "content": "no marker"}]}) is None
    assert find_case_id({"messages": "nope"}) is None
    assert find_case_id([1, 2]) is None


def test_reply_from_json() -> None:
    assert Reply.from_json("hi") == Reply(text="hi")
    assert Reply.from_json({"fault": "hang"}) == Reply(fault=Fault.HANG)
    assert Reply.from_json({"text": "x", "fault": "slow", "delay_s": 0.5}) == Reply(
        "x", Fault.SLOW, 0.5
    )
    for bad in [1, {"txt": "x"}, {"fault": "boom"}, {"delay_s": "1"}, {"text": 3}]:
        with pytest.raises(ValueError):
            Reply.from_json(bad)
    with pytest.raises(ValueError):
        Reply(delay_s=-1)


def test_register_validates() -> None:
    model = ScriptedModel()
    with pytest.raises(ValueError):
        model.register("bad id", [Reply("x")])
    with pytest.raises(ValueError):
        model.register("empty", [])
    ScriptedModel(default=Reply("d")).register("empty", [])


# -- scripts and counters ------------------------------------------------------------


def test_each_listener_sees_the_script_from_the_start(
    server: ScriptedModelServer, client: httpx.Client
) -> None:
    server.model.register("c1", [Reply("one"), Reply("two"), Reply("three")])
    seen: dict[str, list[Any]] = {"rust": [], "go": []}
    # Interleave the two listeners: neither may advance the other's counter.
    for listener in ["rust", "go", "go", "rust", "go", "rust", "rust", "go"]:
        seen[listener].append(content(post(client, server, listener, chat_body("c1"))))
    assert seen["rust"] == ["one", "two", "three", "three"]
    assert seen["go"] == ["one", "two", "three", "three"]
    assert server.model.call_count("c1", "rust") == 4


def test_calls_beyond_the_script_use_the_default() -> None:
    with ScriptedModelServer(ScriptedModel(default=Reply("later"))) as server:
        server.add_listener("rust")
        server.model.register("c", [Reply("first")])
        with httpx.Client(timeout=5) as client:
            answers = [content(post(client, server, "rust", chat_body("c"))) for _ in range(3)]
    assert answers == ["first", "later", "later"]


def test_register_again_resets_counters(server: ScriptedModelServer, client: httpx.Client) -> None:
    server.model.register("c", [Reply("a"), Reply("b")])
    assert content(post(client, server, "rust", chat_body("c"))) == "a"
    server.model.register("c", [Reply("x"), Reply("y")])
    assert content(post(client, server, "rust", chat_body("c"))) == "x"
    server.model.forget("c")
    assert server.model.calls("c", "rust") == []
    assert post(client, server, "rust", chat_body("c")).status_code == 404


def test_unknown_case_is_404_and_missing_marker_is_400(
    server: ScriptedModelServer, client: httpx.Client
) -> None:
    unknown = post(client, server, "rust", chat_body("nobody"))
    assert unknown.status_code == 404
    assert "nobody" in unknown.json()["error"]["message"]
    missing = post(client, server, "rust", chat_body(None))
    assert missing.status_code == 400
    assert missing.json()["error"]["type"] == "invalid_request_error"
    not_json = client.post(server.url("rust") + CHAT, content=b"{nope")
    assert not_json.status_code == 400
    array = post(client, server, "rust", [1])
    assert array.status_code == 400


def test_fallback_answers_unknown_cases() -> None:
    with ScriptedModelServer(ScriptedModel(fallback=Reply("fb"))) as server:
        server.add_listener("rust")
        with httpx.Client(timeout=5) as client:
            assert content(post(client, server, "rust", chat_body("nobody"))) == "fb"
            assert content(post(client, server, "rust", chat_body(None))) == "fb"


def test_completion_shape_and_recorded_bodies(
    server: ScriptedModelServer, client: httpx.Client
) -> None:
    server.model.register("shape", [Reply("héllo ✓")])
    first, second = chat_body("shape"), chat_body("shape", extra=" retry", model="m-2")
    response = post(client, server, "go", first)
    post(client, server, "go", second)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "id": "chatcmpl-go-shape-0",
        "object": "chat.completion",
        "created": response.json()["created"],
        "model": "m-1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "héllo ✓"},
                "finish_reason": "stop",
            }
        ],
        # About four characters a token, rounded up: the two messages' 46
        # characters, and the 7 of "héllo ✓".
        "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
    }
    assert server.model.calls("shape", "go") == [first, second]
    assert server.model.calls("shape", "rust") == []


def test_health(server: ScriptedModelServer, client: httpx.Client) -> None:
    response = client.get(server.url("rust") + "/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert client.head(server.url("rust") + "/health").status_code == 200
    assert client.get(server.url("rust") + "/nope").status_code == 404
    wrong = client.get(server.url("rust") + CHAT)
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"


# -- faults --------------------------------------------------------------------------


def test_http_500(server: ScriptedModelServer, client: httpx.Client) -> None:
    server.model.register("f", [Reply(fault=Fault.HTTP_500), Reply("ok")])
    response = post(client, server, "rust", chat_body("f"))
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"
    # The connection survives a 500: the next call is answered on it.
    assert content(post(client, server, "rust", chat_body("f"))) == "ok"


def test_not_json(server: ScriptedModelServer, client: httpx.Client) -> None:
    server.model.register("f", [Reply(fault=Fault.NOT_JSON)])
    response = post(client, server, "rust", chat_body("f"))
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_no_content_and_null_content(server: ScriptedModelServer, client: httpx.Client) -> None:
    server.model.register("f", [Reply("x", fault=Fault.NO_CONTENT), Reply(None)])
    absent = post(client, server, "rust", chat_body("f")).json()["choices"][0]["message"]
    assert absent == {"role": "assistant"}
    null = post(client, server, "rust", chat_body("f")).json()["choices"][0]["message"]
    assert null == {"role": "assistant", "content": None}


def test_drop_is_a_transport_error(server: ScriptedModelServer, client: httpx.Client) -> None:
    server.model.register("f", [Reply(fault=Fault.DROP), Reply("after")])
    with pytest.raises(httpx.TransportError):
        post(client, server, "rust", chat_body("f"))
    assert content(post(client, server, "rust", chat_body("f"))) == "after"


def test_hang_outlasts_the_client_then_is_released(server: ScriptedModelServer) -> None:
    server.model.register("f", [Reply(fault=Fault.HANG), Reply("after")])
    started = time.monotonic()
    with httpx.Client(timeout=0.3) as short, pytest.raises(httpx.ReadTimeout):
        post(short, server, "rust", chat_body("f"))
    assert time.monotonic() - started < 5
    # The client closed its socket: the server lets go of the hanging connection.
    assert wait_until(lambda: server.model.open_connections == 0)
    with httpx.Client(timeout=5) as client:
        assert content(post(client, server, "rust", chat_body("f"))) == "after"


def test_hang_is_bounded() -> None:
    with ScriptedModelServer(ScriptedModel(max_hang_s=0.3)) as server:
        server.add_listener("rust")
        server.model.register("f", [Reply(fault=Fault.HANG)])
        started = time.monotonic()
        with httpx.Client(timeout=10) as client, pytest.raises(httpx.RemoteProtocolError):
            post(client, server, "rust", chat_body("f"))
        assert 0.25 < time.monotonic() - started < 5


def test_stop_releases_a_hanging_client() -> None:
    server = ScriptedModelServer(ScriptedModel(max_hang_s=60)).start()
    errors: list[BaseException] = []
    try:
        server.add_listener("rust")
        server.model.register("f", [Reply(fault=Fault.HANG)])

        def hang() -> None:
            try:
                with httpx.Client(timeout=30) as client:
                    post(client, server, "rust", chat_body("f"))
            except httpx.HTTPError as exc:
                errors.append(exc)

        caller = threading.Thread(target=hang)
        caller.start()
        assert wait_until(lambda: server.model.open_connections == 1)
        started = time.monotonic()
    finally:
        server.stop()
    caller.join(10)
    assert not caller.is_alive()
    assert time.monotonic() - started < 5
    assert len(errors) == 1


def test_slow_answers_after_the_delay(server: ScriptedModelServer, client: httpx.Client) -> None:
    server.model.register("f", [Reply("late", fault=Fault.SLOW, delay_s=0.4), Reply("soon")])
    started = time.monotonic()
    assert content(post(client, server, "rust", chat_body("f"))) == "late"
    assert time.monotonic() - started >= 0.4
    with httpx.Client(timeout=0.2) as short:
        server.model.register("g", [Reply("late", fault=Fault.SLOW, delay_s=1)])
        with pytest.raises(httpx.ReadTimeout):
            post(short, server, "go", chat_body("g"))


# -- concurrency and HTTP details ----------------------------------------------------


def test_200_concurrent_requests(server: ScriptedModelServer) -> None:
    cases = [f"case-{i}" for i in range(50)]
    for case in cases:
        server.model.register(case, [Reply(f"{case}/1"), Reply(f"{case}/2")])
    server.model.register("shared", [Reply(f"r{i}") for i in range(100)])

    async def run() -> list[Any]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:

            async def ask(listener: str, case: str) -> Any:
                response = await client.post(server.url(listener) + CHAT, json=chat_body(case))
                return content(response)

            distinct = [ask(listener, c) for c in cases for listener in ("rust", "go")]
            shared = [ask("rust", "shared") for _ in range(100)]
            return list(await asyncio.gather(*distinct, *shared))

    answers = asyncio.run(run())
    assert answers[:100] == [f"{c}/1" for c in cases for _ in ("rust", "go")]
    # The counter is atomic: 100 concurrent calls get each scripted reply once.
    assert sorted(answers[100:]) == sorted(f"r{i}" for i in range(100))
    assert server.model.call_count("shared", "rust") == 100


def test_300_concurrent_keep_alive_connections(server: ScriptedModelServer) -> None:
    # Raw asyncio clients: httpx's pool, not the server, is the bottleneck at this size.
    # 300 keeps client + server sockets (600 fds) under a default 1024 fd limit.
    server.model.register("many", [Reply("x")])
    body = json.dumps(chat_body("many")).encode()
    request = request_bytes(body)

    async def one(port: int) -> list[bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            answers = []
            for _ in range(2):  # two requests on one connection: keep-alive holds
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                found = re.search(rb"Content-Length: (\d+)", head)
                assert found is not None
                length = int(found.group(1))
                answers.append(head.split(b"\r\n", 1)[0] + await reader.readexactly(length))
            return answers
        finally:
            writer.close()
            await writer.wait_closed()

    async def run() -> list[list[bytes]]:
        ports = [server.model.ports["rust"], server.model.ports["go"]]
        return list(await asyncio.gather(*(one(ports[i % 2]) for i in range(300))))

    results = asyncio.run(run())
    assert all(a.startswith(b"HTTP/1.1 200 OK{") for pair in results for a in pair)
    assert server.model.call_count("many", "rust") == 300
    assert server.model.connections_accepted("rust") == 150


def test_keep_alive_reuses_one_connection(server: ScriptedModelServer) -> None:
    server.model.register("k", [Reply("x")])
    with httpx.Client(timeout=5) as client:
        for _ in range(50):
            assert content(post(client, server, "rust", chat_body("k"))) == "x"
    assert server.model.connections_accepted("rust") == 1


def raw_exchange(port: int, payload: bytes, *, until_close: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        if not until_close:
            return sock.recv(65536)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def request_bytes(body: bytes, *, headers: str = "", version: str = "HTTP/1.1") -> bytes:
    head = f"POST {CHAT} {version}\r\nHost: x\r\n{headers}"
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def test_pipelined_requests_are_answered_in_order(server: ScriptedModelServer) -> None:
    server.model.register("p", [Reply("one"), Reply("two")])
    body = json.dumps(chat_body("p")).encode()
    payload = request_bytes(body) + request_bytes(body, headers="Connection: close\r\n")
    answer = raw_exchange(server.model.ports["rust"], payload)
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert answer.index(b'"content": "one"') < answer.index(b'"content": "two"')


def test_chunked_body_and_expect_continue(server: ScriptedModelServer) -> None:
    server.model.register("c", [Reply("chunked")])
    body = json.dumps(chat_body("c")).encode()
    half = len(body) // 2
    chunked = (
        f"POST {CHAT} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Expect: 100-continue\r\nConnection: close\r\n\r\n"
    ).encode()
    chunked += f"{half:x};ext=1\r\n".encode() + body[:half] + b"\r\n"
    chunked += f"{len(body) - half:X}\r\n".encode() + body[half:] + b"\r\n0\r\nTrailer: t\r\n\r\n"
    answer = raw_exchange(server.model.ports["rust"], chunked)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert b'"content": "chunked"' in answer
    assert server.model.calls("c", "rust") == [chat_body("c")]


def test_http10_closes_by_default(server: ScriptedModelServer) -> None:
    server.model.register("c", [Reply("x")])
    body = json.dumps(chat_body("c")).encode()
    answer = raw_exchange(server.model.ports["rust"], request_bytes(body, version="HTTP/1.0"))
    assert b"Connection: close" in answer
    assert answer.endswith(b'"total_tokens": 12}}')


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET /health HTTP/2.0\r\n\r\n", b"505"),
        (b"GET /health HTTP/1.1\r\n bad: fold\r\n\r\n", b"400"),
        (b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: x\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", b"413"),
        (b"POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", b"400"),  # no Host (RFC 9112 §3.2)
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", b"501"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
    ],
)
def test_malformed_requests_get_an_error_and_a_close(
    server: ScriptedModelServer, payload: bytes, status: bytes
) -> None:
    answer = raw_exchange(server.model.ports["rust"], payload)
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:80]
    assert b"Connection: close" in answer


# -- lifecycle -----------------------------------------------------------------------


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_shutdown_leaves_no_thread_and_no_socket() -> None:
    threads_before = set(threading.enumerate())
    fds_before = open_fds()
    server = ScriptedModelServer(ScriptedModel(max_hang_s=60)).start()
    port = server.add_listener("rust")
    server.model.register("c", [Reply("x")])
    idle = socket.create_connection(("127.0.0.1", port))  # an idle keep-alive peer
    with httpx.Client(timeout=5) as client:
        assert content(post(client, server, "rust", chat_body("c"))) == "x"
    server.stop()
    server.stop()  # idempotent
    assert idle.recv(1) == b""  # the server closed the idle connection
    idle.close()
    assert set(threading.enumerate()) == threads_before
    assert open_fds() == fds_before
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_listener_names_are_unique_and_the_server_must_run() -> None:
    server = ScriptedModelServer()
    with pytest.raises(RuntimeError):
        server.add_listener("rust")
    with server:
        server.add_listener("rust")
        with pytest.raises(ValueError):
            server.add_listener("rust")


def test_async_api() -> None:
    async def run() -> list[Any]:
        async with ScriptedModel() as model:
            port = await model.listen("rust")
            model.register("a", [Reply("async")])
            async with httpx.AsyncClient(timeout=5) as client:
                url = f"http://127.0.0.1:{port}{CHAT}"
                return [content(await client.post(url, json=chat_body("a"))) for _ in range(2)]

    assert asyncio.run(run()) == ["async", "async"]


def test_reference_generator_sees_the_same_model(
    server: ScriptedModelServer, client: httpx.Client
) -> None:
    script = [
        Reply("one"),
        Reply(fault=Fault.NO_CONTENT),
        Reply("late", fault=Fault.SLOW, delay_s=0.1),
        Reply("too late", fault=Fault.SLOW, delay_s=5),
        Reply(fault=Fault.HTTP_500),
        Reply(fault=Fault.HANG),
        Reply(fault=Fault.DROP),
        Reply(fault=Fault.NOT_JSON),
    ]
    server.model.register("r", script)
    generate = server.model.generator("reference", timeout_s=2)
    # The reference sends `provider` too; a daemon does not forward it.
    body = {**chat_body("r"), "provider": "ollama"}
    assert generate(body) == "one"
    assert generate(body) == ""
    assert generate(body) == "late"
    for _ in range(5):
        with pytest.raises(HopError):
            generate(body)
    assert server.model.calls("r", "reference")[0] == chat_body("r")
    # Its counter is its own: the rust listener still starts at the first reply.
    assert content(post(client, server, "rust", chat_body("r"))) == "one"
    with pytest.raises(HopError):
        generate(chat_body("unknown-case"))


# -- standalone ----------------------------------------------------------------------


def start_standalone(*args: str, cli: bool = False) -> tuple[subprocess.Popen[str], str]:
    """``python -m harness.mock_llm``, or with ``cli`` ``parity mock-llm``, on a free port."""
    command = ["harness.cli", "mock-llm"] if cli else ["harness.mock_llm"]
    proc = subprocess.Popen(
        [sys.executable, "-m", *command, "--port", "0", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+", line)
    if match is None:
        proc.kill()
        proc.wait()
        raise AssertionError(f"no listening line: {line!r}")
    return proc, match.group(0)


@pytest.fixture
def standalone_procs() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_standalone_with_a_script(
    tmp_path: Path, standalone_procs: list[subprocess.Popen[str]]
) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"s1": ["first", {"fault": "http_500"}, {"text": "third"}]}))
    proc, url = start_standalone("--script", str(script))
    standalone_procs.append(proc)
    with httpx.Client(timeout=5) as client:
        assert client.get(url + "/health").status_code == 200
        answers = [client.post(url + CHAT, json=chat_body("s1")) for _ in range(3)]
        assert client.post(url + CHAT, json=chat_body("other")).status_code == 404
    assert [a.status_code for a in answers] == [200, 500, 200]
    assert content(answers[0]) == "first"
    assert content(answers[2]) == "third"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0


def test_standalone_without_a_script_answers_a_valid_artifact(
    standalone_procs: list[subprocess.Popen[str]],
) -> None:
    proc, url = start_standalone()
    standalone_procs.append(proc)
    with httpx.Client(timeout=5) as client:
        for case in ["any", None]:
            answer = client.post(url + CHAT, json=chat_body(case))
            assert json.loads(content(answer)) == SMOKE_ARTIFACT
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0


def test_load_script_rejects_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    for bad in ["[]", '{"c": "x"}', '{"c": [{"fault": "nope"}]}', '{"bad id": ["x"]}']:
        path.write_text(bad)
        with pytest.raises(ValueError):
            load_script(path)
