"""``ScriptedModel``: scripts per case id, counters and recorded calls per
(listener, case id), the reference's view of it, and its listeners.

One ``ScriptedModel`` listens on several ports at once, one per runtime, and
counts calls per (listener, case id): both runtimes, and the reference through
``ScriptedModel.generator``, see exactly the same model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from harness.http_server import HttpListeners, Limits, ServesListeners
from harness.mock_llm.calls import Call, Dialect, Turn
from harness.mock_llm.script import Fault, JsonValue, Reply, case_marker, find_case_id
from reference_impl.iterate import HopError
from reference_impl.rules import Hit, Rule, ignore

if TYPE_CHECKING:
    from harness.mock_llm.record import Recorder

DEFAULT_MAX_HANG_S: Final = 60.0
DEFAULT_MODELS: Final = ("parity-mock",)

# The fields a daemon forwards upstream (docs/decisions.md §4); the reference
# generator records exactly these so recorded bodies compare across runtimes.
UPSTREAM_FIELDS: Final = ("model", "messages", "temperature", "max_tokens")

# The script key of calls without a case marker (a case id is never empty).
UNMARKED: Final = ""
# Model names asked for are listed too, up to this many (a long run stays small).
MAX_LISTED_MODELS: Final = 64


class ScriptedModel(ServesListeners):
    """Scripts per case id, counters and recorded calls per (listener, case id).

    Thread-safe for ``register``/``calls``/``forget``; the listening side
    belongs to the event loop that called ``listen`` first.
    """

    def __init__(
        self,
        *,
        default: Reply | None = None,
        fallback: Reply | None = None,
        max_hang_s: float = DEFAULT_MAX_HANG_S,
        models: Sequence[str] = DEFAULT_MODELS,
        recorder: Recorder | None = None,
        limits: Limits | None = None,
    ) -> None:
        """``default`` answers calls beyond a script (else its last reply repeats);
        ``fallback`` answers unknown or missing case ids (else 404 / 400);
        ``models`` are listed by ``GET /v1/models`` and ``/api/tags`` (with every
        model asked for so far); a ``recorder`` answers every call from a real
        upstream instead of a script (``record.Recorder``); ``limits`` bound what
        one connection may cost (``http_server.Limits``)."""
        if max_hang_s <= 0:
            raise ValueError(f"max_hang_s must be > 0, got {max_hang_s}")
        self.default = default
        self.fallback = fallback
        self.max_hang_s = max_hang_s
        self.recorder = recorder
        self._lock = threading.Lock()
        self._models = dict.fromkeys(models)
        self._scripts: dict[str, tuple[Reply, ...]] = {}
        self._counters: dict[tuple[str, str], int] = {}
        self._calls: dict[tuple[str, str], list[Call]] = {}
        self._received: dict[str, int] = {}
        self._http = HttpListeners("parity-mock-llm", limits or Limits())

    # -- scripts -----------------------------------------------------------

    def register(self, case_id: str, replies: Sequence[Reply]) -> None:
        """Script a case; registering again replaces the script and resets its counters."""
        case_marker(case_id)  # validates the id
        self._set_script(case_id, replies)

    def register_unmarked(self, replies: Sequence[Reply]) -> None:
        """Script the calls that carry no case marker (a cassette recorded without them)."""
        self._set_script(UNMARKED, replies)

    def _set_script(self, key: str, replies: Sequence[Reply]) -> None:
        if not replies and self.default is None:
            raise ValueError(f"case {key!r}: an empty script needs a default reply")
        with self._lock:
            self._scripts[key] = tuple(replies)
            self._drop_history(key)

    def forget(self, case_id: str) -> None:
        """Drop a case's script, counters and recorded bodies (long runs stay small)."""
        with self._lock:
            self._scripts.pop(case_id, None)
            self._drop_history(case_id)

    def _drop_history(self, case_id: str) -> None:
        for key in [key for key in self._counters if key[1] == case_id]:
            del self._counters[key]
        for key in [key for key in self._calls if key[1] == case_id]:
            del self._calls[key]

    def calls(self, case_id: str, listener: str) -> list[dict[str, JsonValue]]:
        """The chat bodies received for a case on a listener, in arrival order
        (in the OpenAI upstream shape, whatever the dialect: ``calls.Call``)."""
        return [call.body for call in self.call_log(case_id, listener)]

    def call_log(self, case_id: str, listener: str) -> list[Call]:
        """The calls received for a case on a listener, with their dialect."""
        with self._lock:
            return list(self._calls.get((listener, case_id), ()))

    def call_count(self, case_id: str, listener: str) -> int:
        with self._lock:
            return self._counters.get((listener, case_id), 0)

    def calls_received(self, listener: str) -> int:
        """Chat calls a listener received since the model was made, marked or
        not, answered or refused: what a run asks of the model."""
        with self._lock:
            return self._received.get(listener, 0)

    @property
    def models(self) -> list[str]:
        """The model names to list: the configured ones and every one asked for."""
        with self._lock:
            return list(self._models)

    def next_turn(
        self,
        listener: str,
        body: dict[str, JsonValue],
        *,
        dialect: Dialect = Dialect.OPENAI,
        stream: bool = False,
    ) -> Turn:
        """Record one call and decide its answer (the HTTP side and the reference share this)."""
        call = Call(body, dialect, stream)
        case_id = find_case_id(body)
        key = UNMARKED if case_id is None else case_id
        with self._lock:
            self._received[listener] = self._received.get(listener, 0) + 1
            self._list_model(call.model)
            script = self._scripts.get(key)
            if script is not None or case_id is not None:
                self._calls.setdefault((listener, key), []).append(call)
            if script is None:
                return self._unscripted(listener, case_id)
            index = self._counters.get((listener, key), 0)
            self._counters[(listener, key)] = index + 1
        return Turn(listener, case_id, index, reply=self._pick(script, index))

    def recorded_turn(self, listener: str, call: Call, reply: Reply) -> Turn:
        """Record one call answered from elsewhere (the recorder's upstream)."""
        case_id = find_case_id(call.body)
        key = UNMARKED if case_id is None else case_id
        with self._lock:
            self._received[listener] = self._received.get(listener, 0) + 1
            self._list_model(call.model)
            self._calls.setdefault((listener, key), []).append(call)
            index = self._counters.get((listener, key), 0)
            self._counters[(listener, key)] = index + 1
        return Turn(listener, case_id, index, reply=reply)

    def _list_model(self, name: str) -> None:
        if len(self._models) < MAX_LISTED_MODELS:
            self._models.setdefault(name)

    def _unscripted(self, listener: str, case_id: str | None) -> Turn:
        if self.fallback is not None:
            return Turn(listener, case_id, -1, reply=self.fallback)
        if case_id is None:
            missing = "no [parity-case:...] marker in the last user message"
            return Turn(listener, None, -1, refusal=(400, missing))
        return Turn(listener, case_id, -1, refusal=(404, f"unknown case id {case_id!r}"))

    def _pick(self, script: tuple[Reply, ...], index: int) -> Reply:
        if index < len(script):
            return script[index]
        if self.default is not None:
            return self.default
        return script[-1]

    # -- the reference's view --------------------------------------------------

    def generator(
        self, listener: str, *, timeout_s: float, hit: Hit = ignore
    ) -> Callable[[dict[str, JsonValue]], str]:
        """A ``reference_impl.iterate.Generate`` hop over this model, without HTTP.

        It answers what a daemon whose upstream timeout is ``timeout_s`` would
        get: the text, ``""`` without content, and ``HopError`` for every fault
        a daemon turns into a 502 (a delay at or past the timeout included).
        ``hit`` hears the rule of each fault it answers (``faults.*``).
        """

        def generate(chat: dict[str, JsonValue]) -> str:
            body: dict[str, JsonValue] = {k: chat[k] for k in UPSTREAM_FIELDS if k in chat}
            return reference_answer(self.next_turn(listener, body), timeout_s, hit)

        return generate

    def reply_at(self, script: Sequence[Reply], index: int) -> Reply | None:
        """The reply the ``index``-th call of a case scripted with ``script`` gets."""
        return self._pick(tuple(script), index) if script else self.default

    # -- serving ---------------------------------------------------------------

    async def listen(self, name: str, port: int = 0) -> int:
        """Serve on 127.0.0.1 under a listener name; returns the bound port."""
        from harness.mock_llm.routes import Router

        return await self._http.listen(name, port, Router(self, name))

    async def close(self) -> None:
        """Stop listening and close every connection, and the recorder."""
        try:
            await super().close()
        finally:
            if self.recorder is not None:
                await self.recorder.aclose()


