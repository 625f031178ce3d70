"""Which request gets which answer, for one listener of the stand-in: the two
ingestion routes and a health check, behind the collector faults switched on.

The order of the checks is Langfuse's, so that a client sees the same answer
for the same mistake: on ``/api/public/ingestion`` the body parser (413,
"Invalid JSON") runs before the handler (401, then 400 "Invalid request
data", then 207); on ``/api/public/otel/v1/traces`` auth comes first (401),
then decoding (400). A fault answers before all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from harness.http_server import Action, Answer, BadBody, Drop, Request, json_answer
from harness.langfuse import ingestion, otel_map, otlp
from harness.langfuse.auth import refusal
from harness.langfuse.faults import CollectorFault, FaultRule, first_applying
from harness.langfuse.observation import Transport, TreeObservation
from harness.langfuse.store import Delivery

if TYPE_CHECKING:
    from harness.langfuse.collector import Collector

INGESTION_PATH: Final = "/api/public/ingestion"
OTEL_PATH: Final = "/api/public/otel/v1/traces"
HEALTH_PATH: Final = "/api/public/health"
_ERROR_NAMES: Final = {
    400: "InvalidRequestError",
    401: "UnauthorizedError",
    404: "LangfuseNotFoundError",
    405: "MethodNotAllowedError",
    413: "PayloadTooLargeError",
    500: "InternalServerError",
}


@dataclass
class _Outcome:
    """What a route did, for the delivery log."""

    transport: Transport | None = None
    events: int = 0
    stored: int = 0
    fault: str | None = None
    trace_ids: frozenset[str] = frozenset()  # those a faulted request carried


@dataclass(frozen=True)
class _Route:
    methods: tuple[str, ...]
    answer: Callable[[Router, Request, _Outcome], Awaitable[Action]]


class Router:
    """The ``http_server.Handler`` of one listener of a ``Collector``."""

    def __init__(self, collector: Collector, listener: str) -> None:
        self.collector = collector
        self.listener = listener

    async def handle(self, request: Request) -> Action:
        outcome = _Outcome()
        self.collector.store.arrived(self.listener)
        try:
            action = await self._route(request, outcome)
        except BaseException:  # answered 500 by the server, counted there
            self.collector.store.record(self.listener, Delivery(request.path, 500))
            raise
        self.collector.store.record(self.listener, _delivery(request, action, outcome))
        return action

    async def _route(self, request: Request, outcome: _Outcome) -> Action:
        route = ROUTES.get(request.path)
        if route is None:
            return self.refuse(404, f"no route for {request.path}", request.path)
        if request.method not in route.methods:
            answer = self.refuse(405, f"use {route.methods[0]}", request.path)
            return _with_header(answer, "Allow", ", ".join(route.methods))
        return await route.answer(self, request, outcome)

    def refuse(self, status: int, message: str, path: str) -> Answer:
        return json_answer(status, {"error": _ERROR_NAMES.get(status, "Error"), "message": message})

    # -- the batch ingestion API ---------------------------------------------------------

    async def _ingestion(self, request: Request, outcome: _Outcome) -> Action:
        outcome.transport = Transport.INGESTION
        try:
            document = ingestion.read_document(request.body, request.headers.get("content-type"))
        except BadBody as exc:
            return await self._faulted(set(), outcome) or self._bad(exc)
        try:
            checked = [ingestion.check_event(event) for event in ingestion.batch_of(document)]
        except BadBody as exc:
            return (
                await self._faulted(set(), outcome) or self._unauthorised(request) or self._bad(exc)
            )
        outcome.events = len(checked)
        accepted = [event.observation for event in checked if event.observation is not None]
        faulted = await self._faulted(ingestion.trace_ids(checked), outcome, accepted)
        if faulted is not None:
            return faulted
        denied = self._unauthorised(request)
        if denied is not None:
            return denied
        outcome.stored = self.collector.store.add(self.listener, accepted)
        return json_answer(207, ingestion.answer_body(checked))

    def _bad(self, exc: BadBody) -> Answer:
        return json_answer(exc.status, {"message": "Invalid request data", "errors": [str(exc)]})

    # -- OpenTelemetry -------------------------------------------------------------------

    async def _otel(self, request: Request, outcome: _Outcome) -> Action:
        outcome.transport = Transport.OTEL
        limit = self.collector.limits.max_body_bytes
        try:
            decoded = otlp.decode(request.body, request.headers, max_bytes=limit)
        except BadBody as exc:
            faulted = await self._faulted(set(), outcome)
            return faulted or self._unauthorised(request) or self.refuse(exc.status, str(exc), "")
        outcome.events = sum(1 for _ in otel_map.spans(decoded.message))
        mapped = otel_map.observations(decoded.message)
        trace_ids = otel_map.trace_ids(decoded.message)
        faulted = await self._faulted(trace_ids, outcome, mapped.observations)
        if faulted is not None:
            return faulted
        denied = self._unauthorised(request)
        if denied is not None:
            return denied
        outcome.stored = self.collector.store.add(self.listener, mapped.observations)
        return otlp.answer(decoded, mapped.rejected, mapped.message)

    # -- shared --------------------------------------------------------------------------

    def _unauthorised(self, request: Request) -> Answer | None:
        reason = refusal(
            request.headers.get("authorization"), self.collector.credentials(self.listener)
        )
        if reason is None:
            return None
        return _with_header(
            self.refuse(401, reason, ""), "WWW-Authenticate", 'Basic realm="langfuse"'
        )

    async def _faulted(
        self,
        trace_ids: set[str],
        outcome: _Outcome,
        observations: Sequence[TreeObservation] = (),
    ) -> Action | None:
        """The fault that answers this request, if one applies (a slow one
        only delays: None once slept). What it carried is recorded: the
        trace ids, and the store's index keys of its observations."""
        fault = first_applying(self.collector.faults(self.listener), trace_ids)
        if fault is None:
            return None
        outcome.fault = fault.mode.value
        outcome.trace_ids = frozenset(trace_ids) | self.collector.store.keys_of(observations)
        return await _carry_out(fault, self)

    async def _health(self, request: Request, outcome: _Outcome) -> Action:
        return json_answer(200, {"status": "OK", "version": "parity-langfuse-stand-in"})


