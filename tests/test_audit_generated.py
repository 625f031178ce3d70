"""A generated session log with a known number of each violation, torn line and
invariant breach: ``parity sessions audit`` reports exactly those counts.

``write_log`` is also what ``benchmarks/sessions_audit.py`` times, at a million rows.
"""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from harness import schema_store
from harness.audit.auditor import audit
from tests.test_audit_differential import judge_errors

REPO = Path(__file__).resolve().parents[1]
START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DAEMONS = ("gateway", "validatord")
PLAYBOOK = {"steps": ["Inspect", "Weld"], "title": "Weld check"}
FILL = {"fills": [{"candidate_id": "W-1"}, {"candidate_id": "W-2"}]}
EMAIL = {"body": "Hi,\n\nA shift is open.", "candidate_id": "W-3", "subject": "Shift offer"}


def _timestamp(n: int, daemon: str) -> str:
    moment = START + timedelta(milliseconds=37 * n)
    if daemon == "gateway":  # chrono's to_rfc3339
        return moment.isoformat(timespec="microseconds")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"  # Go's RFC3339Nano


def valid_row(
    n: int,
    daemon: str,
    verdict: str,
    kind: str = "playbook",
    *,
    prompt: str | None = None,
    model: str = "scripted",
) -> dict[str, Any]:
    """The ``n``-th session of a daemon, a schema-valid row with that verdict."""
    row: dict[str, Any] = {
        "schema": "session.iterate.v1",
        "session_id": f"s-{n:08d}",
        "timestamp": _timestamp(n, daemon),
        "daemon": daemon,
        "kind": kind,
        "model": model,
        "provider": "mock",
        "prompt": prompt
        if prompt is not None
        else f"[parity-case:{n}] Trouve des soudeurs à Toledo",
    }
    if verdict == "accepted":
        attempts = (
            [
                {"iteration": 0, "verdict_kind": "no_json"},
                {"iteration": 1, "verdict_kind": "accepted"},
            ]
            if n % 3
            else [{"iteration": 0, "verdict_kind": "accepted"}]
        )
        row |= {
            "iterations": len(attempts),
            "max_iterations": 3,
            "final_verdict": "accepted",
            "attempts": attempts,
            "artifact": {"fill": FILL, "email": EMAIL, "playbook": PLAYBOOK}[kind],
        }
        if kind == "fill":
            row["grounded_in_roster"] = True
    elif verdict == "max_iter_exhausted":
        error = json.dumps(
            {
                "kind": "schema",
                "message": "artifact.title: expected non-empty string",
                "path": "artifact.title",
            },
            separators=(",", ":"),
        )
        row |= {
            "iterations": 2,
            "max_iterations": 2,
            "final_verdict": "max_iter_exhausted",
            "attempts": [
                {"iteration": 0, "verdict_kind": "no_json"},
                {"iteration": 1, "verdict_kind": "validation_failed", "error": error},
            ],
        }
    else:
        row |= {
            "iterations": 0,
            "max_iterations": 3,
            "final_verdict": "infra_error",
            "attempts": [
                {
                    "iteration": 0,
                    "verdict_kind": "infra_error",
                    "error": "/v1/chat hop failed at iter 0: upstream 500",
                }
            ],
        }
    row["duration_ms"] = 11 + n % 50
    return row


@dataclass(frozen=True)
class Fault:
    """One way to spoil a row, and exactly what the audit must report for it."""

    name: str
    verdict: str
    kind: str
    spoil: Callable[[dict[str, Any]], dict[str, Any] | bytes]
    violations: tuple[tuple[str, str], ...] = ()
    breaches: tuple[str, ...] = ()
    line: str | None = None  # torn, not_utf8, other_version


def _line(row: dict[str, Any]) -> bytes:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode()


