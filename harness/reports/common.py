"""Helpers every report format shares: safe text, truncation, target order."""

from __future__ import annotations

import datetime as dt
import json
import math
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from harness import atomic
from harness.model import REFERENCE, JsonData, JsonValue
from harness.waivers import waiver_table

# Bidi controls can make escaped text *display* as something else ("Trojan
# Source"); they are shown as escapes like other invisible characters.
_BIDI: Final = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def jsonable(value: Any) -> JsonValue:
    """Any value as plain JSON data (inputs come from strategies, not promises)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, JsonData):  # a typed case (a produced session)
        return jsonable(value.to_json())
    return repr(value)


def printable(text: str) -> str:
    """``text`` with control, bidi and lone-surrogate characters shown as escapes.

    Newlines and tabs are kept; call ``one_line`` to escape them too.
    """
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char in "\n\t":
            out.append(char)
        elif (
            unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI or code in (0x2028, 0x2029)
        ):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def one_line(text: str) -> str:
    return printable(text).replace("\n", "\\n").replace("\t", "\\t")


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def compact(value: JsonValue) -> str:
    """Compact JSON for display (non-ASCII as itself, escapes applied later)."""
    return json.dumps(jsonable(value), ensure_ascii=False, separators=(",", ":"))


def ordered_targets(names: Iterable[str]) -> list[str]:
    """The reference first, then the targets by name."""
    names = set(names)
    return ([REFERENCE] if REFERENCE in names else []) + sorted(names - {REFERENCE})


def write_text(path: Path, text: str) -> Path:
    # A lone surrogate cannot be UTF-8; written as a \\udxxx escape it stays
    # valid JSON (it can only occur inside a string) and harmless elsewhere.
    # Whole or not at all: a run killed while writing leaves the last report.
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, text, errors="backslashreplace")
    return path


# --------------------------------------------------------------------------- causes

WAIVER_DAYS: Final = 30  # a copy-ready waiver expires this long after the run
_STATE_LABELS: Final = {
    "new": "NEW",
    "failing": "fails the gate",
    "flaky": "flaky",
    "pre_existing": "pre-existing",
    "known": "known",
    "waived": "waived",
    "passing": "does not fail the gate",
}


def cause_state(cause: Mapping[str, Any], report: Mapping[str, Any]) -> str:
    """What the gate made of a cause: new, failing, flaky, pre_existing,
    known, waived or passing.

    ``new`` and ``failing`` fail the gate (``new`` only in a gated run, where
    a known or pre-existing cause does not); ``flaky`` is a new cause whose
    replays showed it only sometimes (it fails only with --fail-on-flaky);
    ``passing`` is a cause no finding of which fails the gate
    (``encoding_only``, an exempt unstable path, or every finding waived).
    """
    gated = report.get("baseline") is not None
    if cause["waived"] is not None:
        return "waived"
    status = cause.get("status") or ("known" if cause.get("new") is False else "new")
    if gated and status in ("known", "pre_existing"):
        return str(status)
    if not cause["fails_gate"]:
        return "passing"
    if not gated:
        return "failing"
    flaky = cause.get("flaky") or {}
    return "flaky" if flaky.get("flaky") and not report.get("fail_on_flaky") else "new"


def state_label(state: str) -> str:
    return _STATE_LABELS[state]


def fails(cause: Mapping[str, Any], report: Mapping[str, Any]) -> bool:
    return cause_state(cause, report) in ("new", "failing")


def runtime_label(blamed: Iterable[str]) -> str:
    return ", ".join(blamed) or "-"


def by_runtime(causes: Iterable[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Causes grouped by their blamed targets, groups in order of their most
    severe cause (causes come most severe first)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for cause in causes:
        groups.setdefault(runtime_label(cause["blamed"]), []).append(cause)
    return list(groups.items())


def cause_findings(cause: Mapping[str, Any], report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A cause's divergences, in the cause's order (most severe first)."""
    by_id = {item["id"]: item for item in report["divergences"]}
    return [by_id[fid] for fid in cause["findings"] if fid in by_id]


def orphans(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Divergences no listed cause holds (none in a well-formed report; shown
    on their own rather than lost)."""
    held = {fid for cause in report.get("causes", []) for fid in cause["findings"]}
    return [item for item in report["divergences"] if item["id"] not in held]


def trigger_text(trigger: Mapping[str, Any]) -> str:
    """A trigger's input as a person reads it: text as itself (control and
    bidi characters escaped), any other value as compact JSON."""
    value = trigger["input"]
    return printable(value) if isinstance(value, str) else compact(value)


def waiver_expiry(started_at: str, *, days: int = WAIVER_DAYS) -> str:
    """The ISO date ``days`` after the run started (its date if unparsable)."""
    try:
        start = dt.datetime.fromisoformat(started_at).date()
    except ValueError:
        try:
            start = dt.date.fromisoformat(started_at[:10])
        except ValueError:
            start = dt.datetime.now(dt.UTC).date()
    return (start + dt.timedelta(days=days)).isoformat()


def waiver_toml(cause_id: str, started_at: str) -> str:
    """A ``[[waiver]]`` table naming a cause, for waivers.toml (reason to fill in)."""
    return waiver_table({"cause": cause_id}, reason="...", expires=waiver_expiry(started_at))
