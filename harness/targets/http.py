"""A live runtime over HTTP, and a runtime that is probes and HTTP at once.

``HttpTarget`` sends each case of a batch as one request, ``concurrency`` at a
time, from its own ``httpx.AsyncClient`` on an event loop thread that the
targets of a process share (``background.SharedBackground``), so a batch is
as concurrent as the service allows while the engine stays synchronous.
``submit`` returns one future per case, so the engine compares early answers
while later ones are still in flight. What a request is depends on the suite:
a ``RequestBuilder`` turns (target name, case) into an ``HttpRequest``; a
request that runs a live session names it (``session``) and can read the
model calls it made (``model_calls``), which the observation carries as a
``Session``. A suite may instead read the target's session log
(``LogLookup``): the rows written for one session.

A request that gets no HTTP answer (connection refused or reset, a timeout)
is an ``Observation`` with ``infra`` set, whose message names the target, the
URL and, when the target can tell, why its process is gone. It is never an
exception, and never counted as parity. ``interrupt`` ends the requests of
the batches sent so far the same way: each an observation saying so.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import anyio
import httpx

from harness import defaults
from harness.background import Lease, SharedBackground
from harness.errors import TargetError
from harness.model import DivergenceClass, InfraError, JsonValue, Observation, Session
from harness.targets.base import StreamingTarget, Target

# The response headers a suite may look at (kept in ``Observation.headers``).
KEPT_HEADERS: Final = ("content-type",)
BODY_LIMIT: Final = 4 * 1024 * 1024  # bytes kept of one response body

# The event loop every HttpTarget of the process sends its requests from.
_LOOP: Final = SharedBackground("parity-http")


@dataclass(frozen=True)
class HttpRequest:
    """One request. ``session``: the live session it runs (None: none);
    ``model_calls`` reads, once the answer is in, the calls that session made
    to the model (the observation's ``Session.model_calls``)."""

    method: str
    path: str
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    session: str | None = None
    model_calls: Callable[[], Sequence[JsonValue]] | None = None


RequestBuilder = Callable[[str, JsonValue], HttpRequest]
"""(target name, case) -> the request that case is for this target."""


@dataclass(frozen=True)
class LogLookup:
    """A suite answered from the session log: ``key(case)`` names the session,
    ``row_key(line)`` the session a log line belongs to (None: not ours)."""

    key: Callable[[JsonValue], str]
    row_key: Callable[[str], str | None]


@dataclass(frozen=True)
class TreeLookup:
    """A suite answered from what the target sent its Langfuse collector:
    ``read(target, case, rows)`` is that answer's text, given the target's
    name and its session log rows for the case (``rows.key``)."""

    read: Callable[[str, JsonValue, list[str]], str]
    rows: LogLookup


Route = RequestBuilder | LogLookup | TreeLookup
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


@dataclass(frozen=True)
class _Client:
    """What one target sends with, made on the loop's thread."""

    http: httpx.AsyncClient
    gate: anyio.Semaphore  # at most ``concurrency`` requests in flight


class HttpTarget:
    """A runtime's HTTP service: one request per case, ``concurrency`` at a time."""

    def __init__(
        self,
        name: str,
        url: str,
        routes: Mapping[str, Route],
        *,
        concurrency: int = defaults.HTTP_CONCURRENCY,
        timeout_s: float = defaults.HTTP_TIMEOUT_S,
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
        self._lease: Lease | None = None
        self._client: _Client | None = None
        self._lock = threading.Lock()
        self._closed = False
        # Batches are numbered as they are sent; ``interrupt`` ends those sent
        # so far: the ones not started yet at once, the others' scopes cancelled.
        self._sent = 0
        self._interrupted = 0
        self._scopes: set[anyio.CancelScope] = set()  # touched on the loop only

    # -- the event loop ----------------------------------------------------------

    def _started(self) -> tuple[Lease, _Client]:
        with self._lock:
            if self._closed:
                raise TargetError(f"{self.name}: the target is closed")
            if self._lease is None or self._client is None:
                lease = _LOOP.acquire()
                try:
                    self._client = lease.run(_open, self.concurrency, self.timeout_s)
                except BaseException:
                    lease.release()
                    raise
                self._lease = lease
            return self._lease, self._client

    # -- Target ------------------------------------------------------------------

    def run_batch(self, suite: str, cases: Sequence[JsonValue]) -> list[Observation]:
        route = self._route(suite)
        if isinstance(route, LogLookup):
            return [self._log_rows(route, case) for case in cases]
        if isinstance(route, TreeLookup):
            return [self._tree(route, case) for case in cases]
        return [future.result() for future in self._submit(route, cases)]

    def submit(self, suite: str, cases: Sequence[JsonValue]) -> list[Future[Observation]] | None:
        """Send the batch and return at once: one future per case, in order,
        each done when its answer is in (None: this suite does not stream)."""
        route = self._route(suite)
        if isinstance(route, LogLookup | TreeLookup):
            return None
        return self._submit(route, cases)

    def _route(self, suite: str) -> Route:
        route = self.routes.get(suite)
        if route is None:
            raise TargetError(f"{self.name}: no HTTP route for suite {suite!r}")
        return route

    def _submit(
        self, build: RequestBuilder, cases: Sequence[JsonValue]
    ) -> list[Future[Observation]]:
        requests = [build(self.name, case) for case in cases]
        lease, client = self._started()
        with self._lock:
            self._sent += 1
            batch = self._sent
        # The client goes with each request: close() may drop it meanwhile.
        return [lease.submit(self._send, client, request, batch) for request in requests]

    def interrupt(self) -> None:
        with self._lock:
            self._interrupted = self._sent
            lease = self._lease
        if lease is not None:
            with contextlib.suppress(Exception):  # a loop that is going away ends them too
                lease.run(self._cancel_scopes, timeout=5)

    async def _cancel_scopes(self) -> None:
        for scope in self._scopes:
            scope.cancel()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            lease, client = self._lease, self._client
            self._lease = self._client = None
        if lease is None:
            return
        lease.cancel()  # requests still in flight end now
        try:
            if client is not None:
                with contextlib.suppress(Exception):
                    lease.run(client.http.aclose, timeout=5)
        finally:
            lease.release()

    # -- requests ------------------------------------------------------------------

    async def _send(self, client: _Client, request: HttpRequest, batch: int) -> Observation:
        url = self.url + request.path
        started = time.perf_counter()
        with anyio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                if batch <= self._interrupted:
                    scope.cancel()
                return await self._answer(client, request, url)
            finally:
                self._scopes.discard(scope)
        # Only our own scope's cancellation ends up here (the task's propagates).
        message = f"{self.name}: {request.method} {url} was interrupted before it was answered"
        return Observation(
            self.name,
            None,
            infra=InfraError(DivergenceClass.CRASH, message),
            elapsed_ms=(time.perf_counter() - started) * 1000,
            session=_session(request, failed=True),
        )

    async def _answer(self, client: _Client, request: HttpRequest, url: str) -> Observation:
        async with client.gate:
            started = time.perf_counter()
            try:
                with anyio.fail_after(self.timeout_s):
                    response = await client.http.request(
                        request.method, url, content=request.content, headers=dict(request.headers)
                    )
            except (TimeoutError, httpx.TimeoutException) as exc:
                return self._failed(request, DivergenceClass.TIMEOUT, url, exc, started)
            except httpx.HTTPError as exc:
                return self._failed(request, DivergenceClass.CRASH, url, exc, started)
        body = response.content[:BODY_LIMIT].decode("utf-8", errors="replace")
        return Observation(
            self.name,
            body,
            status=response.status_code,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            headers={h: response.headers[h] for h in KEPT_HEADERS if h in response.headers},
            session=_session(request),
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
        return Observation(
            self.name,
            None,
            infra=InfraError(kind, message),
            elapsed_ms=(time.perf_counter() - started) * 1000,
            session=_session(request, failed=True),
        )

    # -- the session log -------------------------------------------------------------

    def _log_rows(self, lookup: LogLookup, case: JsonValue) -> Observation:
        if self.session_log is None:
            raise TargetError(f"{self.name}: no session_log configured")
        lines = self.session_log.rows(lookup.key(case), lookup.row_key)
        return Observation(self.name, "\n".join(lines), log=str(self.session_log.path))

    def _tree(self, lookup: TreeLookup, case: JsonValue) -> Observation:
        rows = self._log_rows(lookup.rows, case).text if self.session_log is not None else ""
        text = lookup.read(self.name, case, rows.split("\n") if rows else [])
        return Observation(self.name, text)


def _session(request: HttpRequest, *, failed: bool = False) -> Session | None:
    """The session a request ran, with its model calls. After a failed request
    they are kept when they can be read (the infra error is the news); after an
    answer, failing to read them is a harness bug and raises."""
    if request.session is None:
        return None
    if request.model_calls is None:
        return Session(request.session)
    try:
        calls: tuple[JsonValue, ...] | None = tuple(request.model_calls())
    except Exception:
        if not failed:
            raise
        calls = None
    return Session(request.session, model_calls=calls)


def _describe(exc: BaseException) -> str:
    text = str(exc) or "(no detail)"
    return f"{type(exc).__name__}: {text}"


async def _open(concurrency: int, timeout_s: float) -> _Client:
    # trust_env=False: a proxy from the environment must not intercept the stacks.
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        trust_env=False,
    )
    return _Client(http, anyio.Semaphore(concurrency))


class RuntimeTarget:
    """One runtime seen through several targets: probe programs for some
    suites, its HTTP service for others. Dispatches by suite."""

    def __init__(self, name: str, parts: Mapping[str, Target]) -> None:
        self.name = name
        self.parts = dict(parts)

    def run_batch(self, suite: str, cases: Sequence[JsonValue]) -> list[Observation]:
        return self._part(suite).run_batch(suite, cases)

    def submit(self, suite: str, cases: Sequence[JsonValue]) -> list[Future[Observation]] | None:
        part = self._part(suite)
        return part.submit(suite, cases) if isinstance(part, StreamingTarget) else None

    def _part(self, suite: str) -> Target:
        part = self.parts.get(suite)
        if part is None:
            raise TargetError(f"{self.name}: suite {suite!r} is not configured")
        return part

    def interrupt(self) -> None:
        for part in self._distinct():
            part.interrupt()

    def close(self) -> None:
        for part in self._distinct():
            part.close()

    def _distinct(self) -> list[Target]:
        """Each part once (one part may answer several suites)."""
        return list({id(part): part for part in self.parts.values()}.values())
