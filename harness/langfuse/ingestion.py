"""Langfuse's batch ingestion API (``POST /api/public/ingestion``): a body read
as Langfuse reads it, each event checked as Langfuse checks it, and the tree
observation each valid event describes. No HTTP here (``routes`` answers).

Read from Langfuse's own source (langfuse/langfuse, 2026):

- ``web/src/pages/api/public/ingestion.ts``: Next.js parses the body first,
  with ``bodyParser.sizeLimit: "4.5mb"`` (413 beyond it); then auth (401);
  then ``{batch: unknown[], metadata?}`` or 400 ``{message: "Invalid request
  data", errors}``; then 207 with the per-event result. The public docs
  (openapi ``ingestion_batch``) state "Batch sizes are limited to 3.5 MB in
  total": advice to clients; the server refuses past 4.5 MB, as here.
- ``packages/shared/src/server/ingestion/processEventBatch.ts``: each event
  is validated on its own; a valid one is a success ``{id, status: 201}``, an
  invalid one an error ``{id, status: 400, message: "Invalid request data",
  error}`` with ``id`` the envelope's, or ``"unknown"``. Envelope ids
  deduplicate ("We use the event id within this envelope to deduplicate
  messages"): an event sent again is acknowledged again, stored once.
- ``packages/shared/src/server/ingestion/types.ts``: the envelope ``{id,
  timestamp, type, body, metadata?}`` and the body of each event type,
  checked below field by field (usage and cost details are not, being
  outside the tree).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from harness.http_server import BadBody, parse_json
from harness.langfuse.observation import LEVELS, TRACE, Transport, TreeObservation
from harness.langfuse.times import parse_iso
from harness.model import JsonValue

# Next.js reads "4.5mb" with the ``bytes`` package: 1 mb = 1024 * 1024.
MAX_BATCH_BYTES: Final = int(4.5 * 1024 * 1024)
OBSERVATION_EVENTS: Final = {
    "span-create": "span",
    "span-update": "span",
    "generation-create": "generation",
    "generation-update": "generation",
    "event-create": "event",
}
LEGACY_EVENTS: Final = ("observation-create", "observation-update")
OUTSIDE_THE_TREE: Final = ("score-create", "sdk-log")
EVENT_TYPES: Final = ("trace-create", *OBSERVATION_EVENTS, *LEGACY_EVENTS, *OUTSIDE_THE_TREE)
_ENVIRONMENT: Final = re.compile(r"(?!langfuse)[a-z0-9_-]{1,40}", re.ASCII)


class Invalid(ValueError):
    """One event that Langfuse's schema refuses; ``str`` names the field."""


@dataclass(frozen=True)
class Checked:
    """One event of a batch: its envelope id, and what it describes (None
    for an event outside the tree), or why it is refused."""

    envelope_id: str
    observation: TreeObservation | None = None
    error: str | None = None


def read_document(body: bytes, content_type: str | None) -> JsonValue:
    """The body as Next.js's parser leaves it, before any Langfuse code runs:
    413 past the size limit, 400 for a JSON body that does not parse; a body
    of another type stays a string (which is not a batch)."""
    if len(body) > MAX_BATCH_BYTES:
        raise BadBody("Body exceeded 4.5mb limit", 413)
    if "application/json" not in (content_type or "").lower():
        return body.decode("utf-8", errors="replace")
    try:
        return parse_json(body)
    except BadBody as exc:
        raise BadBody(f"Invalid JSON: {exc}") from None


def batch_of(document: JsonValue) -> list[JsonValue]:
    """The ``batch`` array of a parsed body (after auth, as in Langfuse)."""
    if not isinstance(document, dict) or not isinstance(document.get("batch"), list):
        raise BadBody("Invalid request data: expected a JSON object with a `batch` array")
    batch: list[JsonValue] = document["batch"]
    return batch


