"""OTLP/HTTP into the stand-in over real sockets: protobuf and JSON, gzip and
not, mapped to the same tree the batch API builds for the same session."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from harness.langfuse import Credentials, LangfuseStandIn, Transport
from tests.langfuse_data import (
    basic,
    by_name,
    export,
    only_tree,
    otlp_json,
    otlp_session,
    post_batch,
    session_batch,
    shape,
    span,
)

OTEL = "/api/public/otel/v1/traces"
TRACE = "0af7651916cd43dd8448eb211c80319c"
OTHER = "4bf92f3577b34da6a3ce929d0e0e4736"


def post_otlp(
    client: httpx.Client,
    url: str,
    request: ExportTraceServiceRequest,
    *,
    as_json: bool = False,
    gzipped: bool = False,
    credentials: Credentials | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    if as_json:
        body, content_type = json.dumps(otlp_json(request)).encode(), "application/json"
    else:
        body, content_type = request.SerializeToString(), "application/x-protobuf"
    sent = {"Content-Type": content_type, **(headers or {})}
    if gzipped:
        body = gzip.compress(body)
        sent["Content-Encoding"] = "gzip"
    if credentials is not None:
        sent["Authorization"] = basic(credentials)
    return client.post(url + OTEL, content=body, headers=sent)


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("as_json", [False, True], ids=["protobuf", "json"])
def test_otlp_describes_the_tree_the_batch_api_does(
    standin: LangfuseStandIn, lf_http: httpx.Client, as_json: bool, gzipped: bool
) -> None:
    response = post_otlp(
        lf_http, standin.url("open"), otlp_session(TRACE), as_json=as_json, gzipped=gzipped
    )
    assert response.status_code == 200, response.text
    if as_json:
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {}
    else:
        assert response.headers["content-type"] == "application/x-protobuf"
        assert (
            ExportTraceServiceResponse.FromString(response.content).partial_success.rejected_spans
            == 0
        )
    otel_tree = only_tree(standin, "open")
    assert otel_tree.trace_id == TRACE
    assert otel_tree.transports() == {Transport.OTEL}

    post_batch(lf_http, standin.url("rust"), session_batch("batch-session"))
    batch_tree = only_tree(standin, "rust")
    assert shape(otel_tree) == shape(batch_tree)

    failed = by_name(otel_tree, "chat.failed")
    assert (failed.level, failed.status_message) == ("ERROR", "upstream answered 500")
    root = by_name(otel_tree, "iterate", "span")
    assert root.parent_id is None
    assert by_name(otel_tree, "chat").parent_id == root.id == "00000000000000a1"
    assert root.start_time == "2026-12-07T10:00:00.000000Z"
    assert root.end_time == "2026-12-07T10:00:01.500000Z"


def test_otlp_json_as_the_specification_writes_it(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    document = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "x"}}]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "manual"},
                        "spans": [
                            {
                                "traceId": TRACE.upper(),  # hex, either case
                                "spanId": "00f067aa0ba902b7",
                                "name": "llm call",
                                "kind": 3,
                                "startTimeUnixNano": "1796637600000000000",
                                "endTimeUnixNano": 1796637601000000000,
                                "attributes": [
                                    {
                                        "key": "gen_ai.operation.name",
                                        "value": {"stringValue": "chat"},
                                    },
                                    {
                                        "key": "gen_ai.request.model",
                                        "value": {"stringValue": "m-2"},
                                    },
                                    {
                                        "key": "gen_ai.request.max_tokens",
                                        "value": {"intValue": "64"},
                                    },
                                    {"key": "gen_ai.request.stream", "value": {"boolValue": False}},
                                    {
                                        "key": "unknownFieldsAreIgnored",
                                        "value": {"stringValue": "x"},
                                    },
                                ],
                                "status": {"code": 2, "message": "boom"},
                                "aFieldFromTheFuture": True,
                            }
                        ],
                    }
                ],
            }
        ]
    }
    response = lf_http.post(standin.url("open") + OTEL, json=document)
    assert response.status_code == 200, response.text
    tree = only_tree(standin, "open")
    assert tree.trace_id == TRACE
    trace, call = tree.observations
    assert (trace.type, trace.name) == ("trace", "llm call")  # a root span names its trace
    assert (call.type, call.model, call.level, call.status_message) == (
        "generation",
        "m-2",
        "ERROR",
        "boom",
    )
    assert call.model_parameters == {"max_tokens": 64, "stream": "false"}  # as Langfuse stores them
    assert call.start_time == "2026-12-07T10:00:00.000000Z"


def test_the_langfuse_sdk_root_with_a_remote_parent_is_the_root(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    request = export(
        span(
            TRACE,
            "00000000000000c1",
            "iterate",
            {
                "langfuse.internal.as_root": True,
                "langfuse.trace.name": "named",
                "langfuse.trace.input": "q",
            },
            parent_hex="1111111111111111",  # the SDK's carrier of an external trace id
        ),
        span(
            TRACE, "00000000000000c2", "step", {"session.id": "s-1"}, parent_hex="00000000000000c1"
        ),
        span(TRACE, "00000000000000c3", "plain", {}, parent_hex="00000000000000c1"),
    )
    assert post_otlp(lf_http, standin.url("open"), request).status_code == 200
    tree = only_tree(standin, "open")
    assert [(o.type, o.name) for o in tree.observations] == [
        ("trace", "named"),
        ("span", "iterate"),
        ("span", "step"),
        ("span", "plain"),
    ]
    trace = tree.trace
    assert trace is not None and trace.input == "q" and trace.output is None
    assert by_name(tree, "iterate", "span").parent_id is None
    assert by_name(tree, "plain").parent_id == "00000000000000c1"


def gen_ai(
    attributes: dict[str, Any], events: list[Span.Event] | None = None
) -> ExportTraceServiceRequest:
    item = span(TRACE, "00000000000000d1", "call", attributes, parent_hex="00000000000000aa")
    item.events.extend(events or [])
    return export(item)


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (
            {"gen_ai.input.messages": [{"role": "user"}], "gen_ai.output.messages": "plain text"},
            ("span", [{"role": "user"}], "plain text"),
        ),
        (
            {
                "gen_ai.prompt.0.role": "user",
                "gen_ai.prompt.0.content": "hi",
                "gen_ai.completion.0.content": "yo",
            },
            ("span", [{"role": "user", "content": "hi"}], [{"content": "yo"}]),
        ),
        ({"input.value": '{"q": 1}', "output.value": "a"}, ("span", {"q": 1}, "a")),
        (
            {"gen_ai.tool.name": "search", "gen_ai.tool.call.arguments": {"q": 1}},
            ("tool", {"q": 1}, None),
        ),
        ({"openinference.span.kind": "LLM", "llm.model_name": "m"}, ("generation", None, None)),
        ({"gen_ai.operation.name": "embeddings"}, ("embedding", None, None)),
        (
            {"langfuse.observation.type": "agent", "gen_ai.request.model": "m"},
            ("agent", None, None),
        ),
        ({"langfuse.observation.type": "no-such-type", "model": "m"}, ("generation", None, None)),
        (
            {"langfuse.observation.input": "not json {", "input.value": "ignored"},
            ("span", "not json {", None),
        ),
    ],
)
def test_attributes_map_as_langfuse_documents(
    standin: LangfuseStandIn,
    lf_http: httpx.Client,
    attributes: dict[str, Any],
    expected: tuple[Any, ...],
) -> None:
    assert post_otlp(lf_http, standin.url("open"), gen_ai(attributes)).status_code == 200
    (call,) = only_tree(standin, "open").observations  # a child span: no trace of its own
    assert (call.type, call.input, call.output) == expected


def test_gen_ai_message_events_are_input_and_output(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    events = [
        Span.Event(name="gen_ai.system.message", attributes=[]),
        Span.Event(name="gen_ai.user.message"),
        Span.Event(name="gen_ai.choice"),
    ]
    events[1].attributes.add(key="content", value={"string_value": "hi"})
    events[2].attributes.add(key="index", value={"int_value": 0})
    assert (
        post_otlp(
            lf_http, standin.url("open"), gen_ai({"gen_ai.tool.name": "t"}, events)
        ).status_code
        == 200
    )
    (call,) = only_tree(standin, "open").observations
    assert (call.name, call.input, call.output) == (
        "t",
        [{"role": "system"}, {"role": "user", "content": "hi"}],
        {"index": 0},
    )


def test_spans_with_unusable_ids_are_a_partial_success(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    good = span(OTHER, "00000000000000e1", "kept", {})
    no_trace = span("00" * 16, "00000000000000e2", "zero trace id", {})
    short = span(OTHER, "00000000000000e3", "short parent", {}, parent_hex="0102")
    response = post_otlp(lf_http, standin.url("open"), export(good, no_trace, short))
    assert response.status_code == 200
    partial = ExportTraceServiceResponse.FromString(response.content).partial_success
    assert partial.rejected_spans == 2
    assert "invalid trace or span id" in partial.error_message
    assert [o.name for o in only_tree(standin, "open").observations] == ["kept", "kept"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "words"),
    [
        (
            b"\x0a\xff\xff",
            {"Content-Type": "application/x-protobuf"},
            400,
            "Failed to parse OTel Protobuf",
        ),
        (b"{", {"Content-Type": "application/json"}, 400, "Failed to parse OTel JSON"),
        (b"[]", {"Content-Type": "application/json"}, 400, "expected an object"),
        (
            json.dumps(
                {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}
            ).encode(),
            {"Content-Type": "application/json"},
            400,
            "is not hex",
        ),
        (b"{}", {"Content-Type": "text/plain"}, 400, "Invalid content type"),
        (
            b"{}",
            {"Content-Type": "application/json", "Content-Encoding": "gzip"},
            400,
            "Failed to decompress",
        ),
        (b"{}", {"Content-Type": "application/json", "Content-Encoding": "br"}, 415, "gzip only"),
        (
            gzip.compress(b"\0" * (40 * 1024 * 1024)),
            {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
            413,
            "once decompressed",
        ),
        (
            b"{}",
            {"Content-Type": "application/json", "x-langfuse-ingestion-version": "5"},
            400,
            "Maximum supported",
        ),
        (
            b"{}",
            {"Content-Type": "application/json", "x-langfuse-ingestion-version": "v4"},
            400,
            "Unsupported",
        ),
    ],
)
def test_bodies_langfuse_cannot_read_are_400(
    standin: LangfuseStandIn,
    lf_http: httpx.Client,
    body: bytes,
    headers: dict[str, str],
    status: int,
    words: str,
) -> None:
    response = lf_http.post(standin.url("open") + OTEL, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert words in response.json()["message"]
    assert standin.trees("open") == {}


def test_otlp_checks_keys_before_the_body(standin: LangfuseStandIn, lf_http: httpx.Client) -> None:
    url, wrong = standin.url("rust"), Credentials("pk-lf-test", "nope")
    assert post_otlp(lf_http, url, otlp_session(TRACE), credentials=wrong).status_code == 401
    garbage = {"Content-Type": "text/plain", "Authorization": basic(wrong)}
    assert lf_http.post(url + OTEL, content=b"x", headers=garbage).status_code == 401
    assert standin.trees("rust") == {}
    from tests.langfuse_data import KEYS

    assert post_otlp(lf_http, url, otlp_session(TRACE), credentials=KEYS).status_code == 200
    assert len(only_tree(standin, "rust")) == 5


def test_a_span_sent_again_updates_rather_than_doubles(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    request = otlp_session(TRACE)
    post_otlp(lf_http, standin.url("open"), request)
    post_otlp(lf_http, standin.url("open"), request, gzipped=True)  # an exporter's retry
    assert len(only_tree(standin, "open")) == 5
