"""A Langfuse stand-in: receives a runtime's live trace tree over Langfuse's
batch ingestion API and over OpenTelemetry, normalises both to one tree per
trace id, and lets the harness wait for it, read it and break the collector.

Modules, one concern each:

- ``observation``: ``TreeObservation`` (the normalised shape), ``Tree``, the
  langfuse SDK's seeded trace id;
- ``times``: both transports' timestamps in one form;
- ``ingestion``: ``POST /api/public/ingestion`` as Langfuse reads and checks it;
- ``otlp``: OTLP/HTTP on the wire (protobuf or JSON, gzip or not);
- ``otel_map``: spans to observations by the attributes Langfuse documents;
- ``auth``: project keys over Basic auth;
- ``faults``: down, slow, 500, 401, for every request or some sessions';
- ``store``: trees per listener, envelope ids seen, deliveries, bounded waits;
- ``routes``: paths to answers, in Langfuse's order of checks;
- ``collector``: the listeners and their state on the event loop;
- ``standin``: ``LangfuseStandIn``, the collector on a background loop;
- ``jsonl``: whole-line appends of every stored observation;
- ``standalone``: ``parity langfuse``.
"""

from __future__ import annotations

from harness.langfuse.auth import Credentials
from harness.langfuse.collector import Collector
from harness.langfuse.faults import CollectorFault, FaultRule
from harness.langfuse.observation import (
    TRACE,
    Transport,
    Tree,
    TreeObservation,
    seeded_trace_id,
    trace_id_candidates,
)
from harness.langfuse.routes import HEALTH_PATH, INGESTION_PATH, OTEL_PATH
from harness.langfuse.standalone import run_standalone
from harness.langfuse.standin import LangfuseStandIn
from harness.langfuse.store import Delivery, Waited

__all__ = [
    "HEALTH_PATH",
    "INGESTION_PATH",
    "OTEL_PATH",
    "TRACE",
    "Collector",
    "CollectorFault",
    "Credentials",
    "Delivery",
    "FaultRule",
    "LangfuseStandIn",
    "Transport",
    "Tree",
    "TreeObservation",
    "Waited",
    "run_standalone",
    "seeded_trace_id",
    "trace_id_candidates",
]