def check_event(raw: JsonValue) -> Checked:
    envelope_id = raw.get("id") if isinstance(raw, dict) else None
    reported = envelope_id if isinstance(envelope_id, str) else "unknown"
    try:
        return Checked(reported, _observation(raw))
    except Invalid as exc:
        return Checked(reported, error=str(exc))


def _observation(raw: JsonValue) -> TreeObservation | None:
    if not isinstance(raw, dict):
        raise Invalid("an event is an object {id, timestamp, type, body}")
    envelope_id = _require(raw, "id", _id)
    _require(raw, "timestamp", _time)
    kind = raw.get("type")
    if kind not in EVENT_TYPES:
        raise Invalid(f"type: expected one of {', '.join(EVENT_TYPES)}, got {kind!r}")
    body = raw.get("body")
    if not isinstance(body, dict):
        raise Invalid("body: expected an object")
    if kind in OUTSIDE_THE_TREE:
        _check_outside(kind, body)
        return None
    if kind == "trace-create":
        return _trace(envelope_id, body)
    return _observation_of(envelope_id, kind, body)


def _trace(envelope_id: str, body: dict[str, JsonValue]) -> TreeObservation:
    _check(body, _TRACE_FIELDS)
    trace_id = _optional(body, "id", _id) or str(uuid.uuid4())  # Langfuse mints one
    return TreeObservation(
        trace_id=trace_id,
        type=TRACE,
        id=trace_id,
        name=_optional(body, "name", _string),
        input=body.get("input"),
        output=body.get("output"),
        start_time=_optional(body, "timestamp", _time),
        transport=Transport.INGESTION,
        envelope_id=envelope_id,
        event="trace-create",
    )


def _observation_of(envelope_id: str, kind: str, body: dict[str, JsonValue]) -> TreeObservation:
    legacy = kind in LEGACY_EVENTS
    if legacy:
        _check(body, _LEGACY_FIELDS)
        observation_type = _require(body, "type", _legacy_type).lower()
        observation_id = _optional(body, "id", _id) or str(uuid.uuid4())
    else:
        observation_type = OBSERVATION_EVENTS[kind]
        _check(body, _GENERATION_FIELDS if observation_type == "generation" else _SPAN_FIELDS)
        if observation_type == "generation":
            _check_prompt(body)
        observation_id = _require(body, "id", _id)
    creating = kind.endswith("-create")
    return TreeObservation(
        trace_id=_optional(body, "traceId", _id),
        type=observation_type,
        id=observation_id,
        parent_id=_optional(body, "parentObservationId", _string),
        name=_optional(body, "name", _string),
        input=body.get("input"),
        output=body.get("output"),
        # Langfuse stores DEFAULT when a created observation names no level.
        level=_optional(body, "level", _level) or ("DEFAULT" if creating else None),
        model=_optional(body, "model", _string),
        model_parameters=_optional(body, "modelParameters", _model_parameters),
        status_message=_optional(body, "statusMessage", _string),
        start_time=_optional(body, "startTime", _time),
        end_time=_optional(body, "endTime", _time) if kind != "event-create" else None,
        transport=Transport.INGESTION,
        envelope_id=envelope_id,
        event=kind,
    )


def _check_outside(kind: str, body: dict[str, JsonValue]) -> None:
    if kind == "sdk-log":
        if "log" not in body:
            raise Invalid("body.log: required")
        return
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise Invalid("body.name: expected a non-empty string")
    if not isinstance(body.get("value"), str | int | float) or isinstance(body["value"], bool):
        raise Invalid("body.value: expected a number or a string")


def _check_prompt(body: dict[str, JsonValue]) -> None:
    # "ensure that either promptName and promptVersion are set, or none"
    if bool(body.get("promptName")) != bool(body.get("promptVersion")):
        raise Invalid("body: promptName and promptVersion go together")


# -- field checks: each returns the value (normalised) or raises Invalid -------------

Check = Callable[[JsonValue], JsonValue]


