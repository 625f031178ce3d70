"""The stand-in's batch ingestion API over real sockets, with Langfuse's
semantics: 207 per-event results, 401, deduplication by envelope id, the size
limit, malformed events as per-event errors, 400 for what is not a batch."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langfuse import Langfuse

from harness.langfuse import Credentials, LangfuseStandIn, seeded_trace_id
from harness.langfuse.ingestion import MAX_BATCH_BYTES
from tests.langfuse_data import (
    LATER,
    NOW,
    basic,
    by_name,
    envelope,
    only_tree,
    post_batch,
    session_batch,
)

INGESTION = "/api/public/ingestion"


def test_a_batch_is_207_with_a_success_per_event_and_builds_one_tree(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    events = session_batch("session-1")
    response = post_batch(lf_http, standin.url("rust"), events)
    assert response.status_code == 207
    assert response.json() == {
        "successes": [{"id": e["id"], "status": 201} for e in events],
        "errors": [],
    }
    tree = only_tree(standin, "rust")
    assert tree.trace_id == "session-1"
    assert [o.type for o in tree.observations] == [
        "trace",
        "span",
        "generation",
        "generation",
        "span",
    ]
    trace = tree.trace
    assert trace is not None and trace.name == "iterate" and trace.id == "session-1"
    chat = by_name(tree, "chat")
    assert chat.parent_id == "session-1-root"
    assert chat.model == "m-1"
    assert chat.model_parameters == {"temperature": 0.2, "max_tokens": 4096}
    assert chat.input == [{"role": "user", "content": "write one"}]
    assert chat.output == "here it is"
    assert chat.level == "DEFAULT"  # none given: Langfuse's default
    assert chat.start_time == "2026-12-07T10:00:00.000000Z"
    assert chat.end_time == "2026-12-07T10:00:01.500000Z"
    assert chat.envelope_id == events[2]["id"] and chat.event == "generation-create"
    failed = by_name(tree, "chat.failed")
    assert (failed.level, failed.status_message, failed.output) == (
        "ERROR",
        "upstream answered 500",
        None,
    )
    assert by_name(tree, "iterate.attempt[0]").level == "WARNING"


def test_the_tree_is_found_under_the_session_id_or_its_seeded_id(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    seeded = seeded_trace_id("session-7")
    assert seeded == Langfuse.create_trace_id(seed="session-7")  # the published SDK's
    post_batch(lf_http, standin.url("rust"), session_batch(seeded))
    tree = standin.tree("rust", "session-7")
    assert tree is not None and tree.trace_id == seeded
    assert standin.tree("rust", "session-8") is None
    assert standin.tree("open", "session-7") is None  # listeners keep their own trees


@pytest.mark.parametrize(
    ("credentials", "reason"),
    [
        (None, "No authorization header"),
        (Credentials("pk-lf-test", "sk-wrong"), "Invalid credentials"),
        (Credentials("pk-other", "sk-lf-test"), "Invalid credentials"),
    ],
)
def test_wrong_or_missing_keys_are_401_and_store_nothing(
    standin: LangfuseStandIn, lf_http: httpx.Client, credentials: Credentials | None, reason: str
) -> None:
    response = post_batch(lf_http, standin.url("rust"), session_batch("s"), credentials=credentials)
    assert response.status_code == 401
    assert response.json()["error"] == "UnauthorizedError"
    assert reason in response.json()["message"]
    assert response.headers["www-authenticate"] == 'Basic realm="langfuse"'
    assert standin.trees("rust") == {}


@pytest.mark.parametrize("header", ["Bearer sk-lf-test", "Basic !!!notbase64", "Basic " + "cGs="])
def test_malformed_authorization_is_401(
    standin: LangfuseStandIn, lf_http: httpx.Client, header: str
) -> None:
    response = lf_http.post(
        standin.url("rust") + INGESTION,
        json={"batch": session_batch("s")},
        headers={"Authorization": header},
    )
    assert response.status_code == 401


def test_without_configured_keys_any_request_passes(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    assert (
        post_batch(lf_http, standin.url("open"), session_batch("a"), credentials=None).status_code
        == 207
    )
    other = Credentials("pk-anything", "sk-anything")
    assert (
        post_batch(lf_http, standin.url("open"), session_batch("b"), credentials=other).status_code
        == 207
    )
    assert set(standin.trees("open")) == {"a", "b"}


def test_an_event_sent_again_is_acknowledged_again_and_stored_once(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    events = session_batch("dup")
    first = post_batch(lf_http, standin.url("rust"), events)
    again = post_batch(lf_http, standin.url("rust"), [*events, events[1]])  # and twice within
    assert first.status_code == again.status_code == 207
    assert len(again.json()["successes"]) == len(events) + 1
    assert len(only_tree(standin, "rust")) == len(events)
    deliveries = standin.deliveries("rust")
    assert [d.stored for d in deliveries] == [len(events), 0]


def test_a_new_envelope_for_a_known_id_updates_it_as_langfuse_upserts(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    url = standin.url("rust")
    post_batch(lf_http, url, [envelope("span-create", {"id": "s1", "traceId": "t", "name": "x"})])
    post_batch(
        lf_http,
        url,
        [
            envelope(
                "span-update", {"id": "s1", "traceId": "t", "output": {"ok": 1}, "endTime": LATER}
            )
        ],
    )
    (span,) = only_tree(standin, "rust").observations
    assert (span.name, span.output, span.level, span.end_time) == (
        "x",
        {"ok": 1},
        "DEFAULT",
        "2026-12-07T10:00:01.500000Z",
    )
    assert span.event == "span-create"


def bad_events() -> list[tuple[Any, str, str]]:
    good = {"id": "o", "traceId": "t"}
    return [
        ({"type": "span-create", "timestamp": NOW, "body": good}, "unknown", "id: required"),
        (["not", "an", "object"], "unknown", "an event is an object"),
        (envelope("span-create", good) | {"timestamp": None}, "", "timestamp: required"),
        (envelope("span-create", good) | {"timestamp": "yesterday"}, "", "timestamp: "),
        (envelope("span-create", good) | {"timestamp": "2026-12-07 10:00"}, "", "timestamp: "),
        (
            envelope("span-create", good) | {"timestamp": "9999-12-31T23:59:59-01:00"},
            "",
            "out of range",  # found by the generated tests: it was a 500
        ),
        (envelope("span-crate", good), "", "type: expected one of"),
        (envelope("span-create", good) | {"body": "x"}, "", "body: expected an object"),
        (envelope("span-create", {"traceId": "t"}), "", "id: required"),
        (envelope("span-create", {**good, "level": "LOUD"}), "", "level: expected one of"),
        (envelope("span-create", {**good, "startTime": 12}), "", "startTime: expected a string"),
        (envelope("span-create", {**good, "id": "a\rb"}), "", "carriage return"),
        (
            envelope("span-create", {**good, "id": "x" * 801}),
            "",
            "id: expected a string of 1 to 800",
        ),
        (envelope("trace-create", {"id": "t", "tags": "a"}), "", "tags: expected an array"),
        (envelope("trace-create", {"id": "t", "environment": "langfuse-x"}), "", "environment:"),
        (
            envelope("generation-create", {**good, "modelParameters": {"a": [1]}}),
            "",
            "modelParameters: a: expected",
        ),
        (
            envelope("generation-create", {**good, "promptName": "p"}),
            "",
            "promptName and promptVersion",
        ),
        (envelope("observation-create", {"type": "TOOL"}), "", "type: expected GENERATION"),
        (envelope("score-create", {"name": "", "value": 1}), "", "body.name"),
        (envelope("sdk-log", {}), "", "body.log: required"),
    ]


def test_malformed_events_are_per_event_400s_beside_the_good_ones(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    cases = bad_events()
    good = envelope("trace-create", {"id": "t", "name": "kept"})
    response = post_batch(lf_http, standin.url("rust"), [event for event, _, _ in cases] + [good])
    assert response.status_code == 207
    body = response.json()
    assert body["successes"] == [{"id": good["id"], "status": 201}]
    assert len(body["errors"]) == len(cases)
    for error, (event, reported, words) in zip(body["errors"], cases, strict=True):
        expected_id = reported or event["id"]
        assert error["id"] == expected_id
        assert (error["status"], error["message"]) == (400, "Invalid request data")
        assert words in error["error"], (words, error)
    tree = only_tree(standin, "rust")
    assert [o.name for o in tree.observations] == ["kept"]


def test_events_outside_the_tree_and_legacy_ones(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    events = [
        envelope("score-create", {"name": "quality", "value": 0.5, "traceId": "t"}),
        envelope("sdk-log", {"log": {"message": "hello"}}),
        envelope(
            "observation-create",
            {"type": "GENERATION", "traceId": "t", "name": "legacy", "model": "m"},
        ),
        envelope("event-create", {"id": "e", "traceId": "t", "name": "tick", "endTime": LATER}),
    ]
    response = post_batch(lf_http, standin.url("rust"), events)
    assert len(response.json()["successes"]) == 4
    tree = only_tree(standin, "rust")
    legacy, tick = tree.observations
    assert (legacy.type, legacy.model, legacy.event) == ("generation", "m", "observation-create")
    assert len(legacy.id) == 36  # Langfuse mints an id when a legacy event has none
    assert (tick.type, tick.end_time) == ("event", None)  # an event has no end


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (b'{"batch": {}}', "application/json", 400, "Invalid request data"),
        (b"[]", "application/json", 400, "Invalid request data"),
        (b'{"events": []}', "application/json", 400, "Invalid request data"),
        (b'{"batch": [}', "application/json", 400, "Invalid JSON"),
        (b'{"batch": []}', "text/plain", 400, "Invalid request data"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "nested deeper"),
    ],
)
def test_a_body_that_is_not_a_batch_is_400(
    standin: LangfuseStandIn,
    lf_http: httpx.Client,
    body: bytes,
    content_type: str,
    status: int,
    words: str,
) -> None:
    response = lf_http.post(
        standin.url("rust") + INGESTION,
        content=body,
        headers={"Authorization": basic(), "Content-Type": content_type},
    )
    assert response.status_code == status
    assert words in str(response.json())


def test_the_size_limit_is_langfuses_4_5_mb(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    def sized(size: int) -> bytes:
        head = b'{"batch": [], "metadata": "'
        return head + b"x" * (size - len(head) - 2) + b'"}'

    url, headers = (
        standin.url("rust") + INGESTION,
        {"Authorization": basic(), "Content-Type": "application/json"},
    )
    assert lf_http.post(url, content=sized(MAX_BATCH_BYTES), headers=headers).status_code == 207
    response = lf_http.post(url, content=sized(MAX_BATCH_BYTES + 1), headers=headers)
    assert response.status_code == 413
    assert response.json()["errors"] == ["Body exceeded 4.5mb limit"]


def test_the_order_of_checks_is_langfuses(standin: LangfuseStandIn, lf_http: httpx.Client) -> None:
    url, wrong = (
        standin.url("rust") + INGESTION,
        {"Authorization": basic(Credentials("pk-x", "sk-x"))},
    )
    # Next.js's body parser runs before Langfuse's handler: 413 and bad JSON beat 401 ...
    too_big = b"x" * (MAX_BATCH_BYTES + 1)
    assert (
        lf_http.post(
            url, content=too_big, headers=wrong | {"Content-Type": "application/json"}
        ).status_code
        == 413
    )
    assert (
        lf_http.post(
            url, content=b"{", headers=wrong | {"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    # ... and 401 beats what only the handler checks.
    assert lf_http.post(url, json={"nope": 1}, headers=wrong).status_code == 401
    assert lf_http.post(url, json={"batch": [{"bad": 1}]}, headers=wrong).status_code == 401


def test_other_paths_and_methods(standin: LangfuseStandIn, lf_http: httpx.Client) -> None:
    url = standin.url("rust")
    assert lf_http.get(url + INGESTION).status_code == 405
    assert lf_http.get(url + INGESTION).headers["allow"] == "POST"
    assert lf_http.post(url + "/api/public/traces", json={}).status_code == 404
    assert lf_http.get(url + "/api/public/health").json()["status"] == "OK"
