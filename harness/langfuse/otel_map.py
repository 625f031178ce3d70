"""OpenTelemetry spans to tree observations, by the attributes Langfuse documents.

Langfuse's property mapping (langfuse-docs ``pages/integrations/native/
opentelemetry.mdx``, "Property Mapping": the ``langfuse.*`` attributes "always
take precedence over the generic OpenTelemetry conventions") as its server
carries it out (langfuse/langfuse ``packages/shared/src/server/otel/``:
``attributes.ts`` for the names, ``OtelIngestionProcessor.ts`` for the rules,
``ObservationTypeMapper.ts`` for the types):

- a span is a **trace's root** when it has no parent span, or carries
  ``langfuse.internal.as_root`` (the published SDK sets it, with a remote
  parent that only carries an external trace id): it also describes the trace,
  named ``langfuse.trace.name`` or the span's name, with ``langfuse.trace.input``
  / ``.output`` or else the span's own input and output. Here its parent is
  none: the remote parent is not an observation. A non-root span that carries
  ``langfuse.trace.*`` (or ``user.id``, ``session.id``) updates the trace;
- **type**: ``langfuse.observation.type``, else ``openinference.span.kind``,
  else ``gen_ai.operation.name``, else a ``gen_ai.tool.*`` span is a tool,
  else one that names a model is a generation, else a span;
- **input/output**: ``langfuse.observation.input`` / ``.output``, else the
  ``gen_ai.*.message`` and ``gen_ai.choice`` span events, else ``input.value``
  / ``output.value``, else ``gen_ai.prompt.*`` / ``gen_ai.completion.*``, else
  ``gen_ai.input.messages`` / ``gen_ai.output.messages``, else
  ``gen_ai.tool.call.arguments`` / ``.result``. A string that is JSON is read
  as JSON (Langfuse shows it so; the SDK sends every value JSON-encoded, a
  plain string as it is);
- **level**: ``langfuse.observation.level``, else ERROR for a span whose
  status is ERROR, else DEFAULT; **status_message**:
  ``langfuse.observation.status_message``, else the status's message;
- **model**: ``langfuse.observation.model.name``, else ``gen_ai.response.model``,
  ``ai.model.id``, ``gen_ai.request.model``, ``llm.response.model``,
  ``llm.model_name``, ``model``; **model_parameters**:
  ``langfuse.observation.model.parameters`` (JSON), else
  ``llm.invocation_parameters`` / ``model_config`` (JSON), else every
  ``gen_ai.request.*`` but the model; values other than strings and numbers
  become JSON text, as Langfuse stores them; none at all is None;
- **name**: ``gen_ai.tool.name``, else the span's name.

Left out: the mappings Langfuse keeps for particular frameworks (the Vercel AI
SDK's ``ai.*``, Logfire, LiveKit, MLflow, Traceloop, Vertex ADK, Pydantic AI,
Semantic Kernel's legacy events), which no runtime here speaks.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from harness.http_server import BadBody, parse_json
from harness.langfuse.observation import TRACE, Transport, TreeObservation
from harness.langfuse.times import from_unix_nanos
from harness.model import JsonValue

Attributes = dict[str, JsonValue]

TRACE_NAME: Final = "langfuse.trace.name"
TRACE_INPUT: Final = "langfuse.trace.input"
TRACE_OUTPUT: Final = "langfuse.trace.output"
OBSERVATION_TYPE: Final = "langfuse.observation.type"
OBSERVATION_INPUT: Final = "langfuse.observation.input"
OBSERVATION_OUTPUT: Final = "langfuse.observation.output"
OBSERVATION_LEVEL: Final = "langfuse.observation.level"
OBSERVATION_STATUS_MESSAGE: Final = "langfuse.observation.status_message"
OBSERVATION_MODEL: Final = "langfuse.observation.model.name"
OBSERVATION_MODEL_PARAMETERS: Final = "langfuse.observation.model.parameters"
AS_ROOT: Final = "langfuse.internal.as_root"

_TRACE_UPDATE_KEYS: Final = (
    TRACE_NAME,
    TRACE_INPUT,
    TRACE_OUTPUT,
    "langfuse.trace.metadata",
    "langfuse.trace.public",
    "langfuse.trace.tags",
    "user.id",
    "session.id",
    "langfuse.user.id",
    "langfuse.session.id",
)
_TYPES: Final = (
    "span",
    "generation",
    "event",
    "embedding",
    "agent",
    "tool",
    "chain",
    "retriever",
    "guardrail",
    "evaluator",
)
_OPENINFERENCE_KINDS: Final = {
    "CHAIN": "chain",
    "RETRIEVER": "retriever",
    "LLM": "generation",
    "EMBEDDING": "embedding",
    "AGENT": "agent",
    "TOOL": "tool",
    "GUARDRAIL": "guardrail",
    "EVALUATOR": "evaluator",
}
_GEN_AI_OPERATIONS: Final = {
    "chat": "generation",
    "completion": "generation",
    "text_completion": "generation",
    "generate_content": "generation",
    "generate": "generation",
    "embeddings": "embedding",
    "invoke_agent": "agent",
    "create_agent": "agent",
    "execute_tool": "tool",
}
_MODEL_TYPE_KEYS: Final = (
    OBSERVATION_MODEL,
    "gen_ai.request.model",
    "gen_ai.response.model",
    "llm.model_name",
    "model",
)
_MODEL_NAME_KEYS: Final = (
    OBSERVATION_MODEL,
    "gen_ai.response.model",
    "ai.model.id",
    "gen_ai.request.model",
    "llm.response.model",
    "llm.model_name",
    "model",
)
_INPUT_EVENTS: Final = (
    "gen_ai.system.message",
    "gen_ai.user.message",
    "gen_ai.assistant.message",
    "gen_ai.tool.message",
)
_INDEXED: Final = re.compile(r"\d+\.")


@dataclass(frozen=True)
class Mapped:
    """What one export request describes; ``rejected`` spans had unusable ids."""

    observations: list[TreeObservation]
    rejected: int = 0
    message: str = ""


def trace_ids(request: ExportTraceServiceRequest) -> set[str]:
    return {span.trace_id.hex() for span in spans(request) if len(span.trace_id) == 16}


def spans(request: ExportTraceServiceRequest) -> Iterable[Span]:
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            yield from scope_spans.spans


def observations(request: ExportTraceServiceRequest) -> Mapped:
    found: list[TreeObservation] = []
    rejected = 0
    for span in spans(request):
        if _ids_usable(span):
            found.extend(_span(span))
        else:
            rejected += 1
    message = f"{rejected} span(s) with an invalid trace or span id" if rejected else ""
    return Mapped(found, rejected, message)


def _ids_usable(span: Span) -> bool:
    # OTLP: 16-byte trace ids and 8-byte span ids, all zeros being invalid.
    return (
        len(span.trace_id) == 16
        and any(span.trace_id)
        and len(span.span_id) == 8
        and any(span.span_id)
        and len(span.parent_span_id) in (0, 8)
    )


def _span(span: Span) -> list[TreeObservation]:
    attrs = attributes(span.attributes)
    trace_id = span.trace_id.hex()
    parent = span.parent_span_id.hex() if any(span.parent_span_id) else None
    root = parent is None or attrs.get(AS_ROOT) in (True, "true")
    start = from_unix_nanos(span.start_time_unix_nano)
    mapped: list[TreeObservation] = []
    if root or any(_truthy(attrs.get(key)) for key in _TRACE_UPDATE_KEYS):
        mapped.append(_trace(span, attrs, trace_id, start, root=root))
    observation_input, observation_output = _input_output(span, attrs)
    mapped.append(
        TreeObservation(
            trace_id=trace_id,
            type=_observation_type(attrs),
            id=span.span_id.hex(),
            parent_id=None if root else parent,
            name=_name(span, attrs),
            input=observation_input,
            output=observation_output,
            level=_level(span, attrs),
            model=_model(attrs),
            model_parameters=_model_parameters(attrs),
            status_message=_status_message(span, attrs),
            start_time=start,
            end_time=from_unix_nanos(span.end_time_unix_nano),
            transport=Transport.OTEL,
            event="otel-span",
        )
    )
    return mapped


def _trace(
    span: Span, attrs: Attributes, trace_id: str, start: str | None, *, root: bool
) -> TreeObservation:
    if root:
        observation_input, observation_output = _input_output(span, attrs)
        name: str | None = _text(attrs.get(TRACE_NAME)) or _name(span, attrs)
        trace_input = _value(attrs[TRACE_INPUT]) if _truthy(attrs.get(TRACE_INPUT)) else None
        trace_output = _value(attrs[TRACE_OUTPUT]) if _truthy(attrs.get(TRACE_OUTPUT)) else None
        trace_input = trace_input if trace_input is not None else observation_input
        trace_output = trace_output if trace_output is not None else observation_output
    else:
        name = _text(attrs.get(TRACE_NAME))
        trace_input = _value(attrs.get(TRACE_INPUT))
        trace_output = _value(attrs.get(TRACE_OUTPUT))
    return TreeObservation(
        trace_id=trace_id,
        type=TRACE,
        id=trace_id,
        name=name,
        input=trace_input,
        output=trace_output,
        start_time=start if root else None,
        transport=Transport.OTEL,
        event="otel-span",
    )


# -- attribute values ----------------------------------------------------------------


def attributes(pairs: Iterable[KeyValue]) -> Attributes:
    return {pair.key: any_value(pair.value) for pair in pairs}


def any_value(value: AnyValue) -> JsonValue:
    """An OTLP ``AnyValue`` as JSON (its nesting is bounded by protobuf's own
    recursion limit when it was decoded)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        number = value.double_value
        return number if math.isfinite(number) else None  # JSON has no NaN
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None


