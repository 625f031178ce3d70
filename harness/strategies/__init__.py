"""Hypothesis strategies for the contract's corners, importable by users.

    from harness.strategies import model_outputs, session_record_texts

``text`` draws what the probe suites feed (model output, session-record
lines); ``live`` draws what the live suites send (``/v1/validate`` bodies and
``/v1/iterate`` scenarios).
"""

from __future__ import annotations

from harness.strategies.live import fault_scenarios, iterate_scenarios, validate_requests
from harness.strategies.text.model_output import model_outputs, render_segments
from harness.strategies.text.session_records import session_record_texts
from harness.strategies.text.tokens import (
    NUMBER_LITERALS,
    STRING_LITERALS,
    json_object_texts,
    json_texts,
    prose,
    render_tokens,
)

__all__ = [
    "NUMBER_LITERALS",
    "STRING_LITERALS",
    "fault_scenarios",
    "iterate_scenarios",
    "json_object_texts",
    "json_texts",
    "model_outputs",
    "prose",
    "render_segments",
    "render_tokens",
    "session_record_texts",
    "validate_requests",
]