def _id(value: JsonValue) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 800:
        raise ValueError("expected a string of 1 to 800 characters")
    if "\r" in value:
        raise ValueError("ID cannot contain carriage return characters")
    return value


def _string(value: JsonValue) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _time(value: JsonValue) -> str:
    return parse_iso(_string(value))


def _level(value: JsonValue) -> str:
    if value not in LEVELS:
        raise ValueError(f"expected one of {', '.join(LEVELS)}")
    return str(value)


def _legacy_type(value: JsonValue) -> str:
    if value not in ("GENERATION", "SPAN", "EVENT"):
        raise ValueError("expected GENERATION, SPAN or EVENT")
    return str(value)


def _boolean(value: JsonValue) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected a boolean")
    return value


def _tags(value: JsonValue) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ValueError("expected an array of strings")
    return value


def _environment(value: JsonValue) -> str:
    if not isinstance(value, str) or not _ENVIRONMENT.fullmatch(value):
        raise ValueError("lower-case letters, digits, - and _ only, not starting with 'langfuse'")
    return value


def _model_parameters(value: JsonValue) -> dict[str, JsonValue]:
    if not isinstance(value, dict):
        raise ValueError("expected an object")
    for key, item in value.items():
        if item is None or isinstance(item, str | int | float | bool):
            continue
        if isinstance(item, list) and all(isinstance(v, str) for v in item):
            continue
        if isinstance(item, dict) and all(isinstance(v, str) for v in item.values()):
            continue
        raise ValueError(f"{key}: expected a string, number, boolean, string array or map")
    return value


def _prompt_version(value: JsonValue) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("expected an integer")
    return value


def _require(body: Mapping[str, JsonValue], name: str, check: Check) -> JsonValue:
    if body.get(name) is None:
        raise Invalid(f"{name}: required")
    return _optional(body, name, check)


def _optional(body: Mapping[str, JsonValue], name: str, check: Check) -> JsonValue:
    value = body.get(name)
    if value is None:  # zod's nullish: absent or null
        return None
    try:
        return check(value)
    except ValueError as exc:
        raise Invalid(f"{name}: {exc}") from None


def _check(body: Mapping[str, JsonValue], fields: Mapping[str, Check]) -> None:
    for name, check in fields.items():
        _optional(body, name, check)


_TRACE_FIELDS: Final[dict[str, Check]] = {
    "id": _id,
    "timestamp": _time,
    "name": _string,
    "externalId": _string,
    "sessionId": _string,
    "userId": _string,
    "release": _string,
    "version": _string,
    "public": _boolean,
    "tags": _tags,
    "environment": _environment,
}
_SPAN_FIELDS: Final[dict[str, Check]] = {
    "traceId": _id,
    "environment": _environment,
    "name": _string,
    "startTime": _time,
    "endTime": _time,
    "level": _level,
    "statusMessage": _string,
    "parentObservationId": _string,
    "version": _string,
}
_GENERATION_FIELDS: Final[dict[str, Check]] = {
    **_SPAN_FIELDS,
    "completionStartTime": _time,
    "model": _string,
    "modelParameters": _model_parameters,
    "promptName": _string,
    "promptVersion": _prompt_version,
}
_LEGACY_FIELDS: Final[dict[str, Check]] = {
    **_GENERATION_FIELDS,
    "id": _id,
}


def trace_ids(checked: list[Checked]) -> set[str]:
    return {c.observation.trace_id for c in checked if c.observation and c.observation.trace_id}


def answer_body(checked: list[Checked]) -> dict[str, JsonValue]:
    """The 207's body: every event a success or an error, by envelope id."""
    successes: list[JsonValue] = []
    errors: list[JsonValue] = []
    for event in checked:
        if event.error is None:
            successes.append({"id": event.envelope_id, "status": 201})
        else:
            errors.append(
                {
                    "id": event.envelope_id,
                    "status": 400,
                    "message": "Invalid request data",
                    "error": event.error,
                }
            )
    return {"successes": successes, "errors": errors}