def _truthy(value: JsonValue) -> bool:
    """JavaScript's truthiness, which Langfuse's fallbacks go by."""
    return value is not None and value != "" and value is not False and value != 0


def _text(value: JsonValue) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _value(value: JsonValue) -> JsonValue:
    """An input or output: a string that is JSON is that JSON."""
    if isinstance(value, str):
        try:
            return parse_json(value)
        except BadBody:
            return value
    return value


# -- the mapping ---------------------------------------------------------------------


def _observation_type(attrs: Attributes) -> str:
    given = attrs.get(OBSERVATION_TYPE)
    if isinstance(given, str) and given in _TYPES:
        return given
    kind = attrs.get("openinference.span.kind")
    if isinstance(kind, str) and kind in _OPENINFERENCE_KINDS:
        return _OPENINFERENCE_KINDS[kind]
    operation = attrs.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation in _GEN_AI_OPERATIONS:
        return _GEN_AI_OPERATIONS[operation]
    if _truthy(attrs.get("gen_ai.tool.name")) or _truthy(attrs.get("gen_ai.tool.call.id")):
        return "tool"
    if any(_truthy(attrs.get(key)) for key in _MODEL_TYPE_KEYS):
        return "generation"
    return "span"


def _name(span: Span, attrs: Attributes) -> str:
    return _text(attrs.get("gen_ai.tool.name")) or span.name


