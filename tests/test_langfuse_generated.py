"""Generated input for the stand-in's two routes, over real sockets: whatever
arrives, the answer is Langfuse's (207 with every event accounted for, 200, a
4xx), never a 500, a dropped connection or a stand-in bug."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from harness.http_server import encode_json
from harness.langfuse import LangfuseStandIn
from harness.langfuse.ingestion import EVENT_TYPES
from harness.langfuse.observation import LEVELS
from tests.langfuse_data import NOW, export, span
from tests.strategies_json import json_values

OTEL = "/api/public/otel/v1/traces"
BODY_FIELDS = [
    "id",
    "traceId",
    "name",
    "timestamp",
    "startTime",
    "endTime",
    "level",
    "statusMessage",
    "parentObservationId",
    "model",
    "modelParameters",
    "input",
    "output",
    "environment",
    "tags",
    "public",
    "promptName",
    "promptVersion",
    "type",
    "log",
    "value",
]
ATTRIBUTE_KEYS = [
    "langfuse.observation.type",
    "langfuse.observation.input",
    "langfuse.observation.output",
    "langfuse.observation.level",
    "langfuse.observation.status_message",
    "langfuse.observation.model.name",
    "langfuse.observation.model.parameters",
    "langfuse.trace.name",
    "langfuse.trace.input",
    "langfuse.internal.as_root",
    "session.id",
    "gen_ai.operation.name",
    "gen_ai.request.model",
    "gen_ai.request.temperature",
    "gen_ai.prompt.0.content",
    "gen_ai.prompt",
    "gen_ai.tool.name",
    "gen_ai.input.messages",
    "input.value",
    "openinference.span.kind",
    "llm.invocation_parameters",
]

# Strings Langfuse's date-time check lets through, not all of them dates.
iso_like = st.one_of(
    st.from_regex(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)",
        fullmatch=True,
    ),
    st.sampled_from(["9999-12-31T23:59:59-01:00", "0001-01-01T00:00+01:00"]),  # off the calendar
)
field_values = st.one_of(
    json_values(),
    st.just(NOW),
    iso_like,
    st.sampled_from(LEVELS),
    st.sampled_from(["span", "GENERATION"]),
)
bodies = st.one_of(st.dictionaries(st.sampled_from(BODY_FIELDS), field_values), json_values())
events = st.one_of(
    st.fixed_dictionaries(
        {
            "id": st.one_of(st.text(max_size=6), json_values()),
            "type": st.sampled_from([*EVENT_TYPES, "span-crate"]),
            "timestamp": st.one_of(st.just(NOW), iso_like, json_values()),
            "body": bodies,
        }
    ),
    json_values(),
)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[LangfuseStandIn, httpx.Client]]:
    with LangfuseStandIn() as standin, httpx.Client(timeout=10, trust_env=False) as client:
        yield standin, client


_listeners = itertools.count()


def fresh(standin: LangfuseStandIn) -> str:
    """A listener of its own for each example: nothing carries over."""
    name = f"any-{next(_listeners)}"
    standin.add_listener(name)
    return name


def all_rows_encode(standin: LangfuseStandIn, name: str) -> None:
    for tree in standin.trees(name).values():
        for observation in tree.observations:
            encode_json(observation.to_json())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(st.lists(events, max_size=6), min_size=1, max_size=4))
def test_any_batch_is_answered_event_by_event(
    served: tuple[LangfuseStandIn, httpx.Client], batches: list[list[Any]]
) -> None:
    standin, client = served
    name, bugs = fresh(standin), standin.handler_errors.count
    for batch in batches:
        response = client.post(standin.url(name) + "/api/public/ingestion", json={"batch": batch})
        assert response.status_code == 207, response.text
        answer = response.json()
        assert len(answer["successes"]) + len(answer["errors"]) == len(batch)
        assert {e["status"] for e in answer["errors"]} <= {400}
    all_rows_encode(standin, name)
    assert standin.handler_errors.count == bugs, standin.handler_errors.last_traceback


def any_values(depth: int = 3) -> st.SearchStrategy[AnyValue]:
    scalars = st.one_of(
        st.builds(lambda v: AnyValue(string_value=v), st.one_of(st.text(), json_values().map(str))),
        st.builds(lambda v: AnyValue(bool_value=v), st.booleans()),
        st.builds(lambda v: AnyValue(int_value=v), st.integers(-(2**63), 2**63 - 1)),
        st.builds(lambda v: AnyValue(double_value=v), st.floats()),
        st.builds(lambda v: AnyValue(bytes_value=v), st.binary(max_size=8)),
        st.just(AnyValue()),
    )
    if depth == 0:
        return scalars
    inner = any_values(depth - 1)
    return st.one_of(
        scalars,
        st.builds(
            lambda vs: AnyValue(array_value=ArrayValue(values=vs)), st.lists(inner, max_size=3)
        ),
        st.builds(
            lambda kv: AnyValue(
                kvlist_value=KeyValueList(values=[KeyValue(key=k, value=v) for k, v in kv.items()])
            ),
            st.dictionaries(st.text(max_size=4), inner, max_size=3),
        ),
    )


@st.composite
def spans(draw: st.DrawFn) -> Span:
    item = span(
        draw(st.sampled_from(["0af7651916cd43dd8448eb211c80319c", "00" * 16])),
        draw(st.sampled_from(["00000000000000a1", "00000000000000a2", "0000000000000000"])),
        draw(st.text(max_size=8)),
        {},
        parent_hex=draw(st.sampled_from(["", "00000000000000a1", "01"])),
        status=Status(code=draw(st.sampled_from([0, 1, 2])), message=draw(st.text(max_size=5))),
    )
    for key, value in draw(st.dictionaries(st.sampled_from(ATTRIBUTE_KEYS), any_values())).items():
        item.attributes.append(KeyValue(key=key, value=value))
    for name in draw(st.lists(st.sampled_from(["gen_ai.user.message", "gen_ai.choice", "x"]))):
        item.events.append(
            Span.Event(name=name, attributes=[KeyValue(key="content", value=draw(any_values(1)))])
        )
    item.start_time_unix_nano = draw(st.integers(0, 2**64 - 1))
    return item


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests=st.lists(st.lists(spans(), max_size=4), min_size=1, max_size=3), junk=st.binary())
def test_any_export_is_answered(
    served: tuple[LangfuseStandIn, httpx.Client], requests: list[list[Span]], junk: bytes
) -> None:
    standin, client = served
    name, bugs = fresh(standin), standin.handler_errors.count
    protobuf = {"Content-Type": "application/x-protobuf"}
    for items in requests:
        body = export(*items).SerializeToString()
        response = client.post(standin.url(name) + OTEL, content=body, headers=protobuf)
        assert response.status_code == 200, response.text
    garbage = client.post(standin.url(name) + OTEL, content=junk, headers=protobuf)
    assert garbage.status_code in (200, 400), garbage.text
    all_rows_encode(standin, name)
    assert standin.handler_errors.count == bugs, standin.handler_errors.last_traceback
