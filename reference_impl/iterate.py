"""``POST /v1/iterate`` (CONTRACT §2): generate -> extract -> validate -> retry.

The loop is a function over two injected hops, so the same code runs against
a scripted model in the harness, against live services, or in unit tests.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from typing import Any, Final

from reference_impl.extract import extract_json
from reference_impl.jsonmodel import JsonValue, dumps, loads
from reference_impl.rules import Hit, Rule, ignore
from reference_impl.session import (
    SessionAttempt,
    SessionContext,
    SessionRecord,
    accepted_record,
    exhausted_record,
    infra_error_record,
    note_row,
)
from reference_impl.text import cut

DEFAULT_MAX_ITERATIONS: Final = 3
DEFAULT_TEMPERATURE: Final = 0.2
DEFAULT_MAX_TOKENS: Final = 4096
RAW_LIMIT: Final = 2000
TRACE_HEADER: Final = "X-Lakehouse-Trace-Id"

NO_JSON_SUFFIX: Final = (
    "\n\nYour previous attempt did not contain a JSON object. "
    "Reply with ONLY a valid JSON object matching the requested artifact shape."
)


def retry_prompt_after_no_json(original: str) -> str:
    return original + NO_JSON_SUFFIX


FAILED_PREFIX: Final = "\n\nPrior attempt failed validation:\n"
FAILED_SUFFIX: Final = "\n\nFix the specific issue above and respond with a corrected JSON object."


def retry_prompt_after_failure(original: str, error: str) -> str:
    return f"{original}{FAILED_PREFIX}{error}{FAILED_SUFFIX}"


class HopError(Exception):
    """A failed internal hop (transport error or, for chat, a non-2xx)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class RequestError(ValueError):
    """The iterate request is malformed (docs/decisions.md §3: a 400)."""


Generate = Callable[[dict[str, JsonValue]], str]
"""Chat body -> the reply's ``choices[0].message.content``; raises HopError."""

Validate = Callable[[dict[str, JsonValue]], tuple[int, JsonValue]]
"""Validate body -> (HTTP status, parsed response body); raises HopError."""


@dataclass(frozen=True)
class IterateRequest:
    kind: str
    prompt: str
    provider: str
    model: str
    system: str | None = None
    context: JsonValue = None
    max_iterations: int | None = None
    temperature: float | None = None
    max_tokens: int | None = None

    @property
    def effective_max_iterations(self) -> int:
        requested = DEFAULT_MAX_ITERATIONS if self.max_iterations is None else self.max_iterations
        return max(requested, 1)

    @classmethod
    def from_json(cls, value: JsonValue) -> IterateRequest:
        if not isinstance(value, dict):
            raise RequestError("request body must be a JSON object")
        required = {key: _field(value, key, str, required=True) for key in _REQUIRED}
        return cls(
            **required,
            system=_field(value, "system", str),
            context=value.get("context"),
            max_iterations=_field(value, "max_iterations", int),
            temperature=_field(value, "temperature", float),
            max_tokens=_field(value, "max_tokens", int),
        )

    def chat_body(self, prompt: str) -> dict[str, JsonValue]:
        messages: list[JsonValue] = []
        if self.system is not None:
            messages.append({"role": "system", "content": self.system})
        messages.append({"role": "user", "content": prompt})
        return {
            "messages": messages,
            "provider": self.provider,
            "model": self.model,
            "temperature": float(
                DEFAULT_TEMPERATURE if self.temperature is None else self.temperature
            ),
            "max_tokens": DEFAULT_MAX_TOKENS if self.max_tokens is None else self.max_tokens,
        }


_REQUIRED: Final = ("kind", "prompt", "provider", "model")


def _field(obj: dict[str, Any], key: str, kind: type, *, required: bool = False) -> Any:
    value = obj.get(key)
    if value is None:
        if required:
            raise RequestError(f"missing field `{key}`")
        return None
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind is int:
        ok = type(value) is int and 0 <= value < 2**32
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise RequestError(f"invalid type for `{key}`")
    return value


