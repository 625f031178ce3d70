"""A scripted, OpenAI-compatible chat-completions server: the model every runtime sees.

Each generated session carries a case id inside its prompt (``case_marker``);
the n-th call for that id on a listener is answered with the n-th scripted
``Reply``. One ``ScriptedModel`` listens on several ports at once, one per
runtime, and counts calls per (listener, case id): both runtimes, and the
reference through ``ScriptedModel.generator``, see exactly the same model.

Replies can inject faults per call (HTTP 500, a hang, a dropped connection,
a non-JSON body, a slow answer, a message without content).

The HTTP/1.1 server is built on asyncio streams only (Content-Length and
chunked bodies, ``Expect: 100-continue``, keep-alive, pipelining) and binds
127.0.0.1 only. ``ScriptedModelServer`` runs it on a background event loop
(``harness.background``) for synchronous callers; ``run_standalone`` serves
it for a human debugging a real stack (``parity mock-llm --port N [--script
FILE]``, or ``python -m harness.mock_llm``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from harness.background import Background
from reference_impl.iterate import HopError

JsonValue = Any

HOST: Final = "127.0.0.1"
CASE_MARKER_RE: Final = re.compile(r"\[parity-case:([A-Za-z0-9_-]{1,64})\]")
_CASE_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")

DEFAULT_MAX_HANG_S: Final = 60.0
MAX_HEAD_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 32 * 1024 * 1024
# A default backlog of 100 refuses bursts of a few hundred simultaneous connects.
LISTEN_BACKLOG: Final = 1024

# The fields a daemon forwards upstream (docs/decisions.md §4); the reference
# generator records exactly these so recorded bodies compare across runtimes.
UPSTREAM_FIELDS: Final = ("model", "messages", "temperature", "max_tokens")

# Answered when no script is given to the standalone server: a playbook is the
# one artifact whose validation does not depend on the request's context.
SMOKE_ARTIFACT: Final[Mapping[str, JsonValue]] = {
    "title": "Smoke test playbook",
    "steps": ["Check /health", "Send one /v1/iterate", "Read the session log"],
}


class Fault(StrEnum):
    """What a scripted call does instead of (or on the way to) answering."""

    HTTP_500 = "http_500"  # 500 with an OpenAI-style JSON error body
    HANG = "hang"  # never answers; holds the socket until the client leaves
    DROP = "drop"  # closes the socket without answering
    NOT_JSON = "not_json"  # 200 whose body is not JSON
    SLOW = "slow"  # a normal answer after ``delay_s``
    NO_CONTENT = "no_content"  # 200 whose message has no ``content`` field


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``delay_s`` is waited before any reply or fault.

    ``text=None`` without a fault answers ``"content": null``.
    """

    text: str | None = None
    fault: Fault | None = None
    delay_s: float = 0

    def __post_init__(self) -> None:
        if self.delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {self.delay_s}")

    @classmethod
    def from_json(cls, value: JsonValue) -> Reply:
        """A script entry: a string (the text) or ``{text?, fault?, delay_s?}``."""
        if isinstance(value, str):
            return cls(text=value)
        if not isinstance(value, dict):
            raise ValueError(f"a reply is a string or an object, got {value!r}")
        unknown = set(value) - {"text", "fault", "delay_s"}
        if unknown:
            raise ValueError(f"unknown reply keys: {sorted(unknown)}")
        text, fault, delay = value.get("text"), value.get("fault"), value.get("delay_s", 0)
        if text is not None and not isinstance(text, str):
            raise ValueError(f"reply text must be a string or null, got {text!r}")
        if isinstance(delay, bool) or not isinstance(delay, int | float):
            raise ValueError(f"delay_s must be a number, got {delay!r}")
        return cls(text=text, fault=None if fault is None else Fault(fault), delay_s=delay)


def case_marker(case_id: str) -> str:
    """The marker to put in a prompt so the model knows which script to follow."""
    if not _CASE_ID_RE.fullmatch(case_id):
        raise ValueError(f"a case id is 1-64 characters of [A-Za-z0-9_-], got {case_id!r}")
    return f"[parity-case:{case_id}]"


def find_case_id(body: JsonValue) -> str | None:
    """The case id in the last user message of a chat body, if any."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            match = CASE_MARKER_RE.search(_content_text(message.get("content")))
            return match.group(1) if match else None
    return None


def _content_text(content: JsonValue) -> str:
    # OpenAI also allows a list of typed parts; the marker may be in any text part.
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


@dataclass(frozen=True)
class Turn:
    """The model's decision for one call: the reply to give, or a refusal."""

    listener: str
    case_id: str | None
    index: int  # 0-based call number for (listener, case id); -1 on refusal
    reply: Reply | None = None
    refusal: tuple[int, str] | None = None  # (HTTP status, message)