async def _carry_out(fault: FaultRule, router: Router) -> Action | None:
    match fault.mode:
        case CollectorFault.DOWN:
            return Drop()
        case CollectorFault.SLOW:
            await asyncio.sleep(fault.delay_s)
            return None
        case CollectorFault.HTTP_500:
            return router.refuse(500, "collector fault: Internal Server Error", "")
        case CollectorFault.HTTP_401:
            return router.refuse(401, "collector fault: Invalid credentials", "")


def _with_header(answer: Answer, name: str, value: str) -> Answer:
    return Answer(
        answer.status,
        answer.body,
        content_type=answer.content_type,
        headers=(*answer.headers, (name, value)),
        close=answer.close,
    )


def _delivery(request: Request, action: Action, outcome: _Outcome) -> Delivery:
    headers = request.headers
    sdk = headers.get("x-langfuse-sdk-name")
    if sdk is not None:
        sdk = f"{sdk} {headers.get('x-langfuse-sdk-version', '')}".strip()
    return Delivery(
        path=request.path,
        status=action.status if isinstance(action, Answer) else 0,
        transport=outcome.transport,
        content_type=headers.get("content-type"),
        content_encoding=headers.get("content-encoding"),
        ingestion_version=headers.get("x-langfuse-ingestion-version"),
        sdk=sdk or headers.get("user-agent"),
        events=outcome.events,
        stored=outcome.stored,
        fault=outcome.fault,
        trace_ids=outcome.trace_ids,
    )


ROUTES: Final[dict[str, _Route]] = {
    INGESTION_PATH: _Route(("POST",), Router._ingestion),
    OTEL_PATH: _Route(("POST",), Router._otel),
    HEALTH_PATH: _Route(("GET", "HEAD"), Router._health),
}