_HOP_ERRORS: Final = {
    Fault.HTTP_500: "upstream returned 500",
    Fault.HTTP_429: "upstream returned 429",
    Fault.DROP: "upstream closed the connection without answering",
    Fault.CUT_STREAM: "upstream closed the connection mid-answer",
    Fault.NOT_JSON: "upstream reply is not JSON",
    Fault.MALFORMED_CHUNK: "upstream reply is not JSON",
}


def reference_answer(turn: Turn, timeout_s: float, hit: Hit = ignore) -> str:
    """What a daemon's upstream hop makes of a turn (``HopError`` for a 502);
    ``hit`` hears the fault's rule."""
    if turn.refusal is not None or turn.reply is None:
        status = turn.refusal[0] if turn.refusal else 500
        raise HopError(f"upstream returned {status}")
    reply = turn.reply
    if reply.fault is Fault.HANG or reply.delay_s >= timeout_s:
        hit(Rule.FAULT_HANG)
        raise HopError(f"upstream timed out after {int(timeout_s * 1000)} ms")
    if reply.fault is not None:
        hit(FAULT_RULES[reply.fault])
    elif reply.delay_s > 0:
        hit(Rule.FAULT_SLOW)
    if reply.fault in _HOP_ERRORS:
        raise HopError(_HOP_ERRORS[reply.fault])
    if reply.fault is Fault.NO_CONTENT:
        return ""
    if reply.text is None:
        hit(Rule.FAULT_NULL_CONTENT)
        return ""
    return reply.text


# The faults a daemon turns into a failed hop (a 502).
HOP_FAULTS: Final = frozenset({*_HOP_ERRORS, Fault.HANG})
# Each fault's rule.
FAULT_RULES: Final = {
    Fault.HTTP_500: Rule.FAULT_HTTP_500,
    Fault.HTTP_429: Rule.FAULT_HTTP_429,
    Fault.HANG: Rule.FAULT_HANG,
    Fault.DROP: Rule.FAULT_DROP,
    Fault.NOT_JSON: Rule.FAULT_NOT_JSON,
    Fault.SLOW: Rule.FAULT_SLOW,
    Fault.NO_CONTENT: Rule.FAULT_NO_CONTENT,
    Fault.CUT_STREAM: Rule.FAULT_CUT_STREAM,
    Fault.MALFORMED_CHUNK: Rule.FAULT_MALFORMED_CHUNK,
}