@dataclass
class _Listener:
    name: str
    port: int
    server: asyncio.Server
    accepted: int = 0


class ScriptedModel:
    """Scripts per case id, counters and recorded bodies per (listener, case id).

    Thread-safe for ``register``/``calls``/``forget``; the listening side
    belongs to the event loop that called ``listen`` first.
    """

    def __init__(
        self,
        *,
        default: Reply | None = None,
        fallback: Reply | None = None,
        max_hang_s: float = DEFAULT_MAX_HANG_S,
    ) -> None:
        """``default`` answers calls beyond a script (else its last reply repeats);
        ``fallback`` answers unknown or missing case ids (else 404 / 400)."""
        self.default = default
        self.fallback = fallback
        self.max_hang_s = max_hang_s
        self._lock = threading.Lock()
        self._scripts: dict[str, tuple[Reply, ...]] = {}
        self._counters: dict[tuple[str, str], int] = {}
        self._calls: dict[tuple[str, str], list[dict[str, JsonValue]]] = {}
        self._listeners: dict[str, _Listener] = {}
        self._connections: set[asyncio.Task[None]] = set()
        self._closing = False

    # -- scripts -----------------------------------------------------------

    def register(self, case_id: str, replies: Sequence[Reply]) -> None:
        """Script a case; registering again replaces the script and resets its counters."""
        case_marker(case_id)  # validates the id
        if not replies and self.default is None:
            raise ValueError(f"case {case_id!r}: an empty script needs a default reply")
        with self._lock:
            self._scripts[case_id] = tuple(replies)
            self._drop_history(case_id)

    def forget(self, case_id: str) -> None:
        """Drop a case's script, counters and recorded bodies (long runs stay small)."""
        with self._lock:
            self._scripts.pop(case_id, None)
            self._drop_history(case_id)

    def _drop_history(self, case_id: str) -> None:
        for key in [key for key in self._counters if key[1] == case_id]:
            del self._counters[key]
        for key in [key for key in self._calls if key[1] == case_id]:
            del self._calls[key]

    def calls(self, case_id: str, listener: str) -> list[dict[str, JsonValue]]:
        """The chat bodies received for a case on a listener, in arrival order."""
        with self._lock:
            return list(self._calls.get((listener, case_id), ()))

    def call_count(self, case_id: str, listener: str) -> int:
        with self._lock:
            return self._counters.get((listener, case_id), 0)

    def next_turn(self, listener: str, body: dict[str, JsonValue]) -> Turn:
        """Record one call and decide its answer (the HTTP side and the reference share this)."""
        case_id = find_case_id(body)
        with self._lock:
            if case_id is not None:
                self._calls.setdefault((listener, case_id), []).append(body)
            script = self._scripts.get(case_id) if case_id is not None else None
            if script is None or case_id is None:
                return self._unscripted(listener, case_id)
            index = self._counters.get((listener, case_id), 0)
            self._counters[(listener, case_id)] = index + 1
        return Turn(listener, case_id, index, reply=self._pick(script, index))

    def _unscripted(self, listener: str, case_id: str | None) -> Turn:
        if self.fallback is not None:
            return Turn(listener, case_id, -1, reply=self.fallback)
        if case_id is None:
            missing = "no [parity-case:...] marker in the last user message"
            return Turn(listener, None, -1, refusal=(400, missing))
        return Turn(listener, case_id, -1, refusal=(404, f"unknown case id {case_id!r}"))

    def _pick(self, script: tuple[Reply, ...], index: int) -> Reply:
        if index < len(script):
            return script[index]
        if self.default is not None:
            return self.default
        return script[-1]

    # -- the reference's view --------------------------------------------------

    def generator(
        self, listener: str, *, timeout_s: float
    ) -> Callable[[dict[str, JsonValue]], str]:
        """A ``reference_impl.iterate.Generate`` hop over this model, without HTTP.

        It answers what a daemon whose upstream timeout is ``timeout_s`` would
        get: the text, ``""`` without content, and ``HopError`` for every fault
        a daemon turns into a 502 (a delay at or past the timeout included).
        """

        def generate(chat: dict[str, JsonValue]) -> str:
            body: dict[str, JsonValue] = {k: chat[k] for k in UPSTREAM_FIELDS if k in chat}
            return _reference_answer(self.next_turn(listener, body), timeout_s)

        return generate

    # -- serving ---------------------------------------------------------------

    async def listen(self, name: str, port: int = 0) -> int:
        """Serve on 127.0.0.1 under a listener name; returns the bound port."""
        if name in self._listeners:
            raise ValueError(f"listener {name!r} already exists")
        self._closing = False
        server = await asyncio.start_server(
            partial(self._on_connection, name),
            host=HOST,
            port=port,
            backlog=LISTEN_BACKLOG,
            limit=MAX_HEAD_BYTES,
        )
        bound = int(server.sockets[0].getsockname()[1])
        self._listeners[name] = _Listener(name, bound, server)
        return bound

    @property
    def ports(self) -> dict[str, int]:
        return {name: listener.port for name, listener in self._listeners.items()}

    def url(self, name: str) -> str:
        """The base URL to give a daemon as ``--upstream``."""
        return f"http://{HOST}:{self._listeners[name].port}"

    def connections_accepted(self, name: str) -> int:
        return self._listeners[name].accepted

    @property
    def open_connections(self) -> int:
        """Connections currently open on any listener (hanging ones included)."""
        return len(self._connections)

    async def close(self) -> None:
        """Stop listening and close every connection, hanging ones included."""
        self._closing = True
        listeners, self._listeners = list(self._listeners.values()), {}
        for listener in listeners:
            listener.server.close()
        while self._connections:
            tasks = list(self._connections)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._connections.difference_update(tasks)
        for listener in listeners:
            await listener.server.wait_closed()

    async def __aenter__(self) -> ScriptedModel:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _on_connection(
        self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if self._closing or task is None or name not in self._listeners:
            writer.close()
            return
        self._connections.add(task)
        self._listeners[name].accepted += 1
        try:
            await _Connection(self, name, reader, writer).serve()
        except asyncio.CancelledError:
            # close() cancels connections on purpose; Python 3.11's stream protocol
            # would log a cancelled callback task as an error, so end it quietly.
            if not self._closing:
                raise
        finally:
            self._connections.discard(task)


# -- HTTP/1.1 ----------------------------------------------------------------------


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    version: str
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


@dataclass
class _Connection:
    model: ScriptedModel
    listener: str
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    head_only: bool = field(default=False)

    async def serve(self) -> None:
        try:
            while await self._one_exchange():
                pass
        except _BadRequest as exc:
            await self._send_error(exc.status, exc.message, keep_alive=False)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away mid-request: nothing to answer
        finally:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    async def _one_exchange(self) -> bool:
        """Read and answer one request; False once the connection should close."""
        request = await self._read_request()
        if request is None:
            return False
        self.head_only = request.method == "HEAD"
        if request.path == "/health":
            if request.method not in ("GET", "HEAD"):
                return await self._send_error(405, "use GET", request.keep_alive, allow="GET, HEAD")
            return await self._send_json(200, {"status": "ok"}, request.keep_alive)
        if request.path == "/v1/chat/completions":
            if request.method != "POST":
                return await self._send_error(405, "use POST", request.keep_alive, allow="POST")
            return await self._chat(request)
        return await self._send_error(404, f"no route for {request.path}", request.keep_alive)

    # -- reading ---------------------------------------------------------------

    async def _read_request(self) -> _Request | None:
        head = await self._read_head()
        if head is None:
            return None
        method, path, version, headers = _parse_head(head)
        body = await self._read_body(version, headers)
        return _Request(method, path, version, headers, body)

    async def _read_head(self) -> bytes | None:
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                raise _BadRequest(400, "incomplete request head") from exc
            return None  # a clean close between requests
        except asyncio.LimitOverrunError as exc:
            raise _BadRequest(431, "request head too large") from exc
        # RFC 9112 §2.2: ignore empty lines before a request line.
        return head.lstrip(b"\r\n")

    async def _read_body(self, version: str, headers: dict[str, str]) -> bytes:
        encoding = headers.get("transfer-encoding")
        length = headers.get("content-length")
        if encoding is not None and length is not None:
            raise _BadRequest(400, "both Transfer-Encoding and Content-Length")
        if encoding is None and length is None:
            return b""
        if version == "HTTP/1.1" and headers.get("expect", "").lower() == "100-continue":
            self.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await self.writer.drain()
        if encoding is not None:
            if encoding.strip().lower() != "chunked":
                raise _BadRequest(501, f"unsupported transfer-encoding {encoding!r}")
            return await self._read_chunked()
        return await self.reader.readexactly(_content_length(length or ""))

    async def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = _chunk_size(await self._read_line())
            if size == 0:
                while await self._read_line():
                    pass  # trailer fields are ignored up to the final empty line
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise _BadRequest(413, "request body too large")
            chunks.append(await self.reader.readexactly(size))
            if await self.reader.readexactly(2) != b"\r\n":
                raise _BadRequest(400, "chunk not followed by CRLF")

    async def _read_line(self) -> bytes:
        try:
            return (await self.reader.readuntil(b"\r\n"))[:-2]
        except asyncio.LimitOverrunError as exc:
            raise _BadRequest(400, "chunk line too long") from exc

    # -- answering -------------------------------------------------------------

    async def _chat(self, request: _Request) -> bool:
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            return await self._send_error(400, "request body is not JSON", request.keep_alive)
        if not isinstance(body, dict):
            return await self._send_error(400, "request body is not an object", request.keep_alive)
        turn = self.model.next_turn(self.listener, body)
        if turn.refusal is not None or turn.reply is None:
            status, message = turn.refusal or (500, "no reply")
            return await self._send_error(status, message, request.keep_alive)
        return await self._reply(turn, turn.reply, body, request.keep_alive)

    async def _reply(
        self, turn: Turn, reply: Reply, body: dict[str, JsonValue], keep_alive: bool
    ) -> bool:
        if reply.delay_s > 0:
            await asyncio.sleep(reply.delay_s)
        match reply.fault:
            case Fault.HANG:
                await self._hang()
                return False
            case Fault.DROP:
                return False
            case Fault.HTTP_500:
                return await self._send_error(500, "scripted fault: HTTP 500", keep_alive)
            case Fault.NOT_JSON:
                garbage = b"<html><body>scripted fault: this body is not JSON</body></html>"
                return await self._send(200, garbage, "application/json", keep_alive)
            case _:
                payload = completion(turn, reply, _model_name(body))
                return await self._send_json(200, payload, keep_alive)

    async def _hang(self) -> None:
        # Read and discard until the client closes (EOF) or the bound runs out;
        # a server stop cancels this task, which closes the socket at once.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.model.max_hang_s):
                while await self.reader.read(65536):
                    pass

    async def _send_json(self, status: int, payload: JsonValue, keep_alive: bool) -> bool:
        return await self._send(status, _encode_json(payload), "application/json", keep_alive)

    async def _send_error(
        self, status: int, message: str, keep_alive: bool, allow: str | None = None
    ) -> bool:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        payload = {"error": {"message": message, "type": kind, "code": status}}
        extra = {"Allow": allow} if allow else {}
        return await self._send(
            status, _encode_json(payload), "application/json", keep_alive, extra
        )

    async def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        keep_alive: bool,
        extra: Mapping[str, str] | None = None,
    ) -> bool:
        lines = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            "Server: parity-mock-llm",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
            *(f"{name}: {value}" for name, value in (extra or {}).items()),
        ]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.writer.write(head if self.head_only else head + body)
        await self.writer.drain()
        return keep_alive


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1]:
        raise _BadRequest(400, "malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise _BadRequest(505, f"unsupported version {version!r}")
    return method, target.split("?", 1)[0], version, _parse_headers(lines[1:])


def _parse_headers(lines: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or line[0] in " \t":
            raise _BadRequest(400, f"malformed header line {line!r}")
        key = name.lower()
        value = value.strip()
        if key == "content-length" and key in headers and headers[key] != value:
            raise _BadRequest(400, "conflicting Content-Length headers")
        # Repeated fields combine with a comma (RFC 9110 §5.3).
        if key in headers and key != "content-length":
            value = f"{headers[key]}, {value}"
        headers[key] = value
    return headers


def _content_length(raw: str) -> int:
    if not raw.isdigit() or not raw.isascii():
        raise _BadRequest(400, f"bad Content-Length {raw!r}")
    length = int(raw)
    if length > MAX_BODY_BYTES:
        raise _BadRequest(413, "request body too large")
    return length


def _chunk_size(line: bytes) -> int:
    raw = line.split(b";", 1)[0].strip()
    if not raw or len(raw) > 16 or any(c not in b"0123456789abcdefABCDEF" for c in raw):
        raise _BadRequest(400, f"bad chunk size {raw!r}")
    return int(raw, 16)


def _model_name(body: dict[str, JsonValue]) -> str:
    model = body.get("model")
    return model if isinstance(model, str) else "parity-mock"


def completion(turn: Turn, reply: Reply, model: str) -> dict[str, JsonValue]:
    """The OpenAI chat.completion body for a reply that answers normally."""
    message: dict[str, JsonValue] = {"role": "assistant"}
    if reply.fault is not Fault.NO_CONTENT:
        message["content"] = reply.text
    return {
        "id": f"chatcmpl-{turn.listener}-{turn.case_id or 'none'}-{turn.index}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }


def _encode_json(payload: JsonValue) -> bytes:
    try:
        return json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate cannot be UTF-8: send it as a \\u escape instead.
        return json.dumps(payload).encode("ascii")


def _reference_answer(turn: Turn, timeout_s: float) -> str:
    if turn.refusal is not None or turn.reply is None:
        status = turn.refusal[0] if turn.refusal else 500
        raise HopError(f"upstream returned {status}")
    reply = turn.reply
    if reply.fault is Fault.HANG or reply.delay_s >= timeout_s:
        raise HopError(f"upstream timed out after {int(timeout_s * 1000)} ms")
    if reply.fault is Fault.HTTP_500:
        raise HopError("upstream returned 500")
    if reply.fault is Fault.DROP:
        raise HopError("upstream closed the connection without answering")
    if reply.fault is Fault.NOT_JSON:
        raise HopError("upstream reply is not JSON")
    if reply.fault is Fault.NO_CONTENT or reply.text is None:
        return ""
    return reply.text


# -- running it ----------------------------------------------------------------------


class ScriptedModelServer:
    """A ``ScriptedModel`` served from a background event loop (``background.Background``).

    ``with ScriptedModelServer() as server: port = server.add_listener("rust")``.
    """

    def __init__(self, model: ScriptedModel | None = None, *, call_timeout_s: float = 10) -> None:
        self.model = model if model is not None else ScriptedModel()
        self.call_timeout_s = call_timeout_s
        self._loop = Background("parity-mock-llm")

    def start(self) -> ScriptedModelServer:
        self._loop.start()
        return self

    def add_listener(self, name: str, port: int = 0) -> int:
        """Listen under a new name (one per runtime); returns the bound port."""
        if not self._loop.running:
            raise RuntimeError("the scripted model server is not started")
        return self._loop.run(self.model.listen, name, port, timeout=self.call_timeout_s)

    def url(self, name: str) -> str:
        return self.model.url(name)

    def stop(self) -> None:
        """Close every socket and join the thread; safe to call twice."""
        if not self._loop.running:
            return
        try:
            self._loop.run(self.model.close, timeout=self.call_timeout_s)
        finally:
            self._loop.stop()

    def __enter__(self) -> ScriptedModelServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def load_script(path: Path, **options: Any) -> ScriptedModel:
    """A model from a JSON script file ``{case_id: [reply, ...]}``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a script is an object {{case_id: [reply, ...]}}")
    model = ScriptedModel(**options)
    for case_id, replies in data.items():
        if not isinstance(replies, list):
            raise ValueError(f"{path}: case {case_id!r}: replies must be a list")
        model.register(case_id, [Reply.from_json(reply) for reply in replies])
    return model


def smoke_model() -> ScriptedModel:
    """Answers every call, whatever its case id, with a valid playbook artifact."""
    return ScriptedModel(fallback=Reply(text=json.dumps(SMOKE_ARTIFACT)))


def run_standalone(
    port: int,
    script_file: Path | None,
    *,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Serve on 127.0.0.1:port until SIGINT/SIGTERM (``parity mock-llm``).

    With a script, unknown case ids answer 404; without one, every call gets
    ``SMOKE_ARTIFACT`` so a stack can be smoke-tested by hand. ``on_ready``
    gets the bound port (``port=0`` picks one); by default a line on stdout
    says where it listens.
    """
    model = load_script(script_file) if script_file is not None else smoke_model()
    asyncio.run(_serve_until_signalled(model, port, on_ready or _announce))


def _announce(port: int) -> None:
    print(f"mock-llm listening on http://{HOST}:{port} (Ctrl-C to stop)", flush=True)


async def _serve_until_signalled(
    model: ScriptedModel, port: int, on_ready: Callable[[int], None] | None
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Only the main thread may install handlers; elsewhere the caller stops us.
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with model:
        bound = await model.listen("standalone", port)
        if on_ready is not None:
            on_ready(bound)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harness.mock_llm --port N [--script FILE]``."""
    parser = argparse.ArgumentParser(prog="mock-llm", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--script", type=Path, default=None)
    args = parser.parse_args(argv)
    run_standalone(args.port, args.script)
    return 0


if __name__ == "__main__":
    sys.exit(main())
