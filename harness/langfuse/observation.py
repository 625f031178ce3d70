"""The normalised observation both transports arrive at, and one trace's tree.

Langfuse's data model: a trace, and observations under it (span, generation,
event; its OpenTelemetry mapping adds agent, tool, chain, retriever,
evaluator, embedding, guardrail). Here the trace is an observation too (type
``trace``, ``id`` = ``trace_id``), so that a tree is one list in arrival
order. Events for an id seen before update it, as Langfuse upserts them: the
fields they carry win, the ones they leave out stay.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from harness.model import JsonValue

TRACE: Final = "trace"
LEVELS: Final = ("DEBUG", "DEFAULT", "WARNING", "ERROR")
# Fields an update may change; identity, transport and provenance stay the first event's.
_UPDATABLE: Final = (
    "parent_id",
    "name",
    "input",
    "output",
    "level",
    "model",
    "model_parameters",
    "status_message",
    "start_time",
    "end_time",
)


class Transport(StrEnum):
    INGESTION = "ingestion"  # POST /api/public/ingestion
    OTEL = "otel"  # POST /api/public/otel/v1/traces


@dataclass(frozen=True)
class TreeObservation:
    """One trace or observation as the stand-in understood it. ``None`` is
    "not given": an update leaves such a field as it was."""

    trace_id: str | None
    type: str  # "trace", "span", "generation", "event", ...
    id: str
    parent_id: str | None = None
    name: str | None = None
    input: JsonValue = None
    output: JsonValue = None
    level: str | None = None
    model: str | None = None
    model_parameters: dict[str, JsonValue] | None = None
    status_message: str | None = None
    start_time: str | None = None  # ISO 8601, UTC, microseconds, "Z"
    end_time: str | None = None
    transport: Transport = Transport.INGESTION
    envelope_id: str | None = None  # the batch envelope's id; None over OpenTelemetry
    event: str = ""  # what carried it: "span-create", "trace-create", "otel-span", ...

    @property
    def key(self) -> tuple[bool, str]:
        """Identity within a project: traces and observations are apart."""
        return (self.type == TRACE, self.id)

    def merged(self, update: TreeObservation) -> TreeObservation:
        changes = {
            name: getattr(update, name) for name in _UPDATABLE if getattr(update, name) is not None
        }
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, JsonValue]:
        """The JSON Lines row: every field, by these names."""
        row: dict[str, JsonValue] = dataclasses.asdict(self)
        row["transport"] = self.transport.value
        return row


@dataclass(frozen=True)
class Tree:
    """One trace id's observations, merged, in the order they were first seen."""

    trace_id: str
    observations: tuple[TreeObservation, ...]

    def __len__(self) -> int:
        return len(self.observations)

    @property
    def trace(self) -> TreeObservation | None:
        return next((o for o in self.observations if o.type == TRACE), None)

    def of_type(self, kind: str) -> list[TreeObservation]:
        return [o for o in self.observations if o.type == kind]

    def transports(self) -> set[Transport]:
        return {o.transport for o in self.observations}


def seeded_trace_id(external_id: str) -> str:
    """The trace id the published langfuse SDK derives for an external id
    (``Langfuse.create_trace_id(seed=...)``: the first 16 bytes of its SHA-256,
    in hex), which a runtime sending OpenTelemetry must use: OTel trace ids
    are 32 hex digits."""
    return hashlib.sha256(external_id.encode("utf-8")).digest()[:16].hex()


def trace_id_candidates(trace_id: str) -> tuple[str, str]:
    """Where a session's tree may be: under its id, or under the seeded one."""
    return (trace_id, seeded_trace_id(trace_id))
