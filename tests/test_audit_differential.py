"""The audit's SQL conformance check agrees with ``jsonschema`` on every line of
generated logs: valid rows of every verdict, rows spoilt in one to three ways,
and torn, non-UTF-8 and non-strict-JSON lines. ``jsonschema`` (through
``harness.schema_store``'s validator class) is the judge."""

from __future__ import annotations

import calendar
import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import FormatChecker

from harness import schema_store
from harness.audit.auditor import verdicts

V1 = "session.iterate.v1"
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))", re.ASCII
)


def _date_time(instance: object) -> bool:
    """``format: date-time`` as jsonschema checks it with rfc3339-validator
    (which this environment may lack, so the judge states it)."""
    if not isinstance(instance, str):
        return True
    match = _RFC3339.fullmatch(instance.upper())
    if match is None:
        return False
    year, month, day, hour, minute, second, *offset = (int(g or 0) for g in match.groups())
    if year == 0 or not 1 <= month <= 12:
        return False
    return (
        1 <= day <= calendar.monthrange(year, month)[1]
        and hour <= 23
        and minute <= 59
        and second <= 59
        and offset[0] <= 23
        and offset[1] <= 59
    )


_SHAPE = re.compile(schema_store.load("session-record")["properties"]["timestamp"]["pattern"][1:-1])
_CHECKER = FormatChecker()
_CHECKER.checks("date-time")(_date_time)


# schema_store's validator class and registry (the contract's integer and ECMA
# pattern, kept below every $ref), with a date-time check (jsonschema checks
# that format only when rfc3339-validator is installed).
_JUDGE = type(schema_store.validator("session-record"))(
    schema_store.load("session-record"),
    registry=schema_store.registry(),
    format_checker=_CHECKER,
)


def judge_errors(instance: object) -> list[str]:
    return [e.message for e in _JUDGE.iter_errors(instance)]


