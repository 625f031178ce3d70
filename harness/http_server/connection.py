"""One client connection on h11: requests in, a handler's actions out, and
the limits of ``Limits`` kept (431, 413, 408, idle connections closed, a
lingering close after an error answer)."""

from __future__ import annotations

import asyncio
import contextlib
from http import HTTPStatus
from typing import Final

import h11

from harness.http_server.answers import Action, Answer, Drop, Hang, json_answer
from harness.http_server.handler import Handler, HandlerErrors, Limits, Request

READ_SIZE: Final = 64 * 1024
_VERSIONS: Final = (b"1.0", b"1.1")


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Quiet(Exception):
    """End the connection without a word (idle, or the client stopped reading)."""


class Connection:
    """One client connection: requests in, actions out, until either side closes."""

    def __init__(
        self,
        name: str,
        handler: Handler,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        limits: Limits,
        errors: HandlerErrors,
        server_name: str,
    ) -> None:
        self.name = name
        self.handler = handler
        self.limits = limits
        self.errors = errors
        self.server_header = (b"Server", server_name.encode("latin-1"))
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
