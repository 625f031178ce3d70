"""The scripted model: the model every runtime sees, in the dialect it speaks.

Each generated session carries a case id inside its prompt (``case_marker``);
the n-th call for that id on a listener is answered with the n-th scripted
``Reply``, which may inject a fault instead (``Fault``: HTTP 500, 429 with
``Retry-After``, a hang, a dropped connection, a non-JSON body, a slow answer,
a message without content, an answer cut off half-way, a malformed chunk).

Modules, one concern each:

- ``script``: replies, faults, case markers;
- ``calls``: what was asked (``Call``, in the OpenAI upstream shape whatever
  the dialect) and what the model decided (``Turn``);
- ``model``: ``ScriptedModel`` (scripts, counters, recorded calls, the
  reference's view, its listeners);
- ``dialect_openai`` (``/v1/chat/completions`` plain and SSE, ``/v1/models``)
  and ``dialect_ollama`` (``/api/chat`` NDJSON and single object,
  ``/api/tags``, ``/api/version``), behind ``dialect.ChatApi``;
- ``routes``: paths and methods to answers, faults carried out;
- ``answers``: faults made of a good answer (cut off, broken, not JSON);
  the HTTP itself is ``harness.http_server`` (h11 and asyncio, 127.0.0.1 only);
- ``record``: forwarding to a real model and JSONL cassettes;
- ``standalone``: ``ScriptedModelServer`` (a background loop for a run),
  ``parity mock-llm`` and ``python -m harness.mock_llm``.
"""

from __future__ import annotations

from harness.http_server import HOST
from harness.mock_llm.calls import Call, Dialect, Turn
from harness.mock_llm.dialect_openai import completion
from harness.mock_llm.model import DEFAULT_MAX_HANG_S, UPSTREAM_FIELDS, ScriptedModel
from harness.mock_llm.record import Recorder, load_cassette
from harness.mock_llm.script import (
    CASE_MARKER_RE,
    SMOKE_ARTIFACT,
    Fault,
    Reply,
    case_marker,
    find_case_id,
)
from harness.mock_llm.standalone import (
    ScriptedModelServer,
    load_script,
    main,
    run_standalone,
    smoke_model,
)

__all__ = [
    "CASE_MARKER_RE",
    "DEFAULT_MAX_HANG_S",
    "HOST",
    "SMOKE_ARTIFACT",
    "UPSTREAM_FIELDS",
    "Call",
    "Dialect",
    "Fault",
    "Recorder",
    "Reply",
    "ScriptedModel",
    "ScriptedModelServer",
    "Turn",
    "case_marker",
    "completion",
    "find_case_id",
    "load_cassette",
    "load_script",
    "main",
    "run_standalone",
    "smoke_model",
]
