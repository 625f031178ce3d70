"""Known, accepted divergences (CONTRACT §6): ``waivers.toml``.

Each ``[[waiver]]`` names a finding exactly as a ``Failure`` names it::

    [[waiver]]
    suite = "session_log"
    class = "number_type"
    path = "$.artifact.a"          # the generalised path: [*] for array indices
    targets = ["go"]               # equal to the failure's blamed set
    reason = "validatord writes 1.0 as 1; fixed in #42"
    expires = 2025-12-31           # a TOML date, unquoted

A waiver may name a cause instead (``cause = "3f2a9c0d1e4b"``, its id in
``report.json``), with the same reason and expiry; it covers every finding of
that cause.

A waived finding is still reported but does not fail the gate. A waiver is
valid through its ``expires`` day; from the day after it never matches (the
finding fails the gate again) and is itself listed as expired, which fails the
gate too. Every mistake in the file is a ``ConfigError`` naming the file and
the key, e.g. ``waivers.toml: waiver[2].expires: expected a date`` (indices
count the ``[[waiver]]`` tables from 0).
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError

from harness import schema_store
from harness.errors import ConfigError
from harness.model import (
    REFERENCE,
    Cause,
    DivergenceClass,
    Failure,
    Finding,
    JsonValue,
    WaiverUse,
    generalise_path,
)

__all__ = [
    "Waiver",
    "Waivers",
    "describe_names",
    "load_waivers",
    "parse_waivers",
    "toml_string",
    "waiver_table",
]


@dataclass(frozen=True)
class Waiver:
    suite: str | None  # None for a waiver naming a cause
    cls: DivergenceClass | None
    path: str | None
    targets: tuple[str, ...]  # sorted, like Failure.blamed; () for a cause
    reason: str
    expires: dt.date
    index: int = 0  # position in the file, for messages
    cause: str | None = None  # a cause id

    def is_expired(self, today: dt.date) -> bool:
        return today > self.expires

    def covers(self, failure: Failure) -> bool:
        if self.cause is not None:
            return False
        return (failure.suite, str(failure.cls), failure.path, failure.blamed) == (
            self.suite,
            str(self.cls),
            self.path,
            self.targets,
        )

    def name_fields(self) -> dict[str, JsonValue]:
        """What the waiver names, as its ``[[waiver]]`` table spells it."""
        if self.cause is not None:
            return {"cause": self.cause}
        return {
            "suite": self.suite,
            "class": str(self.cls),
            "path": self.path,
            "targets": list(self.targets),
        }

    @property
    def names(self) -> str:
        return describe_names(self.name_fields())

    def describe(self) -> str:
        return (
            f"waiver[{self.index}] {self.names} expired {self.expires.isoformat()}: {self.reason}"
        )


@dataclass(frozen=True)
class Waivers:
    items: tuple[Waiver, ...] = ()
    source: str | None = None

    def match(self, failure: Failure, today: dt.date) -> Waiver | None:
        """The live waiver naming this failure, if any (an expired one never matches)."""
        for waiver in self.items:
            if waiver.covers(failure) and not waiver.is_expired(today):
                return waiver
        return None

    def match_cause(self, cause: str, today: dt.date) -> Waiver | None:
        """The live waiver naming this cause, if any."""
        for waiver in self.items:
            if waiver.cause == cause and not waiver.is_expired(today):
                return waiver
        return None

    def expired(self, today: dt.date) -> list[Waiver]:
        return [waiver for waiver in self.items if waiver.is_expired(today)]

    def uses(
        self, causes: Sequence[Cause], findings: Sequence[Finding], today: dt.date
    ) -> list[WaiverUse]:
        """Every waiver with its expiry and the causes and findings it waived
        (for ``report.json``: what a trend reads to show waivers expiring)."""
        out = []
        for waiver in self.items:
            covers: list[str] = []
            if not waiver.is_expired(today):
                if waiver.cause is not None:
                    covers = [cause.id for cause in causes if cause.id == waiver.cause]
                else:
                    covers = [f.id for f in findings if self.match(f.failure, today) is waiver]
            out.append(
                WaiverUse(
                    names=waiver.name_fields(),
                    reason=waiver.reason,
                    expires=waiver.expires.isoformat(),
                    expired=waiver.is_expired(today),
                    covers=tuple(covers),
                )
            )
        return out

    def apply(self, findings: Iterable[Finding], today: dt.date) -> None:
        """Mark each finding a live waiver names (``waived_by`` = the reason)."""
        for finding in findings:
            waiver = self.match(finding.failure, today)
            finding.waived_by = waiver.reason if waiver is not None else None


def describe_names(names: Mapping[str, Any]) -> str:
    """What a waiver names, in one line: ``cause ID`` or ``SUITE CLASS PATH [TARGETS]``."""
    if "cause" in names:
        return f"cause {names['cause']}"
    targets = names.get("targets")
    blamed = ", ".join(map(str, targets)) if isinstance(targets, list) else "?"
    return f"{names.get('suite')} {names.get('class')} {names.get('path')} [{blamed}]"


def waiver_table(
    names: Mapping[str, str | Sequence[str]],
    *,
    reason: str,
    expires: str,
    comment: str | None = None,
) -> str:
    """One ``[[waiver]]`` table as waivers.toml holds it: ``names`` (a cause,
    or suite, class, path and targets), the reason, the expiry (an ISO date),
    after a one-line comment when given (it may quote model output: control
    characters become spaces)."""
    head = []
    if comment is not None:
        head.append("# " + "".join(ch if ch.isprintable() else " " for ch in comment)[:120])
    lines = [f"{key} = {_toml_value(value)}" for key, value in names.items()]
    lines += [f"reason = {_toml_value(reason)}", f"expires = {expires}"]
    return "\n".join([*head, "[[waiver]]", *lines]) + "\n"


def _toml_value(value: str | Sequence[str]) -> str:
    if isinstance(value, str):
        return toml_string(value)
    return "[" + ", ".join(toml_string(item) for item in value) + "]"


def toml_string(text: str) -> str:
    """A TOML basic string holding ``text`` (non-ASCII as itself)."""
    # A JSON string is a TOML basic string (same escapes; json.dumps never
    # writes the one TOML lacks, "\/"), except that TOML also forbids a raw
    # DEL, which JSON allows.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


# --------------------------------------------------------------------------- loading


def load_waivers(path: Path) -> Waivers:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(source, None, "no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, None, f"cannot read: {exc}") from exc
    return parse_waivers(text, source)


def parse_waivers(text: str, source: str) -> Waivers:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, None, f"not valid TOML: {exc}") from exc
    _check_dates(document, source)
    _check_schema(document, source)
    items = tuple(
        _waiver(index, raw, source) for index, raw in enumerate(document.get("waiver", []))
    )
    _check_duplicates(items, source)
    return Waivers(items=items, source=source)


def _key(parts: Sequence[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


def _check_dates(document: dict[str, Any], source: str) -> None:
    # The schema sees dates as ISO strings, so it cannot tell `2025-01-01` from
    # `"2025-01-01"`; the TOML type is checked here first.
    waivers = document.get("waiver")
    if not isinstance(waivers, list):
        return
    for index, raw in enumerate(waivers):
        if not isinstance(raw, dict) or "expires" not in raw:
            continue
        value = raw["expires"]
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise ConfigError(
                source,
                _key(["waiver", index, "expires"]),
                "expected a date (an unquoted TOML date such as 2025-12-31)",
            )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


def _check_schema(document: dict[str, Any], source: str) -> None:
    validator = schema_store.validator("waivers")
    found = sorted(
        validator.iter_errors(_jsonable(document)), key=lambda e: [str(p) for p in e.absolute_path]
    )
    if found:
        key, message = _explain(found[0])
        raise ConfigError(source, key, message)


def _explain(error: ValidationError) -> tuple[str, str]:
    """A ``(key, message)`` a person can act on, from a jsonschema error."""
    parts = list(error.absolute_path)
    kind, instance = error.validator, error.instance
    value: Any = error.validator_value
    schema: Any = error.schema
    if kind == "required" and isinstance(instance, dict):
        missing = [name for name in value if name not in instance]
        return _key([*parts, missing[0]]), "missing (required)"
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = set(schema.get("properties", {}))
        extra = sorted(name for name in instance if name not in known)
        return _key([*parts, extra[0]]), "unknown key"
    messages = {
        "type": f"expected {_article(str(value))}",
        "enum": "expected one of " + ", ".join(map(str, value)) if isinstance(value, list) else "",
        "minLength": "must not be empty",
        "minItems": "must name at least one target",
        "uniqueItems": "names a target twice",
        "format": "expected a date",
    }
    if kind == "pattern":
        hints = {
            "path": "expected a path starting with '$'",
            "cause": "expected a cause id: 12 hexadecimal digits, as in report.json",
        }
        return _key(parts), hints.get(str(parts[-1]) if parts else "", "must not be blank")
    return _key(parts), messages.get(str(kind)) or error.message


def _article(type_name: str) -> str:
    names = {"array": "a list", "object": "a table", "string": "a string"}
    return names.get(type_name, f"a {type_name}")


def _waiver(index: int, raw: dict[str, Any], source: str) -> Waiver:
    where = _key(["waiver", index])
    if "cause" in raw:
        mixed = sorted(set(raw) & {"suite", "class", "path", "targets"})
        if mixed:
            raise ConfigError(
                source,
                f"{where}.{mixed[0]}",
                "a waiver names a cause or a finding (suite, class, path, targets), not both",
            )
        return Waiver(
            suite=None,
            cls=None,
            path=None,
            targets=(),
            reason=raw["reason"].strip(),
            expires=raw["expires"],
            index=index,
            cause=raw["cause"],
        )
    path = raw["path"]
    if generalise_path(path) != path:
        raise ConfigError(
            source, f"{where}.path", "use [*] for array indices (paths are generalised)"
        )
    targets = tuple(sorted(raw["targets"]))
    if REFERENCE in targets:
        raise ConfigError(source, f"{where}.targets", f"{REFERENCE!r} is never blamed")
    return Waiver(
        suite=raw["suite"],
        cls=DivergenceClass(raw["class"]),
        path=path,
        targets=targets,
        reason=raw["reason"].strip(),
        expires=raw["expires"],
        index=index,
    )


def _check_duplicates(items: tuple[Waiver, ...], source: str) -> None:
    seen: dict[str, int] = {}
    for waiver in items:
        key = waiver.names
        if key in seen:
            raise ConfigError(
                source, _key(["waiver", waiver.index]), f"duplicates waiver[{seen[key]}]"
            )
        seen[key] = waiver.index