def _with(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda row: {**row, **changes}


def _without(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda row: {k: v for k, v in row.items() if k != name}


FAULTS: tuple[Fault, ...] = (
    Fault("torn", "accepted", "playbook", lambda r: _line(r)[:57], line="torn"),
    Fault(
        "not_utf8",
        "accepted",
        "email",
        lambda r: _line(r).replace(b"Toledo", b"Tol\xe9do"),
        line="not_utf8",
    ),
    Fault(
        "other_version",
        "accepted",
        "playbook",
        _with(schema="session.iterate.v2"),
        line="other_version",
    ),
    Fault(
        "iterations_as_string",
        "max_iter_exhausted",
        "email",
        _with(iterations="2"),
        violations=(("$.iterations", "type"),),
        breaches=("exhausted_used_every_iteration",),
    ),
    Fault(
        "unexpected_field",
        "accepted",
        "playbook",
        _with(trace="t-1"),
        violations=(("$.trace", "additionalProperties"),),
    ),
    Fault(
        "accepted_without_artifact",
        "accepted",
        "playbook",
        _without("artifact"),
        violations=(("$.artifact", "required"),),
        breaches=("accepted_has_artifact_and_ends_accepted",),
    ),
    Fault(
        "prompt_too_long",
        "accepted",
        "email",
        _with(prompt="é" * 4001),
        violations=(("$.prompt", "maxLength"),),
        breaches=("prompt_at_most_4000",),
    ),
    Fault(
        "bad_calendar_date",
        "infra_error",
        "fill",
        _with(timestamp="2026-02-30T10:00:00Z"),
        violations=(("$.timestamp", "format"),),
    ),
    Fault(
        "infra_error_after_one_iteration",
        "infra_error",
        "email",
        _with(iterations=1),
        violations=(("$.iterations", "const"),),
        breaches=("infra_error_is_one_attempt",),
    ),
    Fault(
        "infra_error_text_too_long",
        "infra_error",
        "playbook",
        lambda r: {
            **r,
            "attempts": [{**r["attempts"][0], "error": r["attempts"][0]["error"] + "x" * 800}],
        },
        violations=(("$.attempts[*].error", "maxLength"),),
        breaches=("infra_error_text_at_most_800",),
    ),
    Fault(
        "grounded_on_an_email",
        "accepted",
        "email",
        _with(grounded_in_roster=True),
        violations=(("$.grounded_in_roster", "forbidden"),),
        breaches=("grounded_only_on_accepted_fill",),
    ),
    # Schema-valid rows that break an invariant only the SQL checks see.
    Fault(
        "attempts_out_of_order",
        "max_iter_exhausted",
        "playbook",
        lambda r: {
            **r,
            "attempts": [{**a, "iteration": 1 - a["iteration"]} for a in r["attempts"]],
        },
        breaches=("attempt_iterations_in_order",),
    ),
    Fault(
        "exhausted_before_max",
        "max_iter_exhausted",
        "playbook",
        _with(max_iterations=3),
        breaches=("exhausted_used_every_iteration",),
    ),
    Fault(
        "accepted_then_retried",
        "accepted",
        "playbook",
        lambda r: {
            **r,
            "iterations": 2,
            "attempts": [
                {"iteration": 0, "verdict_kind": "accepted"},
                {"iteration": 1, "verdict_kind": "no_json"},
            ],
        },
        breaches=("accepted_has_artifact_and_ends_accepted",),
    ),
    Fault(
        "ungrounded_accepted_fill",
        "accepted",
        "fill",
        _with(grounded_in_roster=False),
        breaches=("alarm_ungrounded_accepted_fill",),
    ),
)
DUPLICATE = "one_row_per_session_per_daemon"


@dataclass
class Expected:
    rows: int = 0  # lines that are session rows (valid or not)
    lines: Counter[str] = field(default_factory=Counter)  # torn, not_utf8, other_version
    violations: Counter[tuple[str, str]] = field(default_factory=Counter)
    breaches: Counter[str] = field(default_factory=Counter)
    invalid_rows: int = 0


_VERDICTS = ("accepted", "accepted", "max_iter_exhausted", "infra_error")
_KINDS = ("playbook", "email", "fill")


def _lines(
    count: int,
    per_fault: int,
    duplicates: int,
    seed: int,
    templates: Sequence[dict[str, Any]] | None,
) -> Iterator[tuple[bytes, Fault | None]]:
    """``count`` lines, both daemons interleaved; ``per_fault`` rows spoilt by each
    fault and ``duplicates`` sessions written twice, at seeded random places."""
    rng = random.Random(seed)
    special = rng.sample(range(count), per_fault * len(FAULTS) + duplicates)
    plan: dict[int, Fault | None] = {}
    for i, fault in enumerate(FAULTS):
        for n in special[i * per_fault : (i + 1) * per_fault]:
            plan[n] = fault
    repeated = set(special[per_fault * len(FAULTS) :])
    for n in range(count):
        daemon = DAEMONS[n % 2]
        fault = plan.get(n)
        if fault is not None:
            row = valid_row(n, daemon, fault.verdict, fault.kind)
            spoilt = fault.spoil(row)
            yield (spoilt if isinstance(spoilt, bytes) else _line(spoilt)), fault
            continue
        if templates:
            row = {
                **templates[n % len(templates)],
                "session_id": f"s-{n:08d}",
                "daemon": daemon,
                "timestamp": _timestamp(n, daemon),
            }
        else:
            # n // 2: both daemons get the same mix of verdicts and kinds
            row = valid_row(n, daemon, _VERDICTS[(n // 2) % 4], _KINDS[(n // 8) % 3])
        yield _line(row), None
        if n in repeated:
            yield _line(row), None


def write_log(
    path: Path,
    count: int,
    *,
    per_fault: int,
    duplicates: int,
    seed: int = 1,
    templates: Sequence[dict[str, Any]] | None = None,
) -> Expected:
    """Write the log (``.gz`` compressed) and return what an audit must find."""
    expected = Expected()
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as stream:
        for line, fault in _lines(count, per_fault, duplicates, seed, templates):
            stream.write(line + b"\n")
            if fault is not None and fault.line is not None:
                expected.lines[fault.line] += 1
                continue
            expected.rows += 1
            if fault is not None:
                expected.violations.update(fault.violations)
                expected.breaches.update(fault.breaches)
                expected.invalid_rows += bool(fault.violations)
    expected.breaches[DUPLICATE] += duplicates
    return expected


def found(document: dict[str, Any]) -> Expected:
    got = Expected(rows=document["rows"], invalid_rows=document["invalid_rows"])
    for key in ("torn", "not_utf8", "other_version"):
        if document[key]["count"]:
            got.lines[key] = document[key]["count"]
    got.violations.update({(v["field"], v["rule"]): v["rows"] for v in document["violations"]})
    got.breaches.update({c["name"]: c["breaches"] for c in document["invariants"] if c["breaches"]})
    return got


def parity(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_every_fault_template_is_what_it_claims() -> None:
    """Each spoilt row breaks exactly its stated schema rules (jsonschema the judge)."""
    for fault in FAULTS:
        spoilt = fault.spoil(valid_row(3, "gateway", fault.verdict, fault.kind))
        if isinstance(spoilt, bytes) or fault.line == "other_version":
            continue
        errors = judge_errors(spoilt)
        assert bool(errors) == bool(fault.violations), (fault.name, errors)
    for verdict in set(_VERDICTS):
        for kind in _KINDS:
            assert judge_errors(valid_row(5, "validatord", verdict, kind)) == []


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_the_audit_reports_exactly_the_planted_counts(tmp_path: Path, suffix: str) -> None:
    log = tmp_path / f"sessions{suffix}"
    expected = write_log(log, 6000, per_fault=7, duplicates=5, seed=11)
    done = parity("sessions", "audit", "--json", log, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    schema_store.validator("sessions-audit").validate(document)
    got = found(document)
    assert got.lines == expected.lines
    assert got.violations == expected.violations
    assert got.breaches == expected.breaches
    assert got.invalid_rows == expected.invalid_rows
    assert got.rows == expected.rows
    assert document["exit_code"] == 1 and document["clean"] is False


def test_line_numbers_count_blank_lines_and_name_the_torn_line(tmp_path: Path) -> None:
    row = valid_row(1, "gateway", "accepted")
    good, torn = _line(row), _line(row)[:40]
    log = tmp_path / "sessions.jsonl"
    log.write_bytes(
        b"\n".join(
            [
                good,
                b"",
                b"  \t",
                torn,
                good.replace(b"s-0", b"s-9"),
                b"\xff\xfe",
                b"\r",
                b'{"schema":"session.iterate.v1",}',
            ]
        )
        + b"\n"
    )
    result = audit([str(log)])
    assert [e.line for e in result.torn.examples] == [4, 8]
    assert [e.line for e in result.not_utf8.examples] == [6]
    assert result.rows == 2 and result.invalid_rows == 0
    assert result.files[0].blank_lines == 3


def test_since_and_until_select_rows_by_timestamp(tmp_path: Path) -> None:
    log = tmp_path / "sessions.jsonl"
    write_log(log, 400, per_fault=0, duplicates=0)
    middle = START + timedelta(milliseconds=37 * 200)
    before = audit([str(log)], until=middle)
    after = audit([str(log)], since=middle)
    assert before.rows == 200 and after.rows == 200
    with pytest.raises(Exception, match="no session rows to audit in the window"):
        audit([str(log)], since=START + timedelta(days=1))


def test_unreadable_input_is_exit_2_and_a_clean_log_exit_0(tmp_path: Path) -> None:
    log = tmp_path / "sessions.jsonl"
    write_log(log, 300, per_fault=0, duplicates=0)
    clean = parity("sessions", "audit", log, cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "clean" in clean.stdout.splitlines()[-1]
    missing = parity("sessions", "audit", tmp_path / "nope.jsonl", cwd=tmp_path)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    no_match = parity("sessions", "audit", str(tmp_path / "*.ndjson"), cwd=tmp_path)
    assert no_match.returncode == 2 and "no file matches" in no_match.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    nothing = parity("sessions", "audit", empty, cwd=tmp_path)
    assert nothing.returncode == 2 and "no session rows" in nothing.stderr
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(b"not gzip at all")
    unreadable = parity("sessions", "audit", broken, cwd=tmp_path)
    assert unreadable.returncode == 2 and "Traceback" not in unreadable.stderr


def test_markdown_and_terminal_summaries_name_what_failed(tmp_path: Path) -> None:
    log = tmp_path / "sessions.jsonl"
    write_log(log, 500, per_fault=1, duplicates=1)
    markdown = parity("sessions", "audit", "--markdown", log, cwd=tmp_path)
    assert markdown.returncode == 1
    assert markdown.stdout.startswith("## ❌ Session log audit: NOT CLEAN")
    assert "| `$.prompt` | maxLength: too long | 1 |" in markdown.stdout
    assert "❌ `alarm_ungrounded_accepted_fill` | 1 |" in markdown.stdout
    terminal = parity("sessions", "audit", log, cwd=tmp_path)
    assert "alarm_ungrounded_accepted_fill: 1 BREACH(ES)" in terminal.stdout
    assert "torn or not JSON: 1 — first at" in terminal.stdout


@pytest.mark.parametrize("block", [1, 2, 3, 5, 64, 1 << 20])
def test_the_survey_counts_lines_and_blank_lines_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    from harness.audit import load

    monkeypatch.setattr(load, "BLOCK", block)
    rng = random.Random(block)
    pieces = [b"", b" ", b"\t\r", b"\x0b", b"{}", b'{"a":1}', b"x" * 9, b"\xff", b" {} "]
    for case in range(40):
        data = b"\n".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        if rng.random() < 0.5:
            data += b"\n"
        path = tmp_path / f"{case}.jsonl"
        path.write_bytes(data)
        lines = data.split(b"\n")
        if data.endswith(b"\n") or not data:
            lines = lines[:-1]
        blank = tuple(n for n, line in enumerate(lines, 1) if not line.strip(b" \t\v\f\r"))
        found = load.survey(load.LogFile(path, compressed=False))
        assert (found.lines, found.blank) == (len(lines), blank), data
        for ordinal, line in enumerate((n for n in range(1, len(lines) + 1) if n not in blank), 1):
            assert found.line_of(ordinal) == line


@pytest.mark.parametrize("block", [1, 2, 3, 7, 1 << 20])
def test_non_utf8_lines_are_found_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    from harness.audit import load

    monkeypatch.setattr(load, "BLOCK", block)
    rng = random.Random(block)
    pieces = [b"", b"ok", b"\xc3\xa9t\xc3\xa9", b"\xff", b"a\xe9b", b"\xed\xa0\x80", b"x" * 11]
    for case in range(40):
        lines = [rng.choice(pieces) for _ in range(rng.randint(1, 12))]
        path = tmp_path / f"{case}.jsonl"
        path.write_bytes(b"\n".join(lines) + (b"\n" if rng.random() < 0.5 else b""))
        expected = set()
        for number, line in enumerate(lines, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                expected.add(number)
        candidates = {n for n in range(1, len(lines) + 1) if rng.random() < 0.7}
        found = load.invalid_utf8(load.LogFile(path, compressed=False), candidates)
        assert found == expected & candidates, (lines, candidates)


def test_a_line_longer_than_the_readers_buffer_is_read(tmp_path: Path) -> None:
    row = valid_row(1, "gateway", "accepted", "playbook")
    long = {**row, "session_id": "long", "artifact": {"steps": ["x" * (20 << 20)], "title": "t"}}
    log = tmp_path / "sessions.jsonl"
    log.write_bytes(_line(row) + b"\n" + _line(long) + b"\n" + _line(row)[:30] + b"\n")
    result = audit([str(log)])
    assert result.rows == 2 and result.invalid_rows == 0
    assert [e.line for e in result.torn.examples] == [3]


def test_line_numbers_hold_across_the_readers_parallel_buffers(tmp_path: Path) -> None:
    """60 MB: DuckDB judges it in several buffers at once; every example still
    names the line it came from."""
    log = tmp_path / "sessions.jsonl"
    long = [valid_row(0, "gateway", v, "playbook", prompt="p" * 1800) for v in _VERDICTS]
    write_log(log, 30_000, per_fault=3, duplicates=3, seed=5, templates=long)
    assert log.stat().st_size > 50_000_000
    document = audit([str(log)]).to_json()
    lines = log.read_bytes().split(b"\n")
    examples = [e for v in document["violations"] for e in v["examples"]]
    examples += [e for c in document["invariants"] for e in c["examples"]]
    assert len(examples) > 20
    for example in examples:
        assert f'"session_id":"{example["session_id"]}"'.encode() in lines[example["line"] - 1]
    for example in document["torn"]["examples"]:
        with pytest.raises(ValueError):
            json.loads(lines[example["line"] - 1])