@dataclass(frozen=True)
class IterateOutcome:
    status: int
    body: dict[str, JsonValue] | str  # str: the plain-text 502 body
    record: SessionRecord
    chat_bodies: tuple[dict[str, JsonValue], ...] = field(default=())
    # Each chat hop's reply text, in full (the last is missing when its hop
    # failed), and the history as the body has it: what the trace tree shows.
    replies: tuple[str, ...] = field(default=())
    history: tuple[JsonValue, ...] = field(default=())


@dataclass
class _Session:
    """The loop's running state."""

    request: IterateRequest
    context: SessionContext
    started: float
    history: list[JsonValue] = field(default_factory=list)
    attempts: list[SessionAttempt] = field(default_factory=list)
    chat_bodies: list[dict[str, JsonValue]] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)

    def outcome(
        self, status: int, body: dict[str, JsonValue] | str, record: SessionRecord
    ) -> IterateOutcome:
        return IterateOutcome(
            status,
            body,
            record,
            tuple(self.chat_bodies),
            tuple(self.replies),
            tuple(self.history),
        )

    def note(self, iteration: int, raw: str, status: dict[str, JsonValue]) -> None:
        self.history.append({"iteration": iteration, "raw": cut(raw, RAW_LIMIT), "status": status})
        error = status.get("error")
        self.attempts.append(
            SessionAttempt(
                iteration, str(status["kind"]), error if isinstance(error, str) else None
            )
        )


def iterate(
    request: IterateRequest,
    *,
    trace_id: str,
    generate: Generate,
    validate: Validate,
    roster: Container[str],
    daemon: str = "reference",
    clock: Callable[[], float] = time.monotonic,
    hit: Hit = ignore,
) -> IterateOutcome:
    """Run one iterate session; the outcome carries status, body and session row.
    ``hit`` hears the rules the session went through (the validate hop is the
    caller's: it hears the validator's rules if the caller passes them on)."""
    outcome = _loop(request, trace_id, generate, validate, roster, daemon, clock, hit)
    note_row(outcome.record.to_dict(), hit, prompt=request.prompt)
    return outcome


def _note_request(request: IterateRequest, hit: Hit) -> None:
    if request.max_iterations is None:
        hit(Rule.MAX_ITERATIONS_DEFAULT)
    elif request.max_iterations < 1:
        hit(Rule.MAX_ITERATIONS_CLAMPED)
    if request.temperature is None or request.max_tokens is None:
        hit(Rule.SAMPLING_DEFAULT)
    if type(request.temperature) is int:
        hit(Rule.TEMPERATURE_INTEGER)
    if request.system is not None:
        hit(Rule.SYSTEM_MESSAGE if request.system else Rule.SYSTEM_EMPTY)


def _loop(
    request: IterateRequest,
    trace_id: str,
    generate: Generate,
    validate: Validate,
    roster: Container[str],
    daemon: str,
    clock: Callable[[], float],
    hit: Hit,
) -> IterateOutcome:
    _note_request(request, hit)
    session = _Session(
        request=request,
        context=SessionContext(
            session_id=trace_id,
            daemon=daemon,
            kind=request.kind,
            model=request.model,
            provider=request.provider,
            prompt=request.prompt,
            max_iterations=request.effective_max_iterations,
        ),
        started=clock(),
    )
    prompt = request.prompt

    def elapsed_ms() -> int:
        return max(0, int((clock() - session.started) * 1000))

    for iteration in range(request.effective_max_iterations):
        if iteration >= 2:
            hit(Rule.RETRY_FROM_ORIGINAL)
        chat = request.chat_body(prompt)
        session.chat_bodies.append(chat)
        try:
            raw = generate(chat)
        except HopError as exc:
            hit(Rule.HOP_FAILED_FIRST if iteration == 0 else Rule.HOP_FAILED_LATER)
            text = f"/v1/chat hop failed at iter {iteration}: {exc.detail}"
            record = infra_error_record(session.context, error=text, duration_ms=elapsed_ms())
            return session.outcome(502, text, record)
        session.replies.append(raw)
        _note_raw(raw, hit)
        artifact = extract_json(raw, hit)
        if artifact is None:
            hit(Rule.REPLY_NO_JSON)
            session.note(iteration, raw, {"kind": "no_json"})
            prompt = retry_prompt_after_no_json(request.prompt)
            continue
        verdict, detail = _validate(validate, request, artifact)
        if verdict == "accepted":
            hit(Rule.ACCEPTED_FIRST if iteration == 0 else Rule.ACCEPTED_AFTER_RETRY)
            session.note(iteration, raw, {"kind": "accepted"})
            return _accepted(session, artifact, detail, trace_id, roster, elapsed_ms())
        hit(Rule.VALIDATION_FAILED)
        if hit is not ignore and _NOT_AS_IS.search(str(detail)):
            hit(Rule.ERROR_UNESCAPED)
        session.note(iteration, raw, {"kind": "validation_failed", "error": detail})
        prompt = retry_prompt_after_failure(request.prompt, str(detail))
    hit(Rule.EXHAUSTED)
    return _exhausted(session, trace_id, elapsed_ms())


