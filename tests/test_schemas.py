"""The JSON Schemas in schemas/ and the harness.schema_store loader."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema.exceptions
import pytest
from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable

from harness import schema_store

REPO = Path(__file__).resolve().parents[1]
SCHEMA_DIR = REPO / "schemas"
SCHEMA_FILES = sorted(SCHEMA_DIR.glob("*.json"))
BASE = "https://lakehouse-parity.dev/schemas/"

WIRE_SCHEMAS = {
    "iterate-request",
    "iterate-success",
    "iterate-failure",
    "iterate-bad-request",
    "history-attempt",
    "session-record",
    "session-attempt",
    "extract-json-answer",
    "validate-request",
    "validate-report",
    "validate-error",
    "chat-request",
    "chat-response",
    "chat-error",
    "probe-error",
    "roster-worker",
}
FIXTURE_SCHEMAS = {
    "fixture-extract-json-case",
    "fixture-session-log-rejection",
    "fixture-session-log-roundtrip",
    "fixture-validate-case",
}


def _raw(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _refs(node: object) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.append(value)
            elif key not in ("const", "enum"):
                found.extend(_refs(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_refs(item))
    return found


# --------------------------------------------------------------------------- the files


def test_store_loads_every_schema_file() -> None:
    assert schema_store.names() == sorted(p.stem for p in SCHEMA_FILES)
    assert set(schema_store.names()) >= WIRE_SCHEMAS | FIXTURE_SCHEMAS


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.stem)
def test_schema_file_is_valid_2020_12(path: Path) -> None:
    schema = _raw(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{BASE}{path.name}"
    assert isinstance(schema.get("title"), str) and schema["title"]
    assert isinstance(schema.get("description"), str) and schema["description"]
    Draft202012Validator.check_schema(schema)


def test_ids_are_unique() -> None:
    ids = [_raw(p)["$id"] for p in SCHEMA_FILES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.stem)
def test_every_ref_resolves(path: Path) -> None:
    schema = _raw(path)
    resolver = schema_store.registry().resolver(base_uri=schema["$id"])
    for ref in _refs(schema):
        assert ref.startswith(("#", BASE)), f"{path.name}: cross-file $ref by full $id: {ref}"
        resolver.lookup(ref)  # raises Unresolvable


def test_a_dangling_ref_does_not_resolve() -> None:
    resolver = schema_store.registry().resolver(base_uri=f"{BASE}session-record.json")
    with pytest.raises(Unresolvable):
        resolver.lookup(f"{BASE}no-such-schema.json")
    with pytest.raises(Unresolvable):
        resolver.lookup("#/$defs/no-such-def")


def test_check_metaschema_passes() -> None:
    schema_store.check_metaschema()


@pytest.mark.parametrize("name", sorted(WIRE_SCHEMAS))
def test_objects_with_fixed_fields_are_closed(name: str) -> None:
    schema = schema_store.load(name)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False


# --------------------------------------------------------------------------- the store


def test_validator_accepts_name_file_name_and_id() -> None:
    instance = {"error": "x"}
    for key in ("probe-error", "probe-error.json", f"{BASE}probe-error.json"):
        assert schema_store.validator(key).is_valid(instance)
        assert schema_store.schema_id(key) == f"{BASE}probe-error.json"
    assert schema_store.validator("probe-error") is schema_store.validator(
        f"{BASE}probe-error.json"
    )


def test_validator_with_fragment_targets_a_subschema() -> None:
    v = schema_store.validator(f"{BASE}validate-request.json#/$defs/fill-context")
    assert v.is_valid({"target_count": 2, "city": "Toledo", "state": "OH", "role": "Welder"})
    assert not v.is_valid({"target_count": 0, "city": "Toledo", "state": "OH", "role": "Welder"})
    short = schema_store.validator("validate-request#/$defs/playbook-artifact")
    assert short.is_valid({"title": "t", "steps": ["a"]})
    assert not short.is_valid({"title": "t", "steps": []})


def test_unknown_schema_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="no-such"):
        schema_store.validator("no-such")


def test_errors_report_json_paths() -> None:
    record = copy.deepcopy(ACCEPTED_FILL)
    record["attempts"][0]["iteration"] = -1
    record["attempts"][1]["bogus"] = 1
    record["prompt"] = 5
    found = schema_store.errors("session-record", record)
    paths = [e.path for e in found]
    assert "$.attempts[0].iteration" in paths
    assert "$.attempts[1]" in paths
    assert "$.prompt" in paths
    assert found == sorted(found, key=lambda e: (e.path, e.message))
    assert all(isinstance(e, schema_store.SchemaError) and e.message for e in found)
    assert str(found[0]).startswith(found[0].path + ": ")
    assert schema_store.errors("session-record", ACCEPTED_FILL) == []


def test_errors_quote_odd_keys() -> None:
    assert schema_store.format_path(["a", 0, "b c", "é", "_x1"]) == '$.a[0]["b c"]["é"]._x1'
    assert schema_store.format_path([]) == "$"


def test_every_failure_is_reported_once_in_path_then_message_order() -> None:
    found = schema_store.errors("chat-request", {"messages": 5})
    assert found == [
        schema_store.SchemaError("$", f"'{key}' is a required property")
        for key in ("max_tokens", "model", "provider", "temperature")
    ] + [schema_store.SchemaError("$.messages", "5 is not of type 'array'")]


def test_integer_follows_the_contract_number_model() -> None:
    v = schema_store.validator("session-attempt")
    assert v.is_valid({"iteration": 1, "verdict_kind": "no_json"})
    assert not v.is_valid({"iteration": 1.0, "verdict_kind": "no_json"})
    assert not v.is_valid({"iteration": True, "verdict_kind": "no_json"})


def test_pattern_dollar_is_end_of_string() -> None:
    v = schema_store.validator("iterate-failure")
    good = copy.deepcopy(ITERATE_FAILURE)
    assert v.is_valid(good)
    good["error"] += "\n"  # Python's re would let $ match before this newline
    assert not v.is_valid(good)


def test_regex_translation() -> None:
    assert schema_store._ecma_regex(r"^a$").pattern == r"^a\Z"
    assert schema_store._ecma_regex(r"[$]\$x").pattern == r"[$]\$x"
    assert schema_store._ecma_regex(r"\d[^\d]").pattern == "[0-9][^0-9]"
    assert not schema_store._ecma_regex(r"^\d$").search("٣")  # Arabic-Indic digit three


@pytest.fixture
def fresh_store() -> Iterator[None]:
    schema_store.reload()
    yield
    schema_store.reload()  # the patches are undone by now: the real store again


def test_the_installed_package_holds_the_checkout_schemas(fresh_store: None) -> None:
    packaged = schema_store._package_files()
    assert packaged is not None, "harness.schemas is not installed (pip install -e .)"
    assert schema_store._store().source == "harness.schemas"
    texts = {name: entry.read_text(encoding="utf-8") for name, entry in packaged}
    assert texts == {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_FILES}


def test_without_the_package_the_checkout_folder_is_read(
    fresh_store: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema_store, "_package_files", lambda: None)
    schema_store.reload()
    assert schema_store._store().source == str(SCHEMA_DIR)
    assert schema_store.names() == sorted(p.stem for p in SCHEMA_FILES)
    assert not schema_store.validator("probe-error").is_valid({})


def test_without_package_or_folder_there_are_no_schemas(
    fresh_store: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(schema_store, "_package_files", lambda: None)
    monkeypatch.setattr(schema_store, "_CHECKOUT_DIR", tmp_path / "missing")
    schema_store.reload()
    with pytest.raises(schema_store.SchemaStoreError, match="no schemas"):
        schema_store.names()


def test_reload_clears_caches() -> None:
    before = schema_store.validator("probe-error")
    schema_store.reload()
    after = schema_store.validator("probe-error")
    assert before is not after
    assert schema_store.names() == sorted(p.stem for p in SCHEMA_FILES)


# --------------------------------------------------------------------------- instances

ACCEPTED_FILL: dict[str, Any] = {
    "schema": "session.iterate.v1",
    "session_id": "t-1",
    "timestamp": "2026-05-02T10:24:41.5Z",
    "daemon": "gateway",
    "kind": "fill",
    "model": "m",
    "provider": "p",
    "prompt": "Fill 1 Welder in Toledo",
    "iterations": 2,
    "max_iterations": 3,
    "final_verdict": "accepted",
    "attempts": [
        {"iteration": 0, "verdict_kind": "validation_failed", "error": "{}", "span_id": "s"},
        {"iteration": 1, "verdict_kind": "accepted"},
    ],
    "artifact": {"fills": [{"candidate_id": "W-2"}]},
    "grounded_in_roster": True,
    "duration_ms": 18446744073709551615,
}
EXHAUSTED: dict[str, Any] = {
    **{k: v for k, v in ACCEPTED_FILL.items() if k not in ("artifact", "grounded_in_roster")},
    "final_verdict": "max_iter_exhausted",
    "iterations": 2,
    "max_iterations": 2,
    "attempts": [
        {"iteration": 0, "verdict_kind": "no_json"},
        {"iteration": 1, "verdict_kind": "validation_failed", "error": "x"},
    ],
}
INFRA: dict[str, Any] = {
    **EXHAUSTED,
    "final_verdict": "infra_error",
    "iterations": 0,
    "timestamp": "2026-05-02T10:24:41+00:00",
    "attempts": [
        {"iteration": 0, "verdict_kind": "infra_error", "error": "/v1/chat hop failed at iter 2: x"}
    ],
}
ACCEPTED_EMAIL: dict[str, Any] = {
    **{k: v for k, v in ACCEPTED_FILL.items() if k != "grounded_in_roster"},
    "kind": "email",
}
HISTORY_OK = [
    {"iteration": 0, "raw": "nothing", "status": {"kind": "no_json"}},
    {"iteration": 1, "raw": "{}", "status": {"kind": "validation_failed", "error": "{}"}},
    {"iteration": 2, "raw": "{...}", "status": {"kind": "accepted"}},
]
ITERATE_SUCCESS: dict[str, Any] = {
    "artifact": {"fills": [{"candidate_id": "W-2"}]},
    "validation": {"kind": "fill", "valid": True, "checked": 1},
    "iterations": 3,
    "history": HISTORY_OK,
    "trace_id": "abc_DEF-123",
}
ITERATE_FAILURE: dict[str, Any] = {
    "error": "max iterations reached (2) without passing validation",
    "iterations": 2,
    "history": HISTORY_OK[:2],
    "trace_id": "rust-fix1-test",
}

CHAT_REQUEST: dict[str, Any] = {
    "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
    "provider": "p",
    "model": "m",
    "temperature": 0.2,
    "max_tokens": 4096,
}
CHAT_RESPONSE: dict[str, Any] = {
    "choices": [{"index": 0, "message": {"role": "assistant", "content": ""}}]
}
ROSTER_WORKER: dict[str, Any] = {
    "candidate_id": "W-1",
    "name": "n",
    "city": "c",
    "state": "s",
    "role": "r",
    "available": False,
}

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: object) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return apply


def _del(path: str) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return apply


VALID: list[tuple[str, object]] = [
    ("session-record", ACCEPTED_FILL),
    ("session-record", EXHAUSTED),
    ("session-record", INFRA),
    ("session-record", ACCEPTED_EMAIL),
    ("session-record", {**ACCEPTED_FILL, "grounded_in_roster": False}),
    ("session-record", {**EXHAUSTED, "attempts": [{"iteration": 0, "verdict_kind": "no_json"}]}),
    (
        "session-record",
        {
            **INFRA,
            "attempts": [
                {**INFRA["attempts"][0], "error": "/v1/chat hop failed at iter 0: " + "x" * 769}
            ],
        },
    ),
    ("session-record", {**ACCEPTED_EMAIL, "prompt": "é" * 4000, "duration_ms": 0}),
    ("session-attempt", {"iteration": 4294967295, "verdict_kind": "accepted", "span_id": "x"}),
    ("history-attempt", {"iteration": 0, "raw": "😀" * 2000, "status": {"kind": "no_json"}}),
    ("iterate-success", ITERATE_SUCCESS),
    ("iterate-success", {**ITERATE_SUCCESS, "history": HISTORY_OK[2:], "iterations": 1}),
    ("iterate-failure", ITERATE_FAILURE),
    ("iterate-request", {"kind": "fill", "prompt": "p", "provider": "x", "model": "m"}),
    (
        "iterate-request",
        {
            "kind": "email",
            "prompt": "p",
            "provider": "x",
            "model": "m",
            "system": None,
            "context": {"candidate_id": "W-3"},
            "max_iterations": 0,
            "temperature": 0.2,
            "max_tokens": 4096,
        },
    ),
    ("iterate-bad-request", {"error": "kind: missing"}),
    ("extract-json-answer", {"matched": True, "value": {}}),
    ("extract-json-answer", {"matched": False, "value": None}),
    ("validate-request", {"kind": "fill", "artifact": {"fills": []}, "context": None}),
    ("validate-request", {"kind": "playbook"}),
    ("validate-report", {"kind": "fill", "valid": True, "checked": 12}),
    ("validate-report", {"kind": "email", "valid": True, "checked": 1}),
    ("validate-report", {"kind": "playbook", "valid": True, "checked": 20}),
    ("validate-error", {"kind": "schema", "path": "$", "message": "$: expected object"}),
    (
        "validate-error",
        {
            "kind": "schema",
            "path": "artifact.steps[3]",
            "message": "artifact.steps[3]: expected non-empty string",
        },
    ),
    (
        "validate-error",
        {"kind": "count", "path": "artifact.fills", "message": "expected 2 fills, got 0"},
    ),
    (
        "validate-error",
        {
            "kind": "duplicate",
            "path": "artifact.fills[1].candidate_id",
            "message": "candidate 'W-2' appears more than once",
        },
    ),
    (
        "validate-error",
        {
            "kind": "phantom",
            "path": "artifact.candidate_id",
            "message": "candidate 'W-99' is not in the roster",
        },
    ),
    (
        "validate-error",
        {
            "kind": "consistency",
            "path": "artifact.fills[0].candidate_id",
            "message": "city 'Louisville' doesn't match contract city 'Toledo'",
        },
    ),
    (
        "validate-error",
        {
            "kind": "unavailable",
            "path": "artifact.fills[10].candidate_id",
            "message": "candidate 'W-5' is not available",
        },
    ),
    ("chat-request", CHAT_REQUEST),
    ("chat-response", CHAT_RESPONSE),
    ("chat-error", {"error": "upstream 500"}),
    ("probe-error", {"error": "missing field `schema`"}),
    ("roster-worker", ROSTER_WORKER),
]

INVALID: list[tuple[str, str, object]] = []


def _bad(name: str, why: str, base: dict[str, Any], *mutations: Mutation) -> None:
    doc = copy.deepcopy(base)
    for mutate in mutations:
        mutate(doc)
    INVALID.append((name, why, doc))


# session-record
_bad("session-record", "extra property", ACCEPTED_FILL, _set("trace_id", "x"))
_bad("session-record", "extra attempt property", ACCEPTED_FILL, _set("attempts.1.raw", "x"))
_bad("session-record", "wrong schema const", ACCEPTED_FILL, _set("schema", "session.iterate.v2"))
_bad("session-record", "unknown verdict", ACCEPTED_FILL, _set("final_verdict", "rejected"))
_bad(
    "session-record", "unknown verdict_kind", ACCEPTED_FILL, _set("attempts.0.verdict_kind", "oops")
)
_bad("session-record", "unknown daemon", ACCEPTED_FILL, _set("daemon", "python"))
_bad("session-record", "unknown kind", ACCEPTED_FILL, _set("kind", "memo"))
_bad("session-record", "artifact on exhausted row", EXHAUSTED, _set("artifact", {}))
_bad("session-record", "artifact on infra row", INFRA, _set("artifact", {}))
_bad("session-record", "accepted without artifact", ACCEPTED_FILL, _del("artifact"))
_bad("session-record", "artifact not an object", ACCEPTED_FILL, _set("artifact", [1]))
_bad("session-record", "null artifact", ACCEPTED_FILL, _set("artifact", None))
_bad("session-record", "grounded on exhausted row", EXHAUSTED, _set("grounded_in_roster", True))
_bad(
    "session-record", "grounded on accepted email", ACCEPTED_EMAIL, _set("grounded_in_roster", True)
)
_bad("session-record", "accepted fill without grounded", ACCEPTED_FILL, _del("grounded_in_roster"))
_bad("session-record", "null grounded", ACCEPTED_FILL, _set("grounded_in_roster", None))
_bad("session-record", "attempts missing", ACCEPTED_FILL, _del("attempts"))
_bad("session-record", "attempts null", EXHAUSTED, _set("attempts", None))
_bad(
    "session-record",
    "accepted with no accepted attempt",
    ACCEPTED_FILL,
    _set("attempts.1.verdict_kind", "no_json"),
)
_bad(
    "session-record",
    "accepted with two accepted attempts",
    ACCEPTED_FILL,
    _set("attempts.0", {"iteration": 0, "verdict_kind": "accepted"}),
)
_bad("session-record", "accepted with no attempts", ACCEPTED_FILL, _set("attempts", []))
_bad(
    "session-record",
    "exhausted with accepted attempt",
    EXHAUSTED,
    _set("attempts.0.verdict_kind", "accepted"),
)
_bad("session-record", "exhausted with no attempts", EXHAUSTED, _set("attempts", []))
_bad("session-record", "exhausted with 0 iterations", EXHAUSTED, _set("iterations", 0))
_bad(
    "session-record",
    "infra_error attempt outside infra row",
    EXHAUSTED,
    _set("attempts.0", INFRA["attempts"][0]),
)
_bad("session-record", "infra row with iterations 1", INFRA, _set("iterations", 1))
_bad(
    "session-record", "infra row with two attempts", INFRA, _set("attempts", INFRA["attempts"] * 2)
)
_bad("session-record", "infra row with no attempts", INFRA, _set("attempts", []))
_bad("session-record", "infra attempt iteration 1", INFRA, _set("attempts.0.iteration", 1))
_bad(
    "session-record",
    "infra attempt wrong verdict",
    INFRA,
    _set("attempts.0.verdict_kind", "validation_failed"),
)
_bad("session-record", "infra attempt without error", INFRA, _del("attempts.0.error"))
_bad(
    "session-record",
    "infra error over 800 characters",
    INFRA,
    _set("attempts.0.error", "/v1/chat hop failed at iter 0: " + "x" * 770),
)
_bad(
    "session-record",
    "infra error not the 502 body",
    INFRA,
    _set("attempts.0.error", "client build: x"),
)
_bad("session-record", "prompt over 4000 characters", ACCEPTED_FILL, _set("prompt", "é" * 4001))
_bad("session-record", "iterations float", ACCEPTED_FILL, _set("iterations", 2.0))
_bad("session-record", "iterations negative", ACCEPTED_FILL, _set("iterations", -1))
_bad("session-record", "iterations above u32", ACCEPTED_FILL, _set("iterations", 4294967296))
_bad("session-record", "max_iterations zero", ACCEPTED_FILL, _set("max_iterations", 0))
_bad(
    "session-record", "duration above u64", ACCEPTED_FILL, _set("duration_ms", 18446744073709551616)
)
_bad("session-record", "duration float", ACCEPTED_FILL, _set("duration_ms", 1.5))
_bad(
    "session-record",
    "timestamp not UTC",
    ACCEPTED_FILL,
    _set("timestamp", "2026-05-02T10:24:41+02:00"),
)
_bad(
    "session-record",
    "timestamp not RFC 3339",
    ACCEPTED_FILL,
    _set("timestamp", "2026-05-02 10:24:41"),
)
_bad("session-record", "empty session id", ACCEPTED_FILL, _set("session_id", ""))
_bad("session-record", "null optional error", EXHAUSTED, _set("attempts.0.error", None))
_bad("session-record", "error on no_json attempt", EXHAUSTED, _set("attempts.0.error", "x"))
_bad("session-record", "validation_failed without error", EXHAUSTED, _del("attempts.1.error"))
_bad("session-record", "empty span id", ACCEPTED_FILL, _set("attempts.0.span_id", ""))
for _field in (
    "schema",
    "session_id",
    "timestamp",
    "daemon",
    "kind",
    "model",
    "provider",
    "prompt",
    "iterations",
    "max_iterations",
    "final_verdict",
    "duration_ms",
):
    _bad("session-record", f"{_field} missing", EXHAUSTED, _del(_field))
# history / iterate bodies
_bad("history-attempt", "raw over 2000 characters", HISTORY_OK[0], _set("raw", "x" * 2001))
_bad(
    "history-attempt", "unknown status kind", HISTORY_OK[0], _set("status", {"kind": "infra_error"})
)
_bad(
    "history-attempt",
    "error on no_json status",
    HISTORY_OK[0],
    _set("status", {"kind": "no_json", "error": "x"}),
)
_bad(
    "history-attempt",
    "validation_failed without error",
    HISTORY_OK[1],
    _set("status", {"kind": "validation_failed"}),
)
_bad(
    "history-attempt",
    "error as an object",
    HISTORY_OK[1],
    _set("status", {"kind": "validation_failed", "error": {"kind": "schema"}}),
)
_bad("history-attempt", "extra property", HISTORY_OK[0], _set("span_id", "x"))
_bad("iterate-success", "missing trace_id", ITERATE_SUCCESS, _del("trace_id"))
_bad("iterate-success", "empty trace_id", ITERATE_SUCCESS, _set("trace_id", ""))
_bad("iterate-success", "no accepted entry", ITERATE_SUCCESS, _set("history", HISTORY_OK[:2]))
_bad(
    "iterate-success", "two accepted entries", ITERATE_SUCCESS, _set("history", HISTORY_OK[2:] * 2)
)
_bad("iterate-success", "iterations zero", ITERATE_SUCCESS, _set("iterations", 0))
_bad("iterate-success", "artifact not an object", ITERATE_SUCCESS, _set("artifact", [1]))
_bad(
    "iterate-success",
    "validation is not a report",
    ITERATE_SUCCESS,
    _set("validation", {"kind": "fill", "valid": False, "checked": 1}),
)
_bad("iterate-success", "extra property", ITERATE_SUCCESS, _set("error", "x"))
_bad("iterate-failure", "accepted entry", ITERATE_FAILURE, _set("history", HISTORY_OK))
_bad(
    "iterate-failure", "wrong message", ITERATE_FAILURE, _set("error", "max iterations reached (2)")
)
_bad("iterate-failure", "missing trace_id", ITERATE_FAILURE, _del("trace_id"))
_bad("iterate-failure", "empty history", ITERATE_FAILURE, _set("history", []))
_bad("iterate-failure", "artifact present", ITERATE_FAILURE, _set("artifact", {}))
# requests
_IR = {"kind": "fill", "prompt": "p", "provider": "x", "model": "m"}
_bad("iterate-request", "unknown kind", _IR, _set("kind", "memo"))
_bad("iterate-request", "prompt missing", _IR, _del("prompt"))
_bad("iterate-request", "model not a string", _IR, _set("model", 1))
_bad("iterate-request", "max_iterations float", _IR, _set("max_iterations", 3.0))
_bad("iterate-request", "max_tokens negative", _IR, _set("max_tokens", -1))
_bad("iterate-request", "extra property", _IR, _set("trace_id", "x"))
_bad("iterate-bad-request", "extra property", {"error": "x"}, _set("status", 400))
_bad("iterate-bad-request", "error not a string", {"error": "x"}, _set("error", None))
_bad("chat-request", "missing temperature", CHAT_REQUEST, _del("temperature"))
_bad("chat-request", "unknown role", CHAT_REQUEST, _set("messages.0.role", "tool"))
_bad("chat-request", "no messages", CHAT_REQUEST, _set("messages", []))
_bad("chat-response", "null content", CHAT_RESPONSE, _set("choices.0.message.content", None))
_bad("chat-response", "no choices", CHAT_RESPONSE, _set("choices", []))
_bad("chat-response", "wrong role", CHAT_RESPONSE, _set("choices.0.message.role", "user"))
# extract / validate
_bad(
    "extract-json-answer",
    "matched with null value",
    {"matched": True, "value": {}},
    _set("value", None),
)
_bad(
    "extract-json-answer",
    "unmatched with a value",
    {"matched": False, "value": None},
    _set("value", {}),
)
_bad("extract-json-answer", "array value", {"matched": True, "value": {}}, _set("value", [1]))
_bad("extract-json-answer", "value missing", {"matched": False, "value": None}, _del("value"))
_bad("extract-json-answer", "extra property", {"matched": False, "value": None}, _set("error", "x"))
_VR = {"kind": "fill", "valid": True, "checked": 1}
_bad("validate-report", "valid false", _VR, _set("valid", False))
_bad("validate-report", "unknown kind", _VR, _set("kind", "memo"))
_bad("validate-report", "checked zero", _VR, _set("checked", 0))
_bad("validate-report", "email checked 2", _VR, _set("kind", "email"), _set("checked", 2))
_bad("validate-report", "playbook checked 21", _VR, _set("kind", "playbook"), _set("checked", 21))
_bad("validate-report", "extra property", _VR, _set("message", "ok"))
_VE = {"kind": "schema", "path": "$", "message": "$: expected object"}
_bad("validate-error", "unknown error kind", _VE, _set("kind", "type"))
_bad("validate-error", "extra property", _VE, _set("status", 422))
_bad("validate-error", "message missing", _VE, _del("message"))
_bad("validate-error", "unknown schema path", _VE, _set("path", "artifact.foo"))
_bad("validate-error", "unknown schema what", _VE, _set("message", "$: expected a JSON object"))
_bad(
    "validate-error",
    "count on wrong path",
    _VE,
    _set("kind", "count"),
    _set("message", "expected 2 fills, got 1"),
)
_bad(
    "validate-error",
    "duplicate at index 0",
    _VE,
    _set("kind", "duplicate"),
    _set("path", "artifact.fills[0].candidate_id"),
    _set("message", "candidate 'W-2' appears more than once"),
)
_bad(
    "validate-error",
    "phantom message",
    _VE,
    _set("kind", "phantom"),
    _set("path", "artifact.candidate_id"),
    _set("message", "unknown candidate W-9"),
)
_bad(
    "validate-error",
    "consistency unknown field",
    _VE,
    _set("kind", "consistency"),
    _set("path", "artifact.candidate_id"),
    _set("message", "zip '1' doesn't match contract zip '2'"),
)
_bad(
    "validate-error",
    "unavailable on email path",
    _VE,
    _set("kind", "unavailable"),
    _set("path", "artifact.candidate_id"),
    _set("message", "candidate 'W-5' is not available"),
)
_bad("validate-request", "unknown kind", {"kind": "fill"}, _set("kind", "memo"))
_bad("validate-request", "kind missing", {"kind": "fill"}, _del("kind"))
_bad("validate-request", "extra property", {"kind": "fill"}, _set("trace", "x"))
_RW = ROSTER_WORKER
_bad("roster-worker", "available as string", _RW, _set("available", "true"))
_bad("roster-worker", "city missing", _RW, _del("city"))
_bad("roster-worker", "extra property", _RW, _set("zip", "43601"))
_bad("probe-error", "extra property", {"error": "x"}, _set("matched", False))


@pytest.mark.parametrize(
    ("name", "instance"), VALID, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VALID)]
)
def test_valid_instances(name: str, instance: object) -> None:
    assert schema_store.errors(name, instance) == []


@pytest.mark.parametrize(
    ("name", "why", "instance"), INVALID, ids=[f"{n}:{w}" for n, w, _ in INVALID]
)
def test_invalid_instances(name: str, why: str, instance: object) -> None:
    assert schema_store.errors(name, instance), f"{name} accepted an instance with: {why}"


def test_validator_raises_validation_error() -> None:
    with pytest.raises(jsonschema.exceptions.ValidationError):
        schema_store.validator("validate-error").validate(
            {"kind": "x", "path": "$", "message": "m"}
        )


def test_schema_checks_pass_subschema() -> None:
    target = "validate-request#/$defs/schema-checks-pass"
    ok_fill: dict[str, Any] = {
        "kind": "fill",
        "artifact": {"fills": [{"candidate_id": "W-99", "extra": 1}]},
        "context": {"target_count": 3, "city": " ", "state": "OH", "role": "Welder", "x": 1},
    }
    assert schema_store.errors(target, ok_fill) == []
    assert schema_store.errors(
        target, {**ok_fill, "context": {**ok_fill["context"], "target_count": 1.0}}
    )
    assert schema_store.errors(target, {**ok_fill, "artifact": {"fills": [{"candidate_id": ""}]}})
    email: dict[str, Any] = {
        "kind": "email",
        "artifact": {"candidate_id": "W-1", "subject": "😀" * 200, "body": " "},
        "context": {"candidate_id": "W-2"},
    }
    assert schema_store.errors(target, email) == []
    assert schema_store.errors(
        target, {**email, "artifact": {**email["artifact"], "subject": "😀" * 201}}
    )
    assert (
        schema_store.errors(
            target, {"kind": "playbook", "artifact": {"title": "t", "steps": ["a"] * 20}}
        )
        == []
    )
    assert schema_store.errors(
        target, {"kind": "playbook", "artifact": {"title": "t", "steps": ["a"] * 21}}
    )
    assert schema_store.errors(target, {"kind": "playbook"})
    assert schema_store.errors(target, [])


# --------------------------------------------------------------------------- infer

INFER: list[tuple[object, str | None]] = [
    (ACCEPTED_FILL, "session-record"),
    ({"schema": "session.iterate.v1"}, "session-record"),
    ({"matched": False, "value": None}, "extract-json-answer"),
    ({"kind": "schema", "path": "$", "message": "m"}, "validate-error"),
    ({"kind": "fill", "valid": True, "checked": 1}, "validate-report"),
    (ITERATE_SUCCESS, "iterate-success"),
    (ITERATE_FAILURE, "iterate-failure"),
    (HISTORY_OK[0], "history-attempt"),
    ({"iteration": 0, "verdict_kind": "no_json"}, "session-attempt"),
    (ROSTER_WORKER, "roster-worker"),
    (CHAT_RESPONSE, "chat-response"),
    (CHAT_REQUEST, "chat-request"),
    ({"kind": "fill", "prompt": "p", "provider": "x", "model": "m"}, "iterate-request"),
    ({"kind": "fill", "artifact": {}, "context": None}, "validate-request"),
    ({"error": "x"}, "iterate-bad-request"),
    (
        {"name": "n", "raw": "", "expected": {"matched": False, "value": None}},
        "fixture-extract-json-case",
    ),
    ({"name": "n", "record_text": "{}", "why": "w"}, "fixture-session-log-rejection"),
    ({"name": "n", "record_text": "{}", "expected_text": "{}"}, "fixture-session-log-roundtrip"),
    (
        {"name": "n", "request_text": "", "expected_status": 422, "expected_body": {}},
        "fixture-validate-case",
    ),
    ({"unrelated": 1}, None),
    ([1, 2], None),
    ("text", None),
    (None, None),
]


@pytest.mark.parametrize(("instance", "expected"), INFER, ids=[str(e) for _, e in INFER])
def test_infer(instance: object, expected: str | None) -> None:
    assert schema_store.infer(instance) == expected


@pytest.mark.parametrize(
    ("name", "instance"), VALID, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VALID)]
)
def test_infer_names_the_schema_of_every_valid_instance(name: str, instance: object) -> None:
    guess = schema_store.infer(instance)
    if name in ("chat-error", "probe-error"):
        # {"error": ...} alone: the three error shapes are identical.
        assert guess == "iterate-bad-request"
        assert schema_store.errors(guess, instance) == []
    else:
        assert guess == name
