"""The longitudinal session log, ``session.iterate.v1`` (CONTRACT §4).

The record type is the gateway's serde-derived ``SessionRecord``, decided by
the contract. Reading a record therefore follows serde's rules, not JSON
Schema's: unknown fields are dropped (and, like serde's ``IgnoredAny``, only
checked for syntax), a known field given twice is an error, ``null`` for an
optional field means absent, and a struct may also be written as an array of
its fields in declaration order.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from reference_impl.jsonmodel import (
    MAX_DEPTH,
    JsonError,
    JsonValue,
    dumps,
    note_number,
    number_from_literal,
    strict_decoder,
)
from reference_impl.rules import Hit, Rule, ignore
from reference_impl.text import cut

SCHEMA: Final = "session.iterate.v1"
PROMPT_LIMIT: Final = 4000
INFRA_ERROR_LIMIT: Final = 800
U32_MAX: Final = 2**32 - 1
U64_MAX: Final = 2**64 - 1

_log = logging.getLogger(__name__)


class RecordError(ValueError):
    """The record type rejects this input (the probe answers ``{"error": ...}``);
    ``rule`` says which rule rejected it."""

    def __init__(self, message: str, rule: Rule) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class SessionAttempt:
    iteration: int
    verdict_kind: str
    error: str | None = None
    span_id: str | None = None

    def to_dict(self) -> dict[str, JsonValue]:
        return _without_none(
            {
                "iteration": self.iteration,
                "verdict_kind": self.verdict_kind,
                "error": self.error,
                "span_id": self.span_id,
            }
        )


@dataclass(frozen=True)
class SessionRecord:
    session_id: str
    timestamp: str
    daemon: str
    kind: str
    model: str
    provider: str
    prompt: str
    iterations: int
    max_iterations: int
    final_verdict: str
    attempts: tuple[SessionAttempt, ...]
    duration_ms: int
    artifact: JsonValue = None
    grounded_in_roster: bool | None = None
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, JsonValue]:
        """The row in contract field order, absent optionals omitted."""
        return _without_none(
            {
                "schema": self.schema,
                "session_id": self.session_id,
                "timestamp": self.timestamp,
                "daemon": self.daemon,
                "kind": self.kind,
                "model": self.model,
                "provider": self.provider,
                "prompt": self.prompt,
                "iterations": self.iterations,
                "max_iterations": self.max_iterations,
                "final_verdict": self.final_verdict,
                "attempts": [attempt.to_dict() for attempt in self.attempts],
                "artifact": self.artifact,
                "grounded_in_roster": self.grounded_in_roster,
                "duration_ms": self.duration_ms,
            }
        )

    def to_json(self, hit: Hit = ignore) -> str:
        return dumps(self.to_dict(), hit)


def _without_none(fields: dict[str, JsonValue]) -> dict[str, JsonValue]:
    return {key: value for key, value in fields.items() if value is not None}


# ---------------------------------------------------------------------------
# Reading: a syntax-only pass, then serde's typing rules field by field.


@dataclass(frozen=True)
class _Obj:
    """A JSON object with its pairs as written (duplicates kept)."""

    pairs: list[tuple[str, Any]]


@dataclass(frozen=True)
class _Num:
    """A number literal, typed only where a field reads it."""

    literal: str


# Numbers stay literals here: a field that is never read (an unknown one) is,
# as with serde's IgnoredAny, only checked for syntax.
_SYNTAX: Final = strict_decoder(_Obj, _Num)

Converter = Callable[[Any, str, Hit], Any]


def _string(node: Any, name: str, hit: Hit) -> str:
    if not isinstance(node, str):
        raise RecordError(f"invalid type for `{name}`: expected a string", Rule.RECORD_TYPE)
    _check_scalar_values(node, name)
    return node


def _check_scalar_values(text: str, name: str) -> None:
    if any("\ud800" <= char <= "\udfff" for char in text):
        raise RecordError(f"lone surrogate in `{name}`", Rule.RECORD_LONE_SURROGATE)


def _number(node: _Num, name: str, hit: Hit) -> int | float:
    try:
        value = number_from_literal(node.literal)
    except JsonError as exc:
        raise RecordError(f"`{name}`: {exc}", exc.rule) from exc
    note_number(node.literal, value, hit)
    return value


def _unsigned(limit: int) -> Converter:
    def convert(node: Any, name: str, hit: Hit) -> int:
        if not isinstance(node, _Num):
            raise RecordError(f"invalid type for `{name}`: expected an integer", Rule.RECORD_TYPE)
        value = _number(node, name, ignore)
        if isinstance(value, float):
            raise RecordError(
                f"invalid type for `{name}`: floating point `{node.literal}`",
                Rule.RECORD_INTEGER_FLOAT,
            )
        if not 0 <= value <= limit:
            raise RecordError(
                f"invalid value for `{name}`: integer `{value}` out of range",
                Rule.RECORD_INTEGER_RANGE,
            )
        if value > U32_MAX:
            hit(Rule.RECORD_INTEGER_U64)
        return value

    return convert


def _boolean(node: Any, name: str, hit: Hit) -> bool:
    if not isinstance(node, bool):
        raise RecordError(f"invalid type for `{name}`: expected a boolean", Rule.RECORD_TYPE)
    return node


def _optional(inner: Converter) -> Converter:
    def convert(node: Any, name: str, hit: Hit) -> Any:
        if node is None:
            hit(Rule.RECORD_NULL_OPTIONAL)
            return None
        return inner(node, name, hit)

    return convert


def _value(node: Any, name: str, hit: Hit, level: int = 2) -> JsonValue:
    """A serde_json::Value; the record is level 1, so the artifact is level 2."""
    if isinstance(node, _Num):
        return _number(node, name, hit)
    if isinstance(node, str):
        _check_scalar_values(node, name)
        return node
    if isinstance(node, list | _Obj) and level > MAX_DEPTH:
        raise RecordError(f"`{name}`: recursion limit exceeded", Rule.DEPTH_OVER_LIMIT)
    if isinstance(node, list):
        return [_value(item, name, hit, level + 1) for item in node]
    if isinstance(node, _Obj):
        merged: dict[str, JsonValue] = {}
        for key, item in node.pairs:
            _check_scalar_values(key, name)
            merged[key] = _value(item, name, hit, level + 1)
        if len(merged) < len(node.pairs):
            hit(Rule.OBJECT_DUPLICATE_KEY)
        ordered = dict(sorted(merged.items()))
        if list(ordered) != list(merged):
            hit(Rule.RECORD_ARTIFACT_SORTED)
        return ordered
    return node  # None, True, False


def _artifact(node: Any, name: str, hit: Hit) -> JsonValue:
    if not isinstance(node, _Obj):
        hit(Rule.RECORD_ARTIFACT_ANY)
    return _value(node, name, hit)


def _rejected_if_read(node: Any, level: int = 2) -> bool:
    """Whether reading ``node`` as a serde_json::Value would fail (what an
    unknown field, only checked for syntax, gets away with)."""
    try:
        _value(node, "", ignore, level)
    except RecordError:
        return True
    return False


_ATTEMPT_FIELDS: Final[tuple[tuple[str, Converter, bool], ...]] = (
    ("iteration", _unsigned(U32_MAX), True),
    ("verdict_kind", _string, True),
    ("error", _optional(_string), False),
    ("span_id", _optional(_string), False),
)


def _attempt(node: Any, name: str, hit: Hit) -> SessionAttempt:
    return SessionAttempt(**_struct(node, _ATTEMPT_FIELDS, "SessionAttemptRecord", hit))


def _attempts(node: Any, name: str, hit: Hit) -> tuple[SessionAttempt, ...]:
    if not isinstance(node, list):
        raise RecordError(
            f"invalid type for `{name}`: expected a sequence", Rule.RECORD_ATTEMPTS_NOT_ARRAY
        )
    return tuple(_attempt(item, name, hit) for item in node)


_RECORD_FIELDS: Final[tuple[tuple[str, Converter, bool], ...]] = (
    ("schema", _string, True),
    ("session_id", _string, True),
    ("timestamp", _string, True),
    ("daemon", _string, True),
    ("kind", _string, True),
    ("model", _string, True),
    ("provider", _string, True),
    ("prompt", _string, True),
    ("iterations", _unsigned(U32_MAX), True),
    ("max_iterations", _unsigned(U32_MAX), True),
    ("final_verdict", _string, True),
    ("attempts", _attempts, True),
    ("artifact", _optional(_artifact), False),
    ("grounded_in_roster", _optional(_boolean), False),
    ("duration_ms", _unsigned(U64_MAX), True),
)


def _struct(
    node: Any, fields: tuple[tuple[str, Converter, bool], ...], type_name: str, hit: Hit
) -> dict[str, Any]:
    if isinstance(node, list):
        hit(Rule.RECORD_SEQUENCE)
        return _struct_from_sequence(node, fields, type_name, hit)
    if not isinstance(node, _Obj):
        raise RecordError(f"invalid type: expected struct {type_name}", Rule.RECORD_TYPE)
    converters = {name: convert for name, convert, _ in fields}
    values: dict[str, Any] = {}
    for key, item in node.pairs:
        convert = converters.get(key)
        if convert is None:
            hit(Rule.RECORD_UNKNOWN_FIELD)  # unknown fields are dropped
            if hit is not ignore and _rejected_if_read(item):
                hit(Rule.RECORD_UNKNOWN_SYNTAX_ONLY)
            continue
        if key in values:
            raise RecordError(f"duplicate field `{key}`", Rule.RECORD_FIELD_TWICE)
        values[key] = convert(item, key, hit)
    for name, _, required in fields:
        if name not in values:
            if required:
                raise RecordError(f"missing field `{name}`", Rule.RECORD_MISSING_FIELD)
            values[name] = None
    return values


def _struct_from_sequence(
    items: list[Any], fields: tuple[tuple[str, Converter, bool], ...], type_name: str, hit: Hit
) -> dict[str, Any]:
    # serde's derived visit_seq: every field, in declaration order, no more.
    if len(items) != len(fields):
        raise RecordError(
            f"invalid length {len(items)}, expected struct {type_name} with {len(fields)} elements",
            Rule.RECORD_SEQUENCE_LENGTH,
        )
    return {
        name: convert(item, name, hit)
        for (name, convert, _), item in zip(fields, items, strict=True)
    }


def record_from_json(text: str, hit: Hit = ignore) -> SessionRecord:
    """Read one record as the gateway's record type does, or raise RecordError.
    ``hit`` hears the rules the reading went through (also on the way to an
    error: ``RecordError.rule`` says which one rejected it)."""
    try:
        tree = _SYNTAX.decode(text)
    except JsonError as exc:
        raise RecordError(str(exc), Rule.RECORD_NOT_JSON) from exc
    except (ValueError, RecursionError) as exc:
        raise RecordError(f"invalid JSON: {exc}", Rule.RECORD_NOT_JSON) from exc
    values = _struct(tree, _RECORD_FIELDS, "SessionRecord", hit)
    return SessionRecord(**values)


def roundtrip(text: str, hit: Hit = ignore) -> str:
    """The session-log probe answer for one input record. ``hit`` hears the
    rule that rejected it, or every rule its reading and writing went through."""
    read: list[str] = []
    try:
        record = record_from_json(text, read.append)
    except RecordError as exc:
        hit(exc.rule)
        return dumps({"error": str(exc)})
    for rule in read:
        hit(rule)
    hit(Rule.RECORD_VALID)
    return record.to_json(hit)


# ---------------------------------------------------------------------------
# Building rows for the three iterate code paths.


@dataclass(frozen=True)
class SessionContext:
    """What every row of one iterate session shares."""

    session_id: str
    daemon: str
    kind: str
    model: str
    provider: str
    prompt: str
    max_iterations: int
    timestamp: str = field(default_factory=lambda: rfc3339_now())


def rfc3339_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _base(ctx: SessionContext, duration_ms: int) -> dict[str, Any]:
    return {
        "session_id": ctx.session_id,
        "timestamp": ctx.timestamp,
        "daemon": ctx.daemon,
        "kind": ctx.kind,
        "model": ctx.model,
        "provider": ctx.provider,
        "prompt": cut(ctx.prompt, PROMPT_LIMIT),
        "max_iterations": ctx.max_iterations,
        "duration_ms": duration_ms,
    }


def accepted_record(
    ctx: SessionContext,
    *,
    attempts: tuple[SessionAttempt, ...],
    artifact: JsonValue,
    grounded_in_roster: bool | None,
    duration_ms: int,
) -> SessionRecord:
    return SessionRecord(
        **_base(ctx, duration_ms),
        iterations=len(attempts),
        final_verdict="accepted",
        attempts=attempts,
        artifact=artifact,
        grounded_in_roster=grounded_in_roster if ctx.kind == "fill" else None,
    )


def exhausted_record(
    ctx: SessionContext, *, attempts: tuple[SessionAttempt, ...], duration_ms: int
) -> SessionRecord:
    return SessionRecord(
        **_base(ctx, duration_ms),
        iterations=ctx.max_iterations,
        final_verdict="max_iter_exhausted",
        attempts=attempts,
    )


def infra_error_record(ctx: SessionContext, *, error: str, duration_ms: int) -> SessionRecord:
    # Earlier attempts of the session are not kept: the row records the
    # failure as one attempt at iteration 0, as both runtimes do.
    attempt = SessionAttempt(0, "infra_error", error=cut(error, INFRA_ERROR_LIMIT))
    return SessionRecord(
        **_base(ctx, duration_ms),
        iterations=0,
        final_verdict="infra_error",
        attempts=(attempt,),
    )


_ROW_RULES: Final = {
    "accepted": Rule.ROW_ACCEPTED,
    "max_iter_exhausted": Rule.ROW_EXHAUSTED,
    "infra_error": Rule.ROW_INFRA_ERROR,
}


def note_row(row: Mapping[str, JsonValue], hit: Hit, *, prompt: str | None = None) -> None:
    """The §4 rules a session's row shows; ``prompt`` is the original prompt
    the session was sent (the row keeps it cut)."""
    rule = _ROW_RULES.get(str(row.get("final_verdict")))
    if rule is not None:
        hit(rule)
    if "grounded_in_roster" in row:
        hit(Rule.ROW_GROUNDED)
    if prompt is not None and len(prompt) > PROMPT_LIMIT:
        hit(Rule.PROMPT_TRUNCATED)
        if not prompt[PROMPT_LIMIT - 1 : PROMPT_LIMIT + 1].isascii():
            hit(Rule.PROMPT_TRUNCATED_NON_ASCII)


# ---------------------------------------------------------------------------
# Appending rows.


class SessionLogger:
    """Appends whole rows to a JSON Lines file; best effort, never raises.

    An empty path turns logging off. Each row is one ``write(2)`` on an
    ``O_APPEND`` descriptor, so rows from other processes sharing the file
    interleave only between lines; the lock serialises threads of this one.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path) if str(path) else None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._path is not None

    def append(self, record: SessionRecord) -> None:
        if self._path is None:
            return
        try:
            line = (record.to_json() + "\n").encode("utf-8")
            with self._lock:
                self._write(self._path, line)
        except Exception:  # logging must never fail the caller's request
            _log.warning("session_log: could not append a row to %s", self._path, exc_info=True)

    @staticmethod
    def _write(path: Path, line: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)  # lazily: the volume may mount late
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(f"short write: {written} of {len(line)} bytes")
        finally:
            os.close(fd)