# What another encoder may escape: non-ASCII, and Go's HTML characters.
_NOT_AS_IS: Final = re.compile(r"[^\x00-\x7f]|[<>&]")


def _note_raw(raw: str, hit: Hit) -> None:
    if not raw:
        hit(Rule.REPLY_EMPTY)
    if len(raw) > RAW_LIMIT:
        hit(Rule.RAW_TRUNCATED)
        if not raw[RAW_LIMIT - 1 : RAW_LIMIT + 1].isascii():
            hit(Rule.RAW_TRUNCATED_NON_ASCII)


def _validate(
    validate: Validate, request: IterateRequest, artifact: dict[str, JsonValue]
) -> tuple[str, JsonValue]:
    """("accepted", report) or ("validation_failed", error text)."""
    body = {"kind": request.kind, "artifact": artifact, "context": request.context}
    try:
        status, reply = validate(body)
    except HopError as exc:
        return "validation_failed", exc.detail
    # Re-reading through the contract's parser gives serde_json::Value's
    # sorted keys, so the error text is what serde_json::to_string writes.
    canonical = loads(dumps(reply))
    if 200 <= status < 300:
        return "accepted", canonical
    return "validation_failed", dumps(canonical)


def _accepted(
    session: _Session,
    artifact: dict[str, JsonValue],
    report: JsonValue,
    trace_id: str,
    roster: Container[str],
    duration_ms: int,
) -> IterateOutcome:
    record = accepted_record(
        session.context,
        attempts=tuple(session.attempts),
        artifact=artifact,
        grounded_in_roster=grounded_in_roster(artifact, roster),
        duration_ms=duration_ms,
    )
    body: dict[str, JsonValue] = {
        "artifact": artifact,
        "validation": report,
        "iterations": len(session.attempts),
        "history": session.history,
        "trace_id": trace_id,
    }
    return session.outcome(200, body, record)


def _exhausted(session: _Session, trace_id: str, duration_ms: int) -> IterateOutcome:
    limit = session.request.effective_max_iterations
    record = exhausted_record(
        session.context, attempts=tuple(session.attempts), duration_ms=duration_ms
    )
    body: dict[str, JsonValue] = {
        "error": f"max iterations reached ({limit}) without passing validation",
        "iterations": limit,
        "history": session.history,
        "trace_id": trace_id,
    }
    return session.outcome(422, body, record)


def grounded_in_roster(artifact: JsonValue, roster: Container[str]) -> bool | None:
    """True when every fill names a non-empty id in the roster (None: no fills array)."""
    fills = artifact.get("fills") if isinstance(artifact, dict) else None
    if not isinstance(fills, list):
        return None
    for fill in fills:
        candidate = fill.get("candidate_id") if isinstance(fill, dict) else None
        if not isinstance(candidate, str) or not candidate or candidate not in roster:
            return False
    return True
