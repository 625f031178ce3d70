"""HttpTarget over real sockets: order, concurrency, timeouts, refused
connections, close, the session-log reader and the runtime dispatcher."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from harness.errors import TargetError
from harness.model import DivergenceClass, JsonValue, Observation, Session
from harness.targets.http import HttpRequest, HttpTarget, LogLookup, RuntimeTarget


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    in_flight = 0
    most = 0
    lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that left (a timeout, a closed target) is expected here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        with self.server.lock:
            self.server.in_flight += 1
            self.server.most = max(self.server.most, self.server.in_flight)
        try:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if self.path.startswith("/slow/"):
                time.sleep(float(self.path.split("/")[2]))
            if self.path == "/drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            answer = json.dumps(
                {"path": self.path, "body": body.decode(), "trace": self.headers.get("x-trace")}
            ).encode()
            self.send_response(201 if self.path.startswith("/created") else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        finally:
            with self.server.lock:
                self.server.in_flight -= 1

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def url_of(server: _Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def post(path: str | Callable[[JsonValue], str]) -> Any:
    def build(target: str, case: JsonValue) -> HttpRequest:
        return HttpRequest(
            "POST",
            path(case) if callable(path) else path,
            content=json.dumps(case).encode(),
            headers={"x-trace": f"{target}-{case}"},
            session=f"s-{case}",
            model_calls=lambda: [f"{target} saw {case}"],
        )

    return build


def test_a_batch_comes_back_in_order_with_status_body_headers_and_session(
    server: _Server,
) -> None:
    target = HttpTarget("rust", url_of(server), {"s": post(lambda c: f"/created?{c}")})
    try:
        observations = target.run_batch("s", list(range(20)))
    finally:
        target.close()
    assert [o.status for o in observations] == [201] * 20
    for number, observation in enumerate(observations):
        body = json.loads(observation.text or "")
        assert body == {
            "path": f"/created?{number}",
            "body": str(number),
            "trace": f"rust-{number}",
        }
        assert observation.session == Session(f"s-{number}", model_calls=(f"rust saw {number}",))
        assert observation.headers == {"content-type": "application/json"}
        assert observation.infra is None


def test_a_request_without_a_session_has_none(server: _Server) -> None:
    def build(target: str, case: JsonValue) -> HttpRequest:
        return HttpRequest("POST", "/x", content=b"{}")

    target = HttpTarget("go", url_of(server), {"s": build})
    try:
        [observation] = target.run_batch("s", [1])
    finally:
        target.close()
    assert observation.status == 200 and observation.session is None


def test_no_more_than_concurrency_requests_are_in_flight(server: _Server) -> None:
    target = HttpTarget("go", url_of(server), {"s": post("/slow/0.15")}, concurrency=3)
    started = time.monotonic()
    try:
        observations = target.run_batch("s", list(range(9)))
    finally:
        target.close()
    assert all(o.status == 200 for o in observations)
    assert server.most == 3
    assert time.monotonic() - started >= 0.45  # three rounds of three


def test_submit_answers_case_by_case(server: _Server) -> None:
    target = HttpTarget("go", url_of(server), {"s": post(lambda c: f"/slow/{c}")}, concurrency=2)
    try:
        futures = target.submit("s", [0, 0.6])
        assert futures is not None
        first = futures[0].result(timeout=5)
        assert first.status == 200 and not futures[1].done()
        assert futures[1].result(timeout=5).status == 200
    finally:
        target.close()


def test_a_timeout_is_an_infrastructure_observation(server: _Server) -> None:
    target = HttpTarget("rust", url_of(server), {"s": post("/slow/1")}, timeout_s=0.2)
    try:
        [observation] = target.run_batch("s", ["x"])
    finally:
        target.close()
    assert observation.infra is not None and observation.text is None
    assert observation.infra.kind is DivergenceClass.TIMEOUT
    assert observation.infra.message.startswith(f"rust: POST {url_of(server)}/slow/1 ")
    assert "0.2s" in observation.infra.message
    assert observation.session == Session("s-x", model_calls=("rust saw x",))


def test_a_failed_request_keeps_its_session_when_the_calls_cannot_be_read() -> None:
    def unreadable() -> list[JsonValue]:
        raise RuntimeError("the model is gone")

    def build(target: str, case: JsonValue) -> HttpRequest:
        return HttpRequest("POST", "/x", session="s-1", model_calls=unreadable)

    target = HttpTarget("rust", "http://127.0.0.1:9", {"s": build})  # discard: refused
    try:
        [observation] = target.run_batch("s", [1])
    finally:
        target.close()
    assert observation.infra is not None
    assert observation.session == Session("s-1", model_calls=None)


def test_a_dropped_connection_is_a_crash(server: _Server) -> None:
    target = HttpTarget("go", url_of(server), {"s": post("/drop")})
    try:
        [observation] = target.run_batch("s", [1])
    finally:
        target.close()
    assert observation.infra is not None
    assert observation.infra.kind is DivergenceClass.CRASH
    assert f"go: POST {url_of(server)}/drop failed: " in observation.infra.message


def test_a_refused_connection_names_the_target_and_why_it_is_gone() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nobody listens
    target = HttpTarget(
        "rust",
        f"http://127.0.0.1:{port}",
        {"s": post("/v1/iterate")},
        liveness=lambda: "its process (pid 1) exited with code -9",
    )
    try:
        observations = target.run_batch("s", [1, 2, 3])
    finally:
        target.close()
    for observation in observations:
        assert observation.infra is not None
        assert observation.infra.kind is DivergenceClass.CRASH
        message = observation.infra.message
        assert message.startswith(f"rust: POST http://127.0.0.1:{port}/v1/iterate failed: ")
        assert message.endswith("; its process (pid 1) exited with code -9")


def test_close_is_idempotent_and_final(server: _Server) -> None:
    target = HttpTarget("go", url_of(server), {"s": post("/x")})
    assert target.run_batch("s", [1])[0].status == 200
    target.close()
    target.close()
    with pytest.raises(TargetError, match="closed"):
        target.run_batch("s", [1])
    with pytest.raises(TargetError, match="no HTTP route"):
        HttpTarget("go", url_of(server), {}).run_batch("other", [1])


def test_close_ends_requests_in_flight_and_leaves_no_thread(server: _Server) -> None:
    target = HttpTarget("go", url_of(server), {"s": post("/slow/2")}, concurrency=2)
    futures = target.submit("s", [1, 2, 3])
    assert futures is not None
    time.sleep(0.2)  # two in flight, one waiting for the gate
    started = time.monotonic()
    target.close()
    assert time.monotonic() - started < 1
    assert all(future.cancelled() for future in futures)
    assert "parity-http" not in [t.name for t in threading.enumerate()]


def test_an_interrupt_ends_the_batches_sent_so_far_as_observations(server: _Server) -> None:
    """Each request of the batch in flight, in flight or waiting for the gate,
    ends as an infrastructure observation naming it; a later batch runs."""
    target = HttpTarget("go", url_of(server), {"s": post(lambda c: f"/slow/{c}")}, concurrency=2)
    try:
        futures = target.submit("s", [5, 5, 5])
        assert futures is not None
        time.sleep(0.2)  # two in flight, one waiting for the gate
        target.interrupt()
        ended = [future.result(timeout=4) for future in futures]  # 5 s each otherwise
        later = target.run_batch("s", [0])
    finally:
        target.close()
    for observation in ended:
        assert observation.infra is not None and observation.infra.kind is DivergenceClass.CRASH
        assert observation.infra.message.startswith(f"go: POST {url_of(server)}/slow/5 ")
        assert "interrupted" in observation.infra.message
        assert observation.session is not None  # which session it was, still said
    assert [o.status for o in later] == [200]


def test_http_targets_of_a_process_share_one_event_loop_thread(server: _Server) -> None:
    targets = [HttpTarget(name, url_of(server), {"s": post("/x")}) for name in ("a", "b", "c")]
    try:
        for target in targets:
            assert target.run_batch("s", [1])[0].status == 200
        assert [t.name for t in threading.enumerate()].count("parity-http") == 1
        targets[0].close()  # the others still send
        assert targets[1].run_batch("s", [2])[0].status == 200
    finally:
        for target in targets:
            target.close()
    assert "parity-http" not in [t.name for t in threading.enumerate()]


def key_of(line: str) -> str | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value.get("k") if isinstance(value, dict) else None


def test_the_session_log_reader_sees_only_new_whole_lines(tmp_path: Path) -> None:
    log = tmp_path / "sessions.jsonl"
    log.write_text('{"k": "old"}\n', encoding="utf-8")
    target = HttpTarget(
        "rust",
        "http://127.0.0.1:9",
        {"sessions": LogLookup(key=lambda case: str(case), row_key=key_of)},
        session_log=log,
    )
    with log.open("a", encoding="utf-8") as handle:
        handle.write('{"k": "a", "n": 1}\n{"k": "b"}\n\n{"k": "a", "n": 2}\n{"k": "c"')
    observations = target.run_batch("sessions", ["old", "a", "b", "c"])
    assert [o.text for o in observations] == [
        "",
        '{"k": "a", "n": 1}\n{"k": "a", "n": 2}',
        '{"k": "b"}',
        "",  # half a line is not a row yet
    ]
    assert observations[0].log == str(log)
    assert observations[0].session is None and not observations[0].headers
    with log.open("a", encoding="utf-8") as handle:
        handle.write("}\n")
    [c] = target.run_batch("sessions", ["c"])
    assert c.text == '{"k": "c"}'
    target.close()


def test_a_runtime_dispatches_each_suite_to_its_part(server: _Server) -> None:
    class Probe:
        name = "rust"
        closed = 0
        interrupted = 0

        def run_batch(self, suite: str, cases: Sequence[JsonValue]) -> list[Observation]:
            return [Observation("rust", f"probe {case}") for case in cases]

        def interrupt(self) -> None:
            self.interrupted += 1

        def close(self) -> None:
            self.closed += 1

    probe = Probe()
    http = HttpTarget("rust", url_of(server), {"live": post("/x")})
    runtime = RuntimeTarget("rust", {"extract_json": probe, "session_log": probe, "live": http})
    assert runtime.submit("extract_json", [1]) is None
    assert [o.text for o in runtime.run_batch("extract_json", [1])] == ["probe 1"]
    futures = runtime.submit("live", [7])
    assert futures is not None and futures[0].result(timeout=5).status == 200
    with pytest.raises(TargetError, match="not configured"):
        runtime.run_batch("validate", [1])
    runtime.interrupt()  # each part once, however many suites it answers
    assert probe.interrupted == 1
    runtime.close()
    assert probe.closed == 1
