"""Shared by the Langfuse stand-in's tests: batches as the ingestion API takes
them, and a tree's shape with what differs between transports taken out."""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

import httpx
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from harness.langfuse import Credentials, LangfuseStandIn, Tree, TreeObservation

KEYS = Credentials("pk-lf-test", "sk-lf-test")
NOW = "2026-12-07T10:00:00.000Z"
LATER = "2026-12-07T10:00:01.500Z"
_ids = itertools.count()


def basic(credentials: Credentials = KEYS) -> str:
    token = f"{credentials.public_key}:{credentials.secret_key}".encode()
    return "Basic " + base64.b64encode(token).decode("ascii")


def envelope(kind: str, body: dict[str, Any], *, envelope_id: str | None = None) -> dict[str, Any]:
    return {
        "id": envelope_id or f"env-{next(_ids)}",
        "type": kind,
        "timestamp": NOW,
        "body": body,
    }


def post_batch(
    client: httpx.Client,
    url: str,
    events: list[dict[str, Any]],
    *,
    credentials: Credentials | None = KEYS,
) -> httpx.Response:
    headers = {"Authorization": basic(credentials)} if credentials is not None else {}
    return client.post(url + "/api/public/ingestion", json={"batch": events}, headers=headers)


def session_batch(trace_id: str) -> list[dict[str, Any]]:
    """One session as the batch API carries it: the trace, a root span, a
    generation and a failed generation under it, and a WARNING span."""
    root, chat, failed = f"{trace_id}-root", f"{trace_id}-chat", f"{trace_id}-failed"
    return [
        envelope(
            "trace-create",
            {
                "id": trace_id,
                "name": "iterate",
                "input": {"kind": "playbook", "prompt": "write one"},
                "output": {"done": True},
            },
        ),
        envelope(
            "span-create",
            {
                "id": root,
                "traceId": trace_id,
                "name": "iterate",
                "input": {"kind": "playbook", "prompt": "write one"},
                "output": {"done": True},
                "startTime": NOW,
                "endTime": LATER,
            },
        ),
        envelope(
            "generation-create",
            {
                "id": chat,
                "traceId": trace_id,
                "parentObservationId": root,
                "name": "chat",
                "model": "m-1",
                "modelParameters": {"temperature": 0.2, "max_tokens": 4096},
                "input": [{"role": "user", "content": "write one"}],
                "output": "here it is",
                "startTime": NOW,
                "endTime": LATER,
            },
        ),
        envelope(
            "generation-create",
            {
                "id": failed,
                "traceId": trace_id,
                "parentObservationId": root,
                "name": "chat.failed",
                "model": "m-1",
                "input": [{"role": "user", "content": "again"}],
                "level": "ERROR",
                "statusMessage": "upstream answered 500",
                "startTime": NOW,
                "endTime": LATER,
            },
        ),
        envelope(
            "span-create",
            {
                "id": f"{trace_id}-attempt",
                "traceId": trace_id,
                "parentObservationId": root,
                "name": "iterate.attempt[0]",
                "input": {"iteration": 0, "model": "m-1"},
                "output": {"verdict": "no_json", "raw": "here it is"},
                "level": "WARNING",
                "startTime": NOW,
                "endTime": LATER,
            },
        ),
    ]


def shape(tree: Tree) -> list[tuple[Any, ...]]:
    """What a tree says, whichever transport carried it: each observation by
    its type and name, under its parent's, with its content; ids, times,
    transport and envelopes taken out (times only checked for order)."""
    by_id = {o.id: o for o in tree.observations if o.type != "trace"}
    rows = []
    for o in tree.observations:
        parent = by_id.get(o.parent_id) if o.parent_id else None
        assert o.trace_id == tree.trace_id
        if o.start_time and o.end_time:
            assert o.start_time <= o.end_time, o
        rows.append(
            (
                o.type,
                o.name,
                None if parent is None else (parent.type, parent.name),
                repr(o.input),
                repr(o.output),
                o.level,
                o.model,
                repr(o.model_parameters),
                o.status_message,
            )
        )
    return sorted(rows, key=repr)


