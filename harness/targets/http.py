"""A live runtime over HTTP, and a runtime that is probes and HTTP at once.

``HttpTarget`` sends each case of a batch as one request, ``concurrency`` at a
time, from its own ``httpx.AsyncClient`` on an event loop thread that the
targets of a process share, so a batch is as concurrent as the service allows
while the engine stays synchronous. ``submit`` returns one future per case, so
the engine compares early answers while later ones are still in flight. What
a request is depends on the suite: a ``RequestBuilder`` turns (target name,
case) into an ``HttpRequest``. A suite may instead read the target's session
log (``LogLookup``): the rows written for one session.

A request that gets no HTTP answer (connection refused or reset, a timeout)
is an ``Observation`` with ``infra`` set, whose message names the target, the
URL and, when the target can tell, why its process is gone. It is never an
exception, and never counted as parity.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

import httpx

from harness.errors import TargetError
from harness.model import DivergenceClass, InfraError, JsonValue, Observation
from harness.targets.base import Target

_T = TypeVar("_T")

# The response headers a suite may look at (kept in ``Observation.extra``).
KEPT_HEADERS: Final = ("content-type",)
BODY_LIMIT: Final = 4 * 1024 * 1024  # bytes kept of one response body


@dataclass(frozen=True)
class HttpRequest:
    """One request; ``after`` runs once the answer is in and adds to ``extra``."""

    method: str
    path: str
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, JsonValue] = field(default_factory=dict)
    after: Callable[[], Mapping[str, JsonValue]] | None = None


RequestBuilder = Callable[[str, JsonValue], HttpRequest]
"""(target name, case) -> the request that case is for this target."""


@dataclass(frozen=True)
class LogLookup:
    """A suite answered from the session log: ``key(case)`` names the session,
    ``row_key(line)`` the session a log line belongs to (None: not ours)."""

    key: Callable[[JsonValue], str]
    row_key: Callable[[str], str | None]


Route = RequestBuilder | LogLookup
Liveness = Callable[[], str | None]
"""None while the target's process is fine; otherwise why it is not."""


class SessionLog:
    """The rows a target appended to its session log since the run began.

    Reads only what was appended after ``start`` (a shared or long-lived log
    may hold earlier rows) and indexes whole lines by session key.
    """

    def __init__(self, path: Path, daemon: str | None = None) -> None:
        self.path = path
        self.daemon = daemon
        self._row_key: Callable[[str], str | None] | None = None
        self._offset = path.stat().st_size if path.is_file() else 0
        self._partial = b""
        self._rows: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def rows(self, key: str, row_key: Callable[[str], str | None]) -> list[str]:
        with self._lock:
            self._row_key = row_key
            self._read_new()
            return list(self._rows.get(key, ()))

    def _read_new(self) -> None:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return
        self._offset += len(data)
        *complete, self._partial = (self._partial + data).split(b"\n")
        assert self._row_key is not None
        for raw in complete:
            line = raw.decode("utf-8", errors="replace")
            if not line.strip():
                continue
            key = self._row_key(line)
            if key is not None and self._written_by_us(line):
                self._rows.setdefault(key, []).append(line)

    def _written_by_us(self, line: str) -> bool:
        """In a log shared by several targets, a row is ours when its ``daemon``
        is (a line that is not a JSON object is everyone's: it is reported)."""
        if self.daemon is None:
            return True
        try:
            row = json.loads(line)
        except ValueError:
            return True
        return not isinstance(row, dict) or row.get("daemon") == self.daemon


