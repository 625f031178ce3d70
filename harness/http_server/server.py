"""HTTP/1.1 on h11 and asyncio streams, bound to 127.0.0.1: the harness's servers.

h11 (python-hyper, the state machine under httpx's own HTTP/1.1) does the
protocol: request framing (Content-Length and chunked bodies), keep-alive,
pipelining, ``Expect: 100-continue``, response framing. This module moves
bytes, carries out a handler's ``Action`` and holds the limits a server open
to any local process needs:

- a request head over ``Limits.max_head_bytes`` gets 431, a body over
  ``max_body_bytes`` 413, each answered before the rest is read; the socket is
  then half-closed and what the client still sends is read and dropped for a
  moment ("lingering close"), so that the client reads the answer instead of
  a connection reset;
- a connection that sends nothing is closed after ``read_s`` (``idle_s``
  between two requests of a kept-alive connection); a request that stalls
  half-way gets 408; a client that stops reading an answer is let go;
- an exception in a handler is answered 500 with a JSON error and counted in
  ``HttpListeners.errors``: a harness bug is never a silent drop.

A ``Handler`` decides; ``HttpListeners`` runs one asyncio server per listener
name, pauses and resumes one, and closes every connection on ``close``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final, Protocol

import h11

from harness.http_server.answers import Action, Answer, Drop, Hang, json_answer

HOST: Final = "127.0.0.1"
READ_SIZE: Final = 64 * 1024
# A default backlog of 100 refuses bursts of a few hundred simultaneous connects.
LISTEN_BACKLOG: Final = 1024
_VERSIONS: Final = (b"1.0", b"1.1")
# Loop steps from an accepted socket to its connection task running.
_SETTLE_STEPS: Final = 4


@dataclass(frozen=True)
class Limits:
    """What one connection may cost. ``idle_s`` outlasts the 90 s that common
    HTTP clients (Go's net/http, hyper/reqwest) keep an idle pooled connection,
    so that they close it first: a server closing first races the client's
    next request on it."""

    max_head_bytes: int = 64 * 1024
    max_body_bytes: int = 32 * 1024 * 1024
    read_s: float = 30.0  # a new connection's first request; any stall inside one
    idle_s: float = 120.0  # between two requests of a kept-alive connection
    linger_s: float = 2.0  # after an error answer: reading what the client still sends
    linger_bytes: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query
    headers: dict[str, str]  # lower-case names; repeated fields joined with ", "
    body: bytes
    listener: str = ""


class Handler(Protocol):
    async def handle(self, request: Request) -> Action: ...

    def refuse(self, status: int, message: str, path: str) -> Answer:
        """The error answer for a request the server itself rejects (or whose
        handler failed): the handler's error shape, whatever the status."""
        ...


@dataclass
class HandlerErrors:
    """Exceptions raised by handlers (each answered 500): a count and the last
    one. Written on the event loop, read from any thread."""

    count: int = 0
    last: str | None = None  # "listener METHOD path: Type: message"
    last_traceback: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, where: str, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(exc))
        with self._lock:
            self.count += 1
            self.last = f"{where}: {type(exc).__name__}: {exc}"
            self.last_traceback = text


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Quiet(Exception):
    """End the connection without a word (idle, or the client stopped reading)."""


@dataclass
class _Listener:
    name: str
    port: int
    handler: Handler
    server: asyncio.Server | None
    accepted: int = 0
    connections: set[asyncio.Task[None]] = field(default_factory=set)