def _level(span: Span, attrs: Attributes) -> str:
    given = attrs.get(OBSERVATION_LEVEL)
    if given is not None:
        return str(given)
    return "ERROR" if span.status.code == Status.STATUS_CODE_ERROR else "DEFAULT"


def _status_message(span: Span, attrs: Attributes) -> str | None:
    given = attrs.get(OBSERVATION_STATUS_MESSAGE)
    if given is not None:
        return str(given)
    return span.status.message or None


def _model(attrs: Attributes) -> str | None:
    for key in _MODEL_NAME_KEYS:
        if _truthy(attrs.get(key)):
            return _text(attrs[key])
    return None


def _model_parameters(attrs: Attributes) -> dict[str, JsonValue] | None:
    for key in (OBSERVATION_MODEL_PARAMETERS, "llm.invocation_parameters", "model_config"):
        if _truthy(attrs.get(key)):
            parsed = _value(attrs[key])
            if isinstance(parsed, dict):
                return _sanitised(parsed)
    requested = {
        key.removeprefix("gen_ai.request."): value
        for key, value in attrs.items()
        if key.startswith("gen_ai.request.") and key != "gen_ai.request.model"
    }
    return _sanitised(requested)


def _sanitised(parameters: dict[str, JsonValue]) -> dict[str, JsonValue] | None:
    # "Model params in Langfuse must be key value pairs where value is string"
    # (numbers pass too); anything else becomes its JSON text.
    if not parameters:
        return None
    return {
        key: value
        if isinstance(value, str | int | float) and not isinstance(value, bool)
        else json.dumps(value, separators=(",", ":"))
        for key, value in parameters.items()
    }


