"""HTTP/1.1 for the scripted model: h11 over asyncio streams, bound to 127.0.0.1.

h11 (python-hyper, the state machine under httpx's own HTTP/1.1) does the
protocol: request framing (Content-Length and chunked bodies), keep-alive,
pipelining, ``Expect: 100-continue``, response framing. This module only moves
bytes and carries out an ``answers.Action``, including the ones no ASGI server
lets an application express: closing without an answer, breaking a response
off half-way, holding a socket without reading a request's answer.

A ``Handler`` decides (``routes.Router``); ``HttpListeners`` runs one asyncio
server per listener name and closes every connection on ``close``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final, Protocol

import h11

from harness.mock_llm.answers import Action, Answer, Drop, Hang

HOST: Final = "127.0.0.1"
MAX_HEAD_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 32 * 1024 * 1024
READ_SIZE: Final = 64 * 1024
# A default backlog of 100 refuses bursts of a few hundred simultaneous connects.
LISTEN_BACKLOG: Final = 1024
SERVER_HEADER: Final = (b"Server", b"parity-mock-llm")
_VERSIONS: Final = (b"1.0", b"1.1")


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query
    headers: dict[str, str]  # lower-case names; repeated fields joined with ", "
    body: bytes


class Handler(Protocol):
    async def handle(self, request: Request) -> Action: ...

    def refuse(self, status: int, message: str, path: str) -> Answer:
        """The error answer for a request the protocol layer rejects."""
        ...


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Listener:
    name: str
    port: int
    server: asyncio.Server
    accepted: int = 0


@dataclass
class HttpListeners:
    """Named listeners on 127.0.0.1 and the connections they accepted."""

    _listeners: dict[str, _Listener] = field(default_factory=dict)
    _connections: set[asyncio.Task[None]] = field(default_factory=set)
    _closing: bool = False

    async def listen(self, name: str, port: int, handler: Handler) -> int:
        if name in self._listeners:
            raise ValueError(f"listener {name!r} already exists")
        self._closing = False
        server = await asyncio.start_server(
            lambda reader, writer: self._on_connection(name, handler, reader, writer),
            host=HOST,
            port=port,
            backlog=LISTEN_BACKLOG,
        )
        bound = int(server.sockets[0].getsockname()[1])
        self._listeners[name] = _Listener(name, bound, server)
        return bound

    @property
    def ports(self) -> dict[str, int]:
        return {name: listener.port for name, listener in self._listeners.items()}

    def url(self, name: str) -> str:
        return f"http://{HOST}:{self._listeners[name].port}"

    def accepted(self, name: str) -> int:
        return self._listeners[name].accepted

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    async def close(self) -> None:
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

    async def _on_connection(
        self,
        name: str,
        handler: Handler,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        task = asyncio.current_task()
        if self._closing or task is None or name not in self._listeners:
            writer.close()
            return
        self._connections.add(task)
        self._listeners[name].accepted += 1
        try:
            await _Connection(handler, reader, writer).serve()
        except asyncio.CancelledError:
            # close() cancels connections on purpose; Python 3.11's stream protocol
            # would log a cancelled callback task as an error, so end it quietly.
            if not self._closing:
                raise
        finally:
            self._connections.discard(task)


class _Connection:
    """One client connection: requests in, actions out, until either side closes."""

    def __init__(
        self, handler: Handler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.handler = handler
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)

    async def serve(self) -> None:
        try:
            while await self._one_exchange():
                self.h11.start_next_cycle()
        except (h11.RemoteProtocolError, _Refused) as exc:
            await self._refuse(exc)
        except (ConnectionError, h11.LocalProtocolError):
            pass  # the client went away mid-exchange: nothing more to say
        finally:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    async def _one_exchange(self) -> bool:
        """Read and carry out one request; False once the connection should close."""
        request = await self._read_request()
        if request is None:
            return False
        action = await self.handler.handle(request)
        if isinstance(action, Drop):
            return False
        if isinstance(action, Hang):
            await self._hang(action.max_s)
            return False
        if not await self._send(action, head_only=request.method == "HEAD"):
            return False
        return self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE

    # -- reading ---------------------------------------------------------------

    async def _next_event(self, *, limit: int | None = None) -> object:
        """The next h11 event; past ``limit`` bytes received, a 431 (h11 bounds
        only an incomplete head: a long one that arrives whole would pass)."""
        received = 0
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await self.reader.read(READ_SIZE)
            received += len(data)
            if limit is not None and received > limit:
                raise _Refused(431, "request head too large")
            self.h11.receive_data(data)

    async def _read_request(self) -> Request | None:
        event = await self._next_event(limit=MAX_HEAD_BYTES)
        if not isinstance(event, h11.Request):
            return None  # a clean close between requests
        headers = _headers(event)
        _check_framing(event, headers)
        if self.h11.client_is_waiting_for_100_continue:
            go_on = h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")
            self.writer.write(self.h11.send(go_on))
        body = await self._read_body()
        if body is None:
            return None
        target = event.target.decode("latin-1")
        return Request(event.method.decode("ascii"), target.split("?", 1)[0], headers, body)

    async def _read_body(self) -> bytes | None:
        parts: list[bytes] = []
        size = 0
        while True:
            event = await self._next_event()
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > MAX_BODY_BYTES:
                    raise _Refused(413, "request body too large")
                parts.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(parts)
            else:
                return None  # the client closed mid-body

    # -- answering -------------------------------------------------------------

    async def _send(self, answer: Answer, *, head_only: bool) -> bool:
        """Send an answer; False when it was cut (the connection must close)."""
        head = self.h11.send(_response(answer))
        if answer.chunks is None:
            body = answer.body if answer.cut is None else answer.body[: answer.cut]
            data = head
            if body and not head_only:
                data += self.h11.send(h11.Data(data=body))
            if answer.cut is None:
                data += self.h11.send(h11.EndOfMessage())
            self.writer.write(data)
            await self.writer.drain()
            return answer.cut is None
        self.writer.write(head)
        for index, chunk in enumerate(answer.chunks):
            if index == answer.cut:
                await self.writer.drain()
                return False
            if not head_only:
                self.writer.write(self.h11.send(h11.Data(data=chunk)))
                await self.writer.drain()
        self.writer.write(self.h11.send(h11.EndOfMessage()))
        await self.writer.drain()
        return True

    async def _hang(self, max_s: float) -> None:
        # Read and discard until the client closes (EOF) or the bound runs out;
        # a server stop cancels this task, which closes the socket at once.
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(max_s):
                while await self.reader.read(READ_SIZE):
                    pass

    async def _refuse(self, exc: h11.RemoteProtocolError | _Refused) -> None:
        if self.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return  # an answer has begun: closing is all that is left
        if isinstance(exc, _Refused):
            status, message = exc.status, exc.message
        else:
            status, message = exc.error_status_hint, str(exc) or "malformed request"
        answer = self.handler.refuse(status, message, "")
        closing = Answer(
            answer.status,
            answer.body,
            content_type=answer.content_type,
            headers=(*answer.headers, ("Connection", "close")),
        )
        with contextlib.suppress(ConnectionError, h11.LocalProtocolError):
            await self._send(closing, head_only=False)


def _headers(event: h11.Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in event.headers:
        key, text = name.decode("latin-1"), value.decode("latin-1")
        # Repeated fields combine with a comma (RFC 9110 §5.3).
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _check_framing(event: h11.Request, headers: dict[str, str]) -> None:
    if event.http_version not in _VERSIONS:
        raise _Refused(505, f"unsupported version HTTP/{event.http_version.decode()}")
    # RFC 9112 §6.3: a request with both may be smuggling; refuse rather than pick one.
    if "transfer-encoding" in headers and "content-length" in headers:
        raise _Refused(400, "both Transfer-Encoding and Content-Length")
    length = headers.get("content-length")
    if length is not None and int(length) > MAX_BODY_BYTES:  # h11 checked it is digits
        raise _Refused(413, "request body too large")


def _response(answer: Answer) -> h11.Response:
    headers: list[tuple[bytes, bytes]] = [
        SERVER_HEADER,
        (b"Content-Type", answer.content_type.encode("latin-1")),
    ]
    if answer.chunks is None:
        headers.append((b"Content-Length", str(len(answer.body)).encode("ascii")))
    if answer.close:
        headers.append((b"Connection", b"close"))
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
    return h11.Response(status_code=answer.status, headers=headers, reason=_reason(answer.status))


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""