def _reject(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _has_surrogate(value: object) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def judge_line(raw: bytes) -> str | None:
    """valid / invalid / torn / not_utf8 / other_version, or None for a blank line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "not_utf8"
    if not text.strip(" \t\r"):
        return None
    try:
        value = json.loads(text, parse_constant=_reject)
    except ValueError:
        return "torn"
    if _has_surrogate(value):  # RFC 8259 strings are Unicode text; DuckDB refuses them too
        return "torn"
    if isinstance(value, dict) and isinstance(value.get("schema"), str) and value["schema"] != V1:
        return "other_version"
    return "invalid" if judge_errors(value) else "valid"


# --------------------------------------------------------------------------- rows

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
# Each draw its own copy: a list or an object drawn twice and set inside
# itself by two mutations was a circular row (json.dumps: ValueError).
_ODD = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        1,
        -1,
        2,
        1.0,
        1.5,
        "",
        "x",
        "1",
        [],
        {},
        [1],
        {"a": 1},
        4294967295,
        4294967296,
        2**64 - 1,
        2**64,
        -(2**63),
        10**30,
        "accepted",
        "infra_error",
        "fill",
    ]
).map(copy.deepcopy)
_TIMESTAMPS = st.one_of(
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + f".{d.microsecond}Z"),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S+00:00")),
    st.sampled_from(
        [
            "2026-02-30T10:00:00Z",
            "2024-02-29T10:00:00Z",
            "2023-02-29T10:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-10T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T23:60:00Z",
            "2026-01-01T23:59:60Z",
            "2026-01-01t10:00:00Z",
            "2026-01-01T10:00:00z",
            "2026-01-01T10:00:00+01:00",
            "2026-01-01T10:00:00Z\n",
            "2026-01-01T10:00:00",
            "2026-01-01T10:00:00.Z",
            "2026-1-01T10:00:00Z",
            "２０２６-01-01T10:00:00Z",
        ]
    ),
)
_ARTIFACT = st.dictionaries(
    _TEXT, st.one_of(st.integers(), _TEXT, st.booleans(), st.none()), max_size=3
)


@st.composite
def _attempt(draw: st.DrawFn, iteration: int, kind: str) -> dict[str, Any]:
    attempt: dict[str, Any] = {"iteration": iteration, "verdict_kind": kind}
    if kind == "validation_failed":
        attempt["error"] = draw(_TEXT)
    elif kind == "infra_error":
        detail = draw(st.one_of(_TEXT, st.sampled_from(["x" * 760, "y" * 768, "é" * 800])))
        attempt["error"] = (f"/v1/chat hop failed at iter {iteration}: " + detail)[:800]
    if draw(st.booleans()):
        attempt["span_id"] = draw(st.text(min_size=1, max_size=8))
    return attempt


@st.composite
def valid_rows(draw: st.DrawFn) -> dict[str, Any]:
    verdict = draw(st.sampled_from(["accepted", "max_iter_exhausted", "infra_error"]))
    kind = draw(st.sampled_from(["fill", "email", "playbook"]))
    max_iterations = draw(st.integers(1, 4))
    row: dict[str, Any] = {
        "schema": V1,
        "session_id": draw(st.text(min_size=1, max_size=10)),
        "timestamp": draw(_TIMESTAMPS.filter(lambda t: _date_time(t) and _SHAPE.fullmatch(t))),
        "daemon": draw(st.sampled_from(["gateway", "validatord"])),
        "kind": kind,
        "model": draw(_TEXT),
        "provider": draw(_TEXT),
        "prompt": draw(st.one_of(_TEXT, st.sampled_from(["p" * 4000, "😀" * 4000]))),
        "max_iterations": max_iterations,
    }
    if verdict == "accepted":
        n = draw(st.integers(1, max_iterations))
        kinds = [draw(st.sampled_from(["no_json", "validation_failed"])) for _ in range(n - 1)]
        attempts = [draw(_attempt(i, k)) for i, k in enumerate([*kinds, "accepted"])]
        row |= {
            "iterations": n,
            "final_verdict": verdict,
            "attempts": attempts,
            "artifact": draw(_ARTIFACT),
        }
        if kind == "fill":
            row["grounded_in_roster"] = draw(st.booleans())
    elif verdict == "max_iter_exhausted":
        kinds = [
            draw(st.sampled_from(["no_json", "validation_failed"])) for _ in range(max_iterations)
        ]
        row |= {
            "iterations": max_iterations,
            "final_verdict": verdict,
            "attempts": [draw(_attempt(i, k)) for i, k in enumerate(kinds)],
        }
    else:
        row |= {
            "iterations": 0,
            "final_verdict": verdict,
            "attempts": [draw(_attempt(0, "infra_error"))],
        }
    row["duration_ms"] = draw(st.integers(0, 2**64 - 1))
    return row


Mutation = Callable[[dict[str, Any]], None]


@st.composite
def _mutation(draw: st.DrawFn, row: dict[str, Any]) -> Mutation:
    keys = sorted(row)
    choice = draw(st.integers(0, 7))
    key = draw(st.sampled_from(keys))
    if choice == 0:
        return lambda r: r.pop(key, None)
    if choice == 1:
        value = draw(_ODD)
        return lambda r: r.__setitem__(key, value)
    if choice == 2:
        extra = draw(st.sampled_from(["trace", "artifact", "grounded_in_roster", "span_id", "x"]))
        value = draw(_ODD)
        return lambda r: r.__setitem__(extra, value)
    if choice == 3:
        field = draw(st.sampled_from(["final_verdict", "kind", "daemon"]))
        value = draw(
            st.sampled_from(
                [
                    "accepted",
                    "max_iter_exhausted",
                    "infra_error",
                    "fill",
                    "email",
                    "gateway",
                    "Gateway",
                    "other",
                ]
            )
        )
        return lambda r: r.__setitem__(field, value)
    if choice == 4:
        stamp = draw(_TIMESTAMPS)
        return lambda r: r.__setitem__("timestamp", stamp)
    attempts = row.get("attempts")
    if not isinstance(attempts, list) or not attempts:
        return lambda r: r.__setitem__(
            "attempts", [{"iteration": 0, "verdict_kind": "accepted"}, 3]
        )
    index = draw(st.integers(0, len(attempts) - 1))
    akey = draw(st.sampled_from(["iteration", "verdict_kind", "error", "span_id", "extra"]))
    value = draw(
        st.one_of(
            _ODD, st.sampled_from(["accepted", "infra_error", "no_json", "validation_failed"])
        )
    )
    if choice == 7:
        return lambda r: (
            r["attempts"].__setitem__(index, value)
            if isinstance(r.get("attempts"), list) and len(r["attempts"]) > index
            else None
        )

    def change(r: dict[str, Any]) -> None:
        attempt = r["attempts"][index] if isinstance(r.get("attempts"), list) else None
        if not isinstance(attempt, dict):
            return
        if choice == 5:
            attempt.pop(akey, None)
        else:
            attempt[akey] = value

    return change


def _encode(row: dict[str, Any], ensure_ascii: bool) -> str:
    return json.dumps(row, ensure_ascii=ensure_ascii, separators=(",", ":"))


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    row = draw(valid_rows())
    for _ in range(draw(st.integers(0, 3))):
        draw(_mutation(row))(row)
    text = _encode(row, draw(st.booleans()))
    form = draw(st.integers(0, 14))
    number = draw(
        st.sampled_from(
            [
                "1.0",
                "1e0",
                "-0",
                "1E400",
                "18446744073709551616",
                "4294967296",
                "-1",
                "0.0",
                "NaN",
                "-Infinity",
            ]
        )
    )
    field = draw(st.sampled_from(["iterations", "max_iterations", "duration_ms"]))
    if form == 0:  # torn
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    elif form == 1:  # a number as the row's writer could spell it
        text = re.sub(rf'"{field}":-?\d+', f'"{field}":{number}', text, count=1)
    elif form == 2:  # a field given twice: json.loads keeps the last
        odd = json.dumps(draw(_ODD))
        text = (
            text[:-1] + f',"{field}":{odd}' + "}"
            if draw(st.booleans())
            else ("{" + f'"{field}":{odd},' + text[1:])
        )
    elif form == 3:
        text = text[:-1] + ",}"
    elif form == 4:
        text = text.replace('"prompt":"', '"prompt":"\\ud800', 1)
    elif form == 5:
        return text.encode().replace(b'"prompt":"', b'"prompt":"\xc3', 1)
    elif form == 6:
        text = " \t" + text + "\r"
    elif form == 7:
        row["schema"] = draw(st.sampled_from(["session.iterate.v2", "", 1, None]))
        text = _encode(row, False)
    elif form == 8:
        text = draw(st.sampled_from(["[1,2]", '"x"', "null", "{}", "", "  ", "nul", "{]"]))
    elif form == 9:  # an attempt's field given twice
        odd = json.dumps(draw(_ODD))
        key = draw(st.sampled_from(["iteration", "verdict_kind", "error"]))
        text = text.replace('"attempts":[{', '"attempts":[{' + f'"{key}":{odd},', 1)
    return text.encode()


def _agree(tmp: Path, batch: list[bytes]) -> None:
    log = tmp / "sessions.jsonl"
    log.write_bytes(b"\n".join(batch) + b"\n")
    expected = {n: v for n, raw in enumerate(batch, start=1) if (v := judge_line(raw)) is not None}
    got: dict[int, str] = {}
    for verdict in verdicts(str(log)):
        state = verdict.state
        if state == "row":
            state = "invalid" if verdict.violations else "valid"
        got[verdict.line] = state
    mismatched = {
        n: (expected.get(n), got.get(n), batch[n - 1][:300])
        for n in expected.keys() | got.keys()
        if expected.get(n) != got.get(n)
    }
    assert not mismatched, mismatched


@settings(max_examples=60)
@given(st.lists(lines(), min_size=1, max_size=40))
def test_sql_conformance_agrees_with_jsonschema(tmp_path_factory: Any, batch: list[bytes]) -> None:
    _agree(tmp_path_factory.mktemp("log"), batch)


@settings(max_examples=20)
@given(st.lists(valid_rows(), min_size=1, max_size=20), st.booleans())
def test_valid_rows_are_valid(
    tmp_path_factory: Any, rows: list[dict[str, Any]], ascii: bool
) -> None:
    for row in rows:
        assert judge_errors(row) == [], row
    _agree(tmp_path_factory.mktemp("log"), [_encode(r, ascii).encode() for r in rows])


def test_the_judge_keeps_the_contract_number_model_inside_attempts() -> None:
    row = {
        "schema": V1, "session_id": "s", "timestamp": "2026-01-01T00:00:00Z",
        "daemon": "gateway", "kind": "email", "model": "m", "provider": "p", "prompt": "",
        "iterations": 1, "max_iterations": 1, "final_verdict": "accepted",
        "attempts": [{"iteration": 0, "verdict_kind": "accepted"}], "artifact": {},
        "duration_ms": 0,
    }  # fmt: skip
    assert judge_errors(row) == []
    row["attempts"] = [{"iteration": 0.0, "verdict_kind": "accepted"}]
    assert judge_errors(row) == ["0.0 is not of type 'integer'"]
    # schema_store itself, below the $ref to session-attempt (it once let 0.0 by).
    assert [e.message for e in schema_store.errors("session-record", row)] == [
        "0.0 is not of type 'integer'"
    ]
