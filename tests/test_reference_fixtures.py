"""The reference against the hand-written fixture corpus (fixtures/)."""

from __future__ import annotations

import json
from pathlib import Path

from harness.compare import strictly_equal
from reference_impl.jsonmodel import dumps
from reference_impl.probes import answer_extract_json
from reference_impl.session import roundtrip


def lines(path: Path) -> list[tuple[int, dict[str, object]]]:
    text = path.read_text(encoding="utf-8").splitlines()
    return [(n, json.loads(line)) for n, line in enumerate(text, start=1) if line.strip()]


def test_extract_json_cases(repo: Path) -> None:
    path = repo / "fixtures" / "extract_json" / "cases.jsonl"
    cases = path.read_text(encoding="utf-8").splitlines()
    assert len(cases) >= 20
    for number, line in enumerate(cases, start=1):
        # Python's json keeps 1 and 1.0 apart and has no depth limit, so it can
        # read a fixture line whose value sits at the contract's 127 levels.
        case = json.loads(line)
        expected = dumps(case["expected"])
        assert answer_extract_json(case["raw"]) == expected, f"{path.name}:{number} {case['name']}"


def test_session_roundtrips(repo: Path) -> None:
    path = repo / "fixtures" / "session_log" / "roundtrips.jsonl"
    for number, case in lines(path):
        assert roundtrip(str(case["record_text"])) == case["expected_text"], (
            f"{path.name}:{number} {case['name']}"
        )


def test_session_rejections(repo: Path) -> None:
    path = repo / "fixtures" / "session_log" / "rejections.jsonl"
    for number, case in lines(path):
        answer = json.loads(roundtrip(str(case["record_text"])))
        assert list(answer) == ["error"], f"{path.name}:{number} {case['name']}"


def test_session_fixtures_round_trip_unchanged(repo: Path) -> None:
    """The record type writes its own field order; every value comes back, of its type."""
    for path in sorted((repo / "fixtures" / "session_log").glob("*.json")):
        text = path.read_text(encoding="utf-8")
        # Python's == would let 1 pass for 1.0 and True for 1.
        assert strictly_equal(json.loads(roundtrip(text)), json.loads(text)), path.name
