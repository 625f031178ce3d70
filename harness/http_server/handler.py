"""What a server and the code it serves exchange: the ``Request`` a handler
gets, the ``Handler`` protocol, ``HandlerErrors`` (a handler's exceptions,
counted for the run to report) and the ``Limits`` one connection may cost."""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field
from typing import Protocol

from harness.http_server.answers import Action, Answer


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
    """Exceptions raised by handlers (each answered 500): a count, the first
    one (what a run reports: ``engine.health``) and the last. Written on the
    event loop, read from any thread."""

    count: int = 0
    first: str | None = None  # "listener METHOD path: Type: message"
    first_traceback: str | None = None
    last: str | None = None
    last_traceback: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, where: str, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(exc))
        with self._lock:
            self.count += 1
            self.last = f"{where}: {type(exc).__name__}: {exc}"
            self.last_traceback = text
            if self.first is None:
                self.first, self.first_traceback = self.last, text

    def seen(self) -> tuple[int, str | None, str | None]:
        """(count, first, its traceback), read together."""
        with self._lock:
            return self.count, self.first, self.first_traceback
