"""Official clients against the stand-in over real sockets: the published
``langfuse`` SDK (5.x, OpenTelemetry-based) and the OpenTelemetry SDK's
OTLP/HTTP span exporter. The trees they describe come out as the batch API's
would for the same session."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any, Literal

import httpx
import pytest
from langfuse import Langfuse
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from harness.langfuse import OTEL_PATH, Credentials, LangfuseStandIn, Transport, seeded_trace_id
from tests.langfuse_data import KEYS, basic, by_name, only_tree, post_batch, session_batch, shape

_keys = itertools.count()
PROMPT = {"kind": "playbook", "prompt": "write one"}


@pytest.fixture
def batch_shape(standin: LangfuseStandIn, lf_http: httpx.Client) -> Iterator[list[Any]]:
    """The session as the batch API describes it, on a listener of its own."""
    standin.add_listener("batch")
    post_batch(lf_http, standin.url("batch"), session_batch("batch-session"), credentials=None)
    yield shape(only_tree(standin, "batch"))


def langfuse_client(url: str, credentials: Credentials, **options: Any) -> Langfuse:
    # A tracer provider of its own: the SDK would otherwise set the global one.
    return Langfuse(
        public_key=credentials.public_key,
        secret_key=credentials.secret_key,
        host=url,
        tracer_provider=TracerProvider(),
        **options,
    )


def sdk_session(client: Langfuse, session_id: str) -> None:
    """``session_batch`` written with the langfuse SDK, under the trace id it
    derives from the session id."""
    trace_id = Langfuse.create_trace_id(seed=session_id)
    with client.start_as_current_observation(
        name="iterate", as_type="span", input=PROMPT, trace_context={"trace_id": trace_id}
    ) as root:
        with root.start_as_current_observation(
            name="chat",
            as_type="generation",
            model="m-1",
            model_parameters={"temperature": 0.2, "max_tokens": 4096},
            input=[{"role": "user", "content": "write one"}],
        ) as chat:
            chat.update(output="here it is")
        root.start_observation(
            name="chat.failed",
            as_type="generation",
            model="m-1",
            input=[{"role": "user", "content": "again"}],
            level="ERROR",
            status_message="upstream answered 500",
        ).end()
        root.start_observation(
            name="iterate.attempt[0]",
            as_type="span",
            input={"iteration": 0, "model": "m-1"},
            output={"verdict": "no_json", "raw": "here it is"},
            level="WARNING",
        ).end()
        root.update(output={"done": True})


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_the_langfuse_sdk_describes_the_batch_apis_tree(
    standin: LangfuseStandIn, batch_shape: list[Any], compression: Literal["gzip", "none"]
) -> None:
    keys = Credentials(f"pk-lf-sdk-{next(_keys)}", KEYS.secret_key)
    standin.add_listener("sdk", credentials=keys)
    client = langfuse_client(standin.url("sdk"), keys, otel_compression=compression)
    try:
        sdk_session(client, "session-42")
        client.flush()
    finally:
        client.shutdown()
    waited = standin.wait_for("sdk", "session-42", count=5, timeout_s=10)
    assert waited.met, waited
    tree = waited.tree
    assert tree is not None and tree.trace_id == seeded_trace_id("session-42")
    assert tree.transports() == {Transport.OTEL}
    assert shape(tree) == batch_shape

    # What the SDK sends: recorded in the note, checked here.
    (delivery,) = standin.deliveries("sdk")
    assert delivery.path == OTEL_PATH and delivery.status == 200
    assert delivery.content_type == "application/x-protobuf"
    assert delivery.content_encoding == ("gzip" if compression == "gzip" else None)
    assert delivery.ingestion_version == "4"
    assert delivery.sdk is not None and delivery.sdk.startswith("python 5.")
    assert delivery.events == 4 and delivery.stored == 5


def test_the_langfuse_sdk_with_wrong_keys_stores_nothing(standin: LangfuseStandIn) -> None:
    wrong = Credentials(f"pk-lf-sdk-{next(_keys)}", "sk-wrong")
    client = langfuse_client(standin.url("rust"), wrong)
    try:
        sdk_session(client, "session-43")
        client.flush()
    finally:
        client.shutdown()
    assert [d.status for d in standin.deliveries("rust")] == [401]
    assert standin.trees("rust") == {}


def otel_session(tracer_provider: TracerProvider) -> str:
    """``session_batch`` written with the OpenTelemetry SDK and Langfuse's
    attributes, as a runtime without the langfuse SDK would; its trace id."""
    tracer = tracer_provider.get_tracer("parity-runtime")

    def attrs(kind: str, value_in: Any, value_out: Any = None, **extra: Any) -> dict[str, Any]:
        found = {
            "langfuse.observation.type": kind,
            "langfuse.observation.input": json.dumps(value_in),
        }
        if value_out is not None:
            found["langfuse.observation.output"] = json.dumps(value_out)
        return found | extra

    model = {"langfuse.observation.model.name": "m-1"}
    with tracer.start_as_current_span(
        "iterate", attributes=attrs("span", PROMPT, {"done": True})
    ) as root:
        params = json.dumps({"temperature": 0.2, "max_tokens": 4096})
        chat_attrs = attrs("generation", [{"role": "user", "content": "write one"}], **model)
        chat_attrs["langfuse.observation.model.parameters"] = params
        chat_attrs["langfuse.observation.output"] = "here it is"  # plain text, as the SDKs send it
        with tracer.start_as_current_span("chat", attributes=chat_attrs):
            pass
        with tracer.start_as_current_span(
            "chat.failed",
            attributes=attrs("generation", [{"role": "user", "content": "again"}], **model),
        ) as failed:
            failed.set_status(Status(StatusCode.ERROR, "upstream answered 500"))
        attempt = attrs(
            "span",
            {"iteration": 0, "model": "m-1"},
            {"verdict": "no_json", "raw": "here it is"},
            **{"langfuse.observation.level": "WARNING"},
        )
        with tracer.start_as_current_span("iterate.attempt[0]", attributes=attempt):
            pass
        return format(root.get_span_context().trace_id, "032x")


@pytest.mark.parametrize("compression", [Compression.Gzip, Compression.NoCompression])
def test_the_otel_sdk_exporter_describes_the_batch_apis_tree(
    standin: LangfuseStandIn, batch_shape: list[Any], compression: Compression
) -> None:
    exporter = OTLPSpanExporter(
        endpoint=standin.url("rust") + OTEL_PATH,
        headers={"Authorization": basic(KEYS)},
        compression=compression,
    )
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        trace_id = otel_session(provider)
    finally:
        provider.shutdown()
    waited = standin.wait_for("rust", trace_id, count=5, timeout_s=10)
    assert waited.met, waited
    assert waited.tree is not None and shape(waited.tree) == batch_shape
    assert {d.content_encoding for d in standin.deliveries("rust")} == (
        {"gzip"} if compression is Compression.Gzip else {None}
    )


def test_the_otel_sdk_with_gen_ai_conventions_only(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    provider = TracerProvider()
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=standin.url("open") + OTEL_PATH))
    )
    tracer = provider.get_tracer("genai-instrumentation")
    try:
        with (
            tracer.start_as_current_span("root") as root,
            tracer.start_as_current_span(
                "chat m-1",
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "m-1",
                    "gen_ai.request.temperature": 0.2,
                    "gen_ai.request.max_tokens": 4096,
                    "gen_ai.input.messages": json.dumps([{"role": "user", "content": "write one"}]),
                    "gen_ai.output.messages": json.dumps(
                        [{"role": "assistant", "content": "here"}]
                    ),
                },
            ),
        ):
            trace_id = format(root.get_span_context().trace_id, "032x")
    finally:
        provider.shutdown()
    tree = standin.tree("open", trace_id)
    assert tree is not None
    chat = by_name(tree, "chat m-1")
    assert (chat.type, chat.model, chat.model_parameters) == (
        "generation",
        "m-1",
        {"temperature": 0.2, "max_tokens": 4096},
    )
    assert chat.input == [{"role": "user", "content": "write one"}]
    assert chat.output == [{"role": "assistant", "content": "here"}]
    assert by_name(tree, "root", "trace").parent_id is None
