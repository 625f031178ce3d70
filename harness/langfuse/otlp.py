"""OTLP/HTTP traces on the wire (``POST /api/public/otel/v1/traces``): a body in
protobuf or JSON, gzip or not, decoded with the ``opentelemetry-proto``
package; the answer in the request's own encoding.

As Langfuse's route does it (``web/src/pages/api/public/otel/v1/traces/
index.ts``): undo gzip when ``Content-Encoding`` says so (400 "Failed to
decompress request body" otherwise), then decode by ``Content-Type``:
``application/x-protobuf`` or ``application/json``, anything else 400
"Invalid content type"; an ``x-langfuse-ingestion-version`` above 4 is 400.

OTLP/JSON is protobuf's JSON mapping but for ids: trace and span ids are hex,
not base64 (OTLP specification, "JSON Protobuf Encoding"), so they are
turned into base64 before protobuf's own parser reads the document.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Final

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from harness.http_server import Answer, BadBody, decode_content, encode_json, parse_json
from harness.model import JsonValue

PROTOBUF: Final = "application/x-protobuf"
JSON: Final = "application/json"
MAX_INGESTION_VERSION: Final = 4
_ID_FIELDS: Final = ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id")


@dataclass(frozen=True)
class OtlpRequest:
    message: ExportTraceServiceRequest
    json: bool  # answer in the encoding asked in


def decode(body: bytes, headers: dict[str, str], *, max_bytes: int) -> OtlpRequest:
    """The export request, or ``BadBody`` with Langfuse's status and words."""
    _check_version(headers.get("x-langfuse-ingestion-version"))
    try:
        raw = decode_content(body, headers.get("content-encoding"), max_bytes=max_bytes)
    except BadBody as exc:
        raise BadBody(f"Failed to decompress request body: {exc}", exc.status) from None
    content_type = (headers.get("content-type") or "").lower()
    if PROTOBUF in content_type:
        return OtlpRequest(_from_protobuf(raw), json=False)
    if JSON in content_type:
        return OtlpRequest(_from_json(raw), json=True)
    raise BadBody(f"Invalid content type {content_type or '(none)'!r}", 400)


def _check_version(version: str | None) -> None:
    if version is None:
        return
    if not version.strip().isdigit() or int(version) > MAX_INGESTION_VERSION:
        raise BadBody(
            f'Unsupported x-langfuse-ingestion-version: "{version}". '
            f'Maximum supported: "{MAX_INGESTION_VERSION}".'
        )


def _from_protobuf(raw: bytes) -> ExportTraceServiceRequest:
    message = ExportTraceServiceRequest()
    try:
        message.ParseFromString(raw)
    except (DecodeError, RecursionError) as exc:
        raise BadBody(f"Failed to parse OTel Protobuf Trace: {exc}") from None
    return message


def _from_json(raw: bytes) -> ExportTraceServiceRequest:
    try:
        document = parse_json(raw)
    except BadBody as exc:
        raise BadBody(f"Failed to parse OTel JSON Trace: {exc}") from None
    if not isinstance(document, dict):
        raise BadBody("Failed to parse OTel JSON Trace: expected an object")
    message = ExportTraceServiceRequest()
    try:
        _hex_ids_to_base64(document)
        # Receivers ignore fields they do not know (OTLP, "Forward compatibility").
        json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, AttributeError) as exc:
        raise BadBody(f"Failed to parse OTel JSON Trace: {exc}") from None
    return message


def _hex_ids_to_base64(document: dict[str, JsonValue]) -> None:
    for resource in _items(document, "resourceSpans", "resource_spans"):
        for scope in _items(resource, "scopeSpans", "scope_spans"):
            for span in _items(scope, "spans"):
                _convert_ids(span)
                for link in _items(span, "links"):
                    _convert_ids(link)


def _items(parent: JsonValue, *names: str) -> list[dict[str, JsonValue]]:
    if not isinstance(parent, dict):
        return []
    for name in names:
        value = parent.get(name)
        if isinstance(value, list):
            return [item for item in value if isinstance(item, dict)]
    return []


def _convert_ids(item: dict[str, JsonValue]) -> None:
    for name in _ID_FIELDS:
        value = item.get(name)
        if isinstance(value, str):
            try:
                item[name] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
            except ValueError:
                raise ValueError(f"{name} {value!r} is not hex") from None


def answer(request: OtlpRequest, rejected: int = 0, message: str = "") -> Answer:
    """200 with an ``ExportTraceServiceResponse`` (its ``partial_success`` when
    spans were rejected), in the request's encoding."""
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if request.json:
        return Answer(200, encode_json(json_format.MessageToDict(response)), content_type=JSON)
    return Answer(200, response.SerializeToString(), content_type=PROTOBUF)
