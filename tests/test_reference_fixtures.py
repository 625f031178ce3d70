"""The reference against the hand-written fixture corpus (fixtures/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def typed(value: Any) -> Any:
    """``value`` with each scalar's type kept beside it, so that ``==`` tells
    1 from 1.0 and from True, and -0.0 from 0.0 (key order still ignored)."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return type(value).__name__, repr(value)


def test_typed_equality_tells_number_types_apart() -> None:
    assert typed({"a": [1]}) == typed({"a": [1]})
    assert typed(1) != typed(1.0) and typed(1) != typed(True) and typed(-0.0) != typed(0.0)


def test_session_fixtures_round_trip_unchanged(repo: Path) -> None:
    """The record type writes its own field order; every value comes back, of its type."""
    for path in sorted((repo / "fixtures" / "session_log").glob("*.json")):
        text = path.read_text(encoding="utf-8")
        assert typed(json.loads(roundtrip(text))) == typed(json.loads(text)), path.name