def only_tree(standin: LangfuseStandIn, listener: str) -> Tree:
    trees = standin.trees(listener)
    assert len(trees) == 1, list(trees)
    return next(iter(trees.values()))


def by_name(tree: Tree, name: str, kind: str | None = None) -> TreeObservation:
    found = [o for o in tree.observations if o.name == name and (kind is None or o.type == kind)]
    assert len(found) == 1, found
    return found[0]


# -- OpenTelemetry, built by hand with opentelemetry-proto -------------------------------

START_NS = 1_796_637_600_000_000_000  # 2026-12-07T10:00:00Z
END_NS = START_NS + 1_500_000_000


def attr(key: str, value: Any) -> KeyValue:
    """An OTLP attribute; dicts and lists go as JSON text, as the SDKs send them."""
    any_value = AnyValue()
    if isinstance(value, bool):
        any_value.bool_value = value
    elif isinstance(value, int):
        any_value.int_value = value
    elif isinstance(value, float):
        any_value.double_value = value
    elif isinstance(value, str):
        any_value.string_value = value
    else:
        any_value.string_value = json.dumps(value)
    return KeyValue(key=key, value=any_value)


def span(
    trace_hex: str,
    span_hex: str,
    name: str,
    attributes: dict[str, Any],
    *,
    parent_hex: str = "",
    status: Status | None = None,
) -> Span:
    return Span(
        trace_id=bytes.fromhex(trace_hex),
        span_id=bytes.fromhex(span_hex),
        parent_span_id=bytes.fromhex(parent_hex),
        name=name,
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=START_NS,
        end_time_unix_nano=END_NS,
        attributes=[attr(k, v) for k, v in attributes.items()],
        status=status or Status(),
    )


def export(*spans: Span) -> ExportTraceServiceRequest:
    resource = Resource(attributes=[attr("service.name", "parity-test")])
    scope = ScopeSpans(scope=InstrumentationScope(name="parity-test"), spans=list(spans))
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[scope])]
    )


def otlp_session(trace_hex: str) -> ExportTraceServiceRequest:
    """``session_batch`` as OpenTelemetry spans with Langfuse's attributes,
    children first (spans are exported as they end)."""
    root = "00000000000000a1"
    child = {"langfuse.observation.type": "generation", "langfuse.observation.model.name": "m-1"}
    return export(
        span(
            trace_hex,
            "00000000000000b2",
            "chat",
            {
                **child,
                "langfuse.observation.model.parameters": {"temperature": 0.2, "max_tokens": 4096},
                "langfuse.observation.input": [{"role": "user", "content": "write one"}],
                "langfuse.observation.output": "here it is",
            },
            parent_hex=root,
        ),
        span(
            trace_hex,
            "00000000000000b3",
            "chat.failed",
            {**child, "langfuse.observation.input": [{"role": "user", "content": "again"}]},
            parent_hex=root,
            status=Status(code=Status.STATUS_CODE_ERROR, message="upstream answered 500"),
        ),
        span(
            trace_hex,
            "00000000000000b4",
            "iterate.attempt[0]",
            {
                "langfuse.observation.type": "span",
                "langfuse.observation.level": "WARNING",
                "langfuse.observation.input": {"iteration": 0, "model": "m-1"},
                "langfuse.observation.output": {"verdict": "no_json", "raw": "here it is"},
            },
            parent_hex=root,
        ),
        span(
            trace_hex,
            root,
            "iterate",
            {
                "langfuse.observation.type": "span",
                "langfuse.observation.input": {"kind": "playbook", "prompt": "write one"},
                "langfuse.observation.output": {"done": True},
            },
        ),
    )


def otlp_json(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """OTLP/JSON: protobuf's JSON mapping with ids in hex, not base64."""
    document: dict[str, Any] = json_format.MessageToDict(request)
    for resource in document.get("resourceSpans", []):
        for scope in resource.get("scopeSpans", []):
            for item in scope.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in item:
                        item[key] = base64.b64decode(item[key]).hex()
    return document
