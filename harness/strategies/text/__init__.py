"""Hypothesis strategies for the probe suites: model output and session-record text.

Everything here produces *text*, as a model or a log writer would write it, so
number spellings (``1E2``, ``-0``, ``1e400``), escapes (``\\ud800``), duplicate
keys and nesting depth reach the runtimes exactly as generated.

``tokens`` (JSON tokens and their renderer, JSON texts, prose),
``model_output`` (``model_outputs``), ``session_records`` (``session_record_texts``).
"""