@dataclass
class HttpListeners:
    """Named listeners on 127.0.0.1 and the connections they accepted."""

    server_name: str = "parity"  # the Server header
    limits: Limits = field(default_factory=Limits)
    errors: HandlerErrors = field(default_factory=HandlerErrors)
    _listeners: dict[str, _Listener] = field(default_factory=dict)
    _closing: bool = False

    async def listen(self, name: str, port: int, handler: Handler) -> int:
        if name in self._listeners:
            raise ValueError(f"listener {name!r} already exists")
        self._closing = False
        server = await self._start(name, port)
        bound = int(server.sockets[0].getsockname()[1])
        self._listeners[name] = _Listener(name, bound, handler, server)
        return bound

    async def _start(self, name: str, port: int) -> asyncio.Server:
        return await asyncio.start_server(
            lambda reader, writer: self._on_connection(name, reader, writer),
            host=HOST,
            port=port,
            backlog=LISTEN_BACKLOG,
        )

    @property
    def ports(self) -> dict[str, int]:
        return {name: listener.port for name, listener in self._listeners.items()}

    def url(self, name: str) -> str:
        return f"http://{HOST}:{self._listeners[name].port}"

    def accepted(self, name: str) -> int:
        return self._listeners[name].accepted

    @property
    def open_connections(self) -> int:
        return sum(len(listener.connections) for listener in self._listeners.values())

    def paused(self, name: str) -> bool:
        return self._listeners[name].server is None

    async def pause(self, name: str) -> None:
        """Stop accepting on ``name`` (connects are refused) and close its
        connections; ``resume`` listens on the same port again."""
        listener = self._listeners[name]
        server = listener.server
        if server is None:
            return
        await _stop_accepting([server])
        listener.server = None
        server.close()
        await _cancel(listener.connections)
        await server.wait_closed()

    async def resume(self, name: str) -> None:
        listener = self._listeners[name]
        if listener.server is None:
            listener.server = await self._start(name, listener.port)

    async def close(self) -> None:
        listeners = list(self._listeners.values())
        servers = [listener.server for listener in listeners if listener.server is not None]
        await _stop_accepting(servers)
        self._closing = True
        self._listeners = {}
        for server in servers:
            server.close()
        for listener in listeners:
            await _cancel(listener.connections)
        for server in servers:
            await server.wait_closed()

    async def _on_connection(
        self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        listener = self._listeners.get(name)
        if self._closing or task is None or listener is None or listener.server is None:
            writer.close()
            return
        listener.connections.add(task)
        listener.accepted += 1
        try:
            await _Connection(name, listener.handler, self, reader, writer).serve()
        except asyncio.CancelledError:
            # close() and pause() cancel connections on purpose; Python 3.11's
            # stream protocol would log a cancelled callback task as an error.
            if not (self._closing or listener.server is None):
                raise
        finally:
            listener.connections.discard(task)


async def _stop_accepting(servers: list[asyncio.Server]) -> None:
    """Stop accepting, and let the accepts under way become connections (which
    the caller then closes): asyncio (3.11) leaks, open, a socket accepted just
    before its server closes, its transport asserting the server serves."""
    loop = asyncio.get_running_loop()
    await _settle()  # connects already queued are accepted first
    for server in servers:
        for sock in server.sockets:
            loop.remove_reader(sock.fileno())
    await _settle()


async def _settle() -> None:
    for _ in range(_SETTLE_STEPS):
        await asyncio.sleep(0)


async def _cancel(tasks: set[asyncio.Task[None]]) -> None:
    while tasks:
        batch = list(tasks)
        for task in batch:
            task.cancel()
        await asyncio.gather(*batch, return_exceptions=True)
        tasks.difference_update(batch)


class _Connection:
    """One client connection: requests in, actions out, until either side closes."""

    def __init__(
        self,
        name: str,
        handler: Handler,
        owner: HttpListeners,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.name = name
        self.handler = handler
        self.limits = owner.limits
        self.errors = owner.errors
        self.server_header = (b"Server", owner.server_name.encode("latin-1"))
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_head_bytes)
        self.served = 0

    async def serve(self) -> None:
        refused = False
        try:
            while await self._one_exchange():
                self.h11.start_next_cycle()
                self.served += 1
        except (h11.RemoteProtocolError, _Refused) as exc:
            refused = await self._refuse(exc)
        except (ConnectionError, _Quiet):
            pass  # the client went away, idled or stopped reading: nothing more to say
        except Exception as exc:  # a bug on our side of the exchange: counted, never silent
            self.errors.record(f"{self.name} (connection)", exc)
        finally:
            if refused:
                await self._linger()
            await self._close()

    async def _close(self) -> None:
        # close() flushes what is buffered first: a client that stopped reading
        # would hold the socket for ever, so past a moment it is aborted.
        self.writer.close()
        try:
            async with asyncio.timeout(self.limits.linger_s):
                await self.writer.wait_closed()
        except TimeoutError:
            self.writer.transport.abort()
        except Exception:
            pass  # a reset while closing: closed all the same

    async def _one_exchange(self) -> bool:
        """Read and carry out one request; False once the connection should close."""
        request = await self._read_request()
        if request is None:
            return False
        action = await self._decide(request)
        if isinstance(action, Drop):
            return False
        if isinstance(action, Hang):
            await self._hang(action.max_s)
            return False
        if not await self._send(action, head_only=request.method == "HEAD"):
            return False
        return self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE

    async def _decide(self, request: Request) -> Action:
        try:
            return await self.handler.handle(request)
        except Exception as exc:
            self.errors.record(f"{self.name} {request.method} {request.path}", exc)
            return self._error_answer(500, f"internal error: {type(exc).__name__}", request.path)

    def _error_answer(self, status: int, message: str, path: str) -> Answer:
        try:
            answer = self.handler.refuse(status, message, path)
        except Exception as exc:
            self.errors.record(f"{self.name} refuse({status})", exc)
            return json_answer(status, {"error": message}, close=True)
        return Answer(
            answer.status,
            answer.body,
            content_type=answer.content_type,
            headers=answer.headers,
            close=True,
        )

    # -- reading ---------------------------------------------------------------

    async def _receive(self, *, first_byte: bool) -> None:
        """Feed h11 one read; a silent peer is let go (``first_byte``) or
        answered 408 (a request under way)."""
        wait = self.limits.idle_s if first_byte and self.served else self.limits.read_s
        try:
            async with asyncio.timeout(wait):
                data = await self.reader.read(READ_SIZE)
        except TimeoutError:
            if first_byte:
                raise _Quiet() from None
            raise _Refused(408, f"request not complete after {wait:g} s") from None
        self.h11.receive_data(data)

    async def _next_event(self, *, head: bool = False) -> object:
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            pending = len(self.h11.trailing_data[0]) if head else 1
            if head and pending > self.limits.max_head_bytes:
                raise _Refused(431, "request head too large")
            await self._receive(first_byte=pending == 0)

    async def _read_request(self) -> Request | None:
        event = await self._next_event(head=True)
        if not isinstance(event, h11.Request):
            return None  # a clean close between requests
        # h11 bounds an incomplete head only: one that arrived whole in a few
        # reads may be up to twice its bound. Count what it really was.
        if _head_size(event) > self.limits.max_head_bytes:
            raise _Refused(431, "request head too large")
        headers = _headers(event)
        self._check_framing(event, headers)
        if self.h11.client_is_waiting_for_100_continue:
            go_on = h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")
            self.writer.write(self.h11.send(go_on))
        body = await self._read_body()
        if body is None:
            return None
        target = event.target.decode("latin-1")
        method = event.method.decode("ascii")
        return Request(method, target.split("?", 1)[0], headers, body, self.name)

    async def _read_body(self) -> bytes | None:
        parts: list[bytes] = []
        size = 0
        while True:
            event = await self._next_event()
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > self.limits.max_body_bytes:
                    raise _Refused(413, "request body too large")
                parts.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(parts)
            else:
                return None  # the client closed mid-body

    def _check_framing(self, event: h11.Request, headers: dict[str, str]) -> None:
        if event.http_version not in _VERSIONS:
            raise _Refused(505, f"unsupported version HTTP/{event.http_version.decode()}")
        # RFC 9112 §6.3: a request with both may be smuggling; refuse rather than pick one.
        if "transfer-encoding" in headers and "content-length" in headers:
            raise _Refused(400, "both Transfer-Encoding and Content-Length")
        length = headers.get("content-length")
        # h11 checked it is digits
        if length is not None and int(length) > self.limits.max_body_bytes:
            raise _Refused(413, "request body too large")

    # -- answering -------------------------------------------------------------

    async def _drain(self) -> None:
        """Flush, unless the client stopped reading for ``read_s``."""
        try:
            async with asyncio.timeout(self.limits.read_s):
                await self.writer.drain()
        except TimeoutError:
            raise _Quiet() from None

    async def _send(self, answer: Answer, *, head_only: bool) -> bool:
        """Send an answer; False when it was cut (the connection must close)."""
        head = self.h11.send(_response(answer, self.server_header))
        if answer.chunks is None:
            body = answer.body if answer.cut is None else answer.body[: answer.cut]
            data = head
            if body and not head_only:
                data += self.h11.send(h11.Data(data=body))
            if answer.cut is None:
                data += self.h11.send(h11.EndOfMessage())
            self.writer.write(data)
            await self._drain()
            return answer.cut is None
        self.writer.write(head)
        for index, chunk in enumerate(answer.chunks):
            if index == answer.cut:
                await self._drain()
                return False
            if not head_only:
                self.writer.write(self.h11.send(h11.Data(data=chunk)))
                await self._drain()
        self.writer.write(self.h11.send(h11.EndOfMessage()))
        await self._drain()
        return True

    async def _hang(self, max_s: float) -> None:
        # Read and discard until the client closes (EOF) or the bound runs out;
        # a server stop cancels this task, which closes the socket at once.
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(max_s):
                while await self.reader.read(READ_SIZE):
                    pass

    async def _refuse(self, exc: h11.RemoteProtocolError | _Refused) -> bool:
        """Answer a request the server rejects; True when an answer was sent."""
        if self.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return False  # an answer has begun: closing is all that is left
        if isinstance(exc, _Refused):
            status, message = exc.status, exc.message
        elif exc.error_status_hint == 431:  # h11's own bound on an incomplete head
            status, message = 431, "request head too large"
        else:
            status, message = exc.error_status_hint, str(exc) or "malformed request"
        with contextlib.suppress(ConnectionError, h11.LocalProtocolError, _Quiet):
            await self._send(self._error_answer(status, message, ""), head_only=False)
            return True
        return False

    async def _linger(self) -> None:
        """Half-close, then read and drop what the client still sends, for a
        moment: closing a socket with unread data resets the connection, and a
        reset can destroy the answer before the client has read it."""
        with contextlib.suppress(Exception):
            if self.writer.can_write_eof():
                self.writer.write_eof()
            drained = 0
            async with asyncio.timeout(self.limits.linger_s):
                while drained < self.limits.linger_bytes:
                    data = await self.reader.read(READ_SIZE)
                    if not data:
                        return
                    drained += len(data)


def _head_size(event: h11.Request) -> int:
    """The head's size on the wire, give or take its line endings' spaces."""
    size = len(event.method) + len(event.target) + 12
    return size + sum(len(name) + len(value) + 4 for name, value in event.headers)


def _headers(event: h11.Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in event.headers:
        key, text = name.decode("latin-1"), value.decode("latin-1")
        # Repeated fields combine with a comma (RFC 9110 §5.3).
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _response(answer: Answer, server: tuple[bytes, bytes]) -> h11.Response:
    headers: list[tuple[bytes, bytes]] = [
        server,
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
