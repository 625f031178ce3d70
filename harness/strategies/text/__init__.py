"""Hypothesis strategies for the probe suites: model output and session-record text.

Everything here produces *text*, as a model or a log writer would write it, so
number spellings (``1E2``, ``-0``, ``1e400``), escapes (``\\ud800``), duplicate
keys and nesting depth reach the runtimes exactly as generated.

``tokens`` (JSON tokens and their renderer, JSON texts, prose),
``model_output`` (``model_outputs``), ``session_records`` (``session_record_texts``).
"""

from __future__ import annotations

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
    "json_object_texts",
    "json_texts",
    "model_outputs",
    "prose",
    "render_segments",
    "render_tokens",
    "session_record_texts",
]
