"""HTTP/1.1 on h11 and asyncio streams, bound to 127.0.0.1: the harness's servers.

h11 (python-hyper, the state machine under httpx's own HTTP/1.1) does the
protocol: request framing (Content-Length and chunked bodies), keep-alive,
pipelining, ``Expect: 100-continue``, response framing. The listeners here
and their connections (``connection.py``) move bytes, carry out a handler's
``Action`` and hold the limits a server open to any local process needs:

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
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Self

from harness.http_server.connection import Connection
from harness.http_server.handler import Handler, HandlerErrors, Limits

HOST: Final = "127.0.0.1"
# A default backlog of 100 refuses bursts of a few hundred simultaneous connects.
LISTEN_BACKLOG: Final = 1024
# Loop steps from an accepted socket to its connection task running.
_SETTLE_STEPS: Final = 4


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
            connection = Connection(
                name,
                listener.handler,
                reader,
                writer,
                limits=self.limits,
                errors=self.errors,
                server_name=self.server_name,
            )
            await connection.serve()
        except asyncio.CancelledError:
            # close() and pause() cancel connections on purpose; Python 3.11's
            # stream protocol would log a cancelled callback task as an error.
            if not (self._closing or listener.server is None):
                raise
        finally:
            listener.connections.discard(task)


class ServesListeners:
    """A server object that owns its ``HttpListeners`` (``self._http``), as
    the scripted model and the Langfuse stand-in's collector do: where its
    listeners are, what they served, its handlers' errors, and closing."""

    _http: HttpListeners

    @property
    def ports(self) -> dict[str, int]:
        return self._http.ports

    def url(self, name: str) -> str:
        """The base URL of a listener (what a daemon is given to reach it)."""
        return self._http.url(name)

    def connections_accepted(self, name: str) -> int:
        return self._http.accepted(name)

    @property
    def open_connections(self) -> int:
        """Connections currently open on any listener (hanging ones included)."""
        return self._http.open_connections

    @property
    def handler_errors(self) -> HandlerErrors:
        """Exceptions raised while answering (each answered 500): a harness bug."""
        return self._http.errors

    async def close(self) -> None:
        """Stop listening and close every connection, hanging ones included."""
        await self._http.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


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