class HttpTarget:
    """A runtime's HTTP service: one request per case, ``concurrency`` at a time."""

    def __init__(
        self,
        name: str,
        url: str,
        routes: Mapping[str, Route],
        *,
        concurrency: int = 8,
        timeout_s: float = 30.0,
        session_log: Path | None = None,
        daemon: str | None = None,
        liveness: Liveness | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.name = name
        self.url = url.rstrip("/")
        self.routes = dict(routes)
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.liveness = liveness
        self.session_log = SessionLog(session_log, daemon) if session_log is not None else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None
        self._gate: asyncio.Semaphore | None = None
        self._pending: set[concurrent.futures.Future[Observation]] = set()
        self._lock = threading.Lock()
        self._closed = False

    # -- the event loop ----------------------------------------------------------

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise TargetError(f"{self.name}: the target is closed")
            if self._loop is None:
                loop = _SharedLoop.acquire()
                self._client = _call(loop, _client(self.concurrency, self.timeout_s))
                self._loop = loop
            return self._loop

    # -- Target ------------------------------------------------------------------

    def run_batch(self, suite: str, cases: Sequence[JsonValue]) -> list[Observation]:
        route = self._route(suite)
        if isinstance(route, LogLookup):
            return [self._log_rows(route, case) for case in cases]
        return [future.result() for future in self._submit(route, cases)]

    def submit(
        self, suite: str, cases: Sequence[JsonValue]
    ) -> list[concurrent.futures.Future[Observation]] | None:
        """Send the batch and return at once: one future per case, in order,
        each done when its answer is in (None: this suite does not stream)."""
        route = self._route(suite)
        if isinstance(route, LogLookup):
            return None
        return self._submit(route, cases)

    def _route(self, suite: str) -> Route:
        route = self.routes.get(suite)
        if route is None:
            raise TargetError(f"{self.name}: no HTTP route for suite {suite!r}")
        return route

    def _submit(
        self, build: RequestBuilder, cases: Sequence[JsonValue]
    ) -> list[concurrent.futures.Future[Observation]]:
        requests = [build(self.name, case) for case in cases]
        loop = self._started()
        futures = [asyncio.run_coroutine_threadsafe(self._gated(r), loop) for r in requests]
        with self._lock:
            self._pending.update(futures)
        for future in futures:
            future.add_done_callback(self._pending.discard)
        return futures

    def close(self) -> None:
        with self._lock:
            self._closed = True
            loop, client = self._loop, self._client
            self._loop = self._client = None
        if loop is None:
            return
        for future in list(self._pending):  # requests still in flight end now
            future.cancel()
        with contextlib.suppress(Exception):
            if client is not None:
                asyncio.run_coroutine_threadsafe(_shutdown(client), loop).result(5)
        _SharedLoop.release()

    # -- requests ------------------------------------------------------------------

    async def _gated(self, request: HttpRequest) -> Observation:
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.concurrency)  # on the loop's thread
        async with self._gate:
            return await self._send(request)

    async def _send(self, request: HttpRequest) -> Observation:
        client = self._client
        assert client is not None
        url = self.url + request.path
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_s):
                response = await client.request(
                    request.method, url, content=request.content, headers=dict(request.headers)
                )
        except (TimeoutError, httpx.TimeoutException) as exc:
            return self._failed(request, DivergenceClass.TIMEOUT, url, exc, started)
        except httpx.HTTPError as exc:
            return self._failed(request, DivergenceClass.CRASH, url, exc, started)
        elapsed = (time.perf_counter() - started) * 1000
        extra: dict[str, JsonValue] = dict(request.extra)
        extra["headers"] = {h: response.headers[h] for h in KEPT_HEADERS if h in response.headers}
        if request.after is not None:
            extra.update(request.after())
        body = response.content[:BODY_LIMIT].decode("utf-8", errors="replace")
        return Observation(
            self.name, body, status=response.status_code, elapsed_ms=elapsed, extra=extra
        )

    def _failed(
        self,
        request: HttpRequest,
        kind: DivergenceClass,
        url: str,
        exc: BaseException,
        started: float,
    ) -> Observation:
        what = "no answer within" if kind is DivergenceClass.TIMEOUT else "failed:"
        detail = f"{self.timeout_s:g}s" if kind is DivergenceClass.TIMEOUT else _describe(exc)
        message = f"{self.name}: {request.method} {url} {what} {detail}"
        gone = self.liveness() if self.liveness is not None else None
        if gone:
            message += f"; {gone}"
        extra = dict(request.extra)
        if request.after is not None:
            with contextlib.suppress(Exception):
                extra.update(request.after())
        return Observation(
            self.name,
            None,
            infra=InfraError(kind, message),
            elapsed_ms=(time.perf_counter() - started) * 1000,
            extra=extra,
        )

    # -- the session log -------------------------------------------------------------

    def _log_rows(self, lookup: LogLookup, case: JsonValue) -> Observation:
        if self.session_log is None:
            raise TargetError(f"{self.name}: no session_log configured")
        lines = self.session_log.rows(lookup.key(case), lookup.row_key)
        return Observation(self.name, "\n".join(lines), extra={"log": str(self.session_log.path)})


def _describe(exc: BaseException) -> str:
    text = str(exc) or "(no detail)"
    return f"{type(exc).__name__}: {text}"


class _SharedLoop:
    """One event loop thread for every HttpTarget of the process: the targets
    of a run share it, as one asyncio program driving several clients would,
    so that they add one thread, not one each, to the scripted model's."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _users = 0

    @classmethod
    def acquire(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(
                    target=_serve_loop, args=(loop, ready), name="parity-http", daemon=True
                )
                thread.start()
                ready.wait()
                cls._loop, cls._thread = loop, thread
            cls._users += 1
            return cls._loop

    @classmethod
    def release(cls) -> None:
        with cls._lock:
            cls._users -= 1
            if cls._users > 0 or cls._loop is None or cls._thread is None:
                return
            loop, thread = cls._loop, cls._thread
            cls._loop = cls._thread = None
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def _call(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, _T]) -> _T:
    return asyncio.run_coroutine_threadsafe(coro, loop).result()


def _serve_loop(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
    finally:
        with contextlib.suppress(Exception):
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()


async def _client(concurrency: int, timeout_s: float) -> httpx.AsyncClient:
    # trust_env=False: a proxy from the environment must not intercept the stacks.
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        trust_env=False,
    )


async def _shutdown(client: httpx.AsyncClient) -> None:
    await client.aclose()


class RuntimeTarget:
    """One runtime seen through several targets: probe programs for some
    suites, its HTTP service for others. Dispatches by suite."""

    def __init__(self, name: str, parts: Mapping[str, Target]) -> None:
        self.name = name
        self.parts = dict(parts)

    def run_batch(self, suite: str, cases: Sequence[JsonValue]) -> list[Observation]:
        return self._part(suite).run_batch(suite, cases)

    def submit(
        self, suite: str, cases: Sequence[JsonValue]
    ) -> list[concurrent.futures.Future[Observation]] | None:
        submit = getattr(self._part(suite), "submit", None)
        return submit(suite, cases) if submit is not None else None

    def _part(self, suite: str) -> Target:
        part = self.parts.get(suite)
        if part is None:
            raise TargetError(f"{self.name}: suite {suite!r} is not configured")
        return part

    def close(self) -> None:
        seen: set[int] = set()
        for part in self.parts.values():
            if id(part) not in seen:
                seen.add(id(part))
                part.close()
