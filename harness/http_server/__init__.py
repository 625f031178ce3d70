"""HTTP/1.1 for the harness's own servers (the scripted model, the Langfuse
stand-in): h11 over asyncio, 127.0.0.1 only, with the limits a server open to
any local process needs. Nobody else in the harness writes HTTP by hand.

- ``answers``: what a handler asks for (``Answer``, ``Hang``, ``Drop``);
- ``bodies``: JSON that cannot blow the stack, ``Content-Encoding`` within a bound;
- ``handler``: the ``Handler`` protocol, ``Request``, ``HandlerErrors`` and
  ``Limits``;
- ``server``: ``HttpListeners`` (named listeners, pause/resume) and
  ``ServesListeners``, the API of a server object that owns them;
- ``connection``: one client connection on h11, within ``Limits``;
- ``signals``: serving until SIGINT/SIGTERM;
- ``served``: ``BackgroundServer``, a server object driven from synchronous
  code on its own background loop.
"""

from __future__ import annotations

from harness.http_server.answers import (
    JSON_TYPE,
    Action,
    Answer,
    Drop,
    Hang,
    encode_json,
    json_answer,
)
from harness.http_server.bodies import MAX_JSON_DEPTH, BadBody, decode_content, parse_json
from harness.http_server.handler import Handler, HandlerErrors, Limits, Request
from harness.http_server.server import HOST, HttpListeners, ServesListeners
from harness.http_server.signals import until_signalled

__all__ = [
    "HOST",
    "JSON_TYPE",
    "MAX_JSON_DEPTH",
    "Action",
    "Answer",
    "BadBody",
    "Drop",
    "Handler",
    "HandlerErrors",
    "Hang",
    "HttpListeners",
    "Limits",
    "Request",
    "ServesListeners",
    "decode_content",
    "encode_json",
    "json_answer",
    "parse_json",
    "until_signalled",
]