def _input_output(span: Span, attrs: Attributes) -> tuple[JsonValue, JsonValue]:
    given_in, given_out = attrs.get(OBSERVATION_INPUT), attrs.get(OBSERVATION_OUTPUT)
    if given_in is not None or given_out is not None:
        return _value(given_in), _value(given_out)
    from_events = _event_messages(span.events)
    if from_events is not None:
        return from_events
    if _truthy(attrs.get("input.value")) or _truthy(attrs.get("output.value")):
        return _value(attrs.get("input.value")), _value(attrs.get("output.value"))
    prompt = {k: v for k, v in attrs.items() if k.startswith("gen_ai.prompt")}
    completion = {k: v for k, v in attrs.items() if k.startswith("gen_ai.completion")}
    if prompt or completion:
        return _nested(prompt, "gen_ai.prompt"), _nested(completion, "gen_ai.completion")
    for input_key, output_key in (
        ("gen_ai.input.messages", "gen_ai.output.messages"),
        ("gen_ai.tool.call.arguments", "gen_ai.tool.call.result"),
    ):
        if _truthy(attrs.get(input_key)) or _truthy(attrs.get(output_key)):
            return _value(attrs.get(input_key)), _value(attrs.get(output_key))
    return None, None


def _event_messages(events: Sequence[Span.Event]) -> tuple[JsonValue, JsonValue] | None:
    inputs = [event for event in events if event.name in _INPUT_EVENTS]
    choices = [event for event in events if event.name == "gen_ai.choice"]
    if not inputs and not choices:
        return None
    messages: list[JsonValue] = [
        {
            "role": event.name.removeprefix("gen_ai.").removesuffix(".message"),
            **attributes(event.attributes),
        }
        for event in inputs
    ]
    answers: list[JsonValue] = [attributes(event.attributes) for event in choices]
    output: JsonValue = answers[0] if len(answers) == 1 else (answers or None)
    return (messages or None), output


def _nested(flat: Attributes, prefix: str) -> JsonValue:
    """``gen_ai.prompt.0.role`` and friends as ``[{"role": ...}]`` (Langfuse's
    ``convertKeyPathToNestedObject``)."""
    if not flat:
        return None
    if _truthy(flat.get(prefix)):
        return flat[prefix]
    paths = {key.removeprefix(prefix + "."): value for key, value in flat.items()}
    root: dict[str, JsonValue] = {}
    for path, value in paths.items():
        node = root
        parts = path.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            node = child if isinstance(child, dict) else {}
        node[parts[-1]] = value
    if any(_INDEXED.match(path) for path in paths):
        return [root[index] for index in sorted(root, key=_index) if index.isdigit()]
    return root


def _index(key: str) -> int:
    return int(key) if key.isdigit() else -1
