"""/v1/validate rules (CONTRACT §3, docs/decisions.md §1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reference_impl.roster import Roster, RosterError, load_roster
from reference_impl.validate import validate, validate_text

CTX = {"target_count": 2, "city": "Toledo", "state": "OH", "role": "Welder"}


@pytest.fixture(scope="module")
def roster(repo: Path) -> Roster:
    return load_roster(repo / "fixtures" / "roster.jsonl")


def fills(*ids: Any) -> dict[str, Any]:
    return {"fills": [{"candidate_id": i} for i in ids]}


@pytest.mark.parametrize(
    ("request_body", "status", "body"),
    [
        (
            {"kind": "fill", "artifact": fills("W-2", "W-3"), "context": CTX},
            200,
            {"kind": "fill", "valid": True, "checked": 2},
        ),
        (
            {"kind": "fill", "artifact": fills("W-1"), "context": {**CTX, "target_count": 1}},
            422,
            {
                "kind": "consistency",
                "path": "artifact.fills[0].candidate_id",
                "message": "city 'Louisville' doesn't match contract city 'Toledo'",
            },
        ),
        (
            {"kind": "fill", "artifact": fills("W-2"), "context": CTX},
            422,
            {"kind": "count", "path": "artifact.fills", "message": "expected 2 fills, got 1"},
        ),
        (
            {"kind": "fill", "artifact": fills("W-2", "W-2"), "context": CTX},
            422,
            {
                "kind": "duplicate",
                "path": "artifact.fills[1].candidate_id",
                "message": "candidate 'W-2' appears more than once",
            },
        ),
        (
            {"kind": "fill", "artifact": fills("W-2", "W-99"), "context": CTX},
            422,
            {
                "kind": "phantom",
                "path": "artifact.fills[1].candidate_id",
                "message": "candidate 'W-99' is not in the roster",
            },
        ),
        (
            {"kind": "fill", "artifact": fills("W-5", "W-6"), "context": CTX},
            422,
            {
                "kind": "consistency",
                "path": "artifact.fills[1].candidate_id",
                "message": "state 'MI' doesn't match contract state 'OH'",
            },
        ),
        (
            {"kind": "fill", "artifact": fills("W-5", "W-2"), "context": CTX},
            422,
            {
                "kind": "unavailable",
                "path": "artifact.fills[0].candidate_id",
                "message": "candidate 'W-5' is not available",
            },
        ),
        (
            {"kind": "fill", "artifact": fills("W-2", ""), "context": CTX},
            422,
            {
                "kind": "schema",
                "path": "artifact.fills[1].candidate_id",
                "message": "artifact.fills[1].candidate_id: expected non-empty string",
            },
        ),
        (
            {
                "kind": "fill",
                "artifact": fills("W-2", "W-3"),
                "context": {**CTX, "target_count": 2.0},
            },
            422,
            {
                "kind": "schema",
                "path": "context.target_count",
                "message": "context.target_count: expected integer >= 1",
            },
        ),
        (
            {"kind": "fill", "artifact": [], "context": CTX},
            422,
            {"kind": "schema", "path": "artifact", "message": "artifact: expected object"},
        ),
        (
            {"kind": "memo"},
            422,
            {
                "kind": "schema",
                "path": "kind",
                "message": "kind: expected one of fill, email, playbook",
            },
        ),
        (
            {
                "kind": "email",
                "context": {"candidate_id": "W-1"},
                "artifact": {"candidate_id": "W-1", "subject": "s" * 201, "body": "b"},
            },
            422,
            {
                "kind": "schema",
                "path": "artifact.subject",
                "message": "artifact.subject: expected at most 200 characters",
            },
        ),
        (
            {
                "kind": "email",
                "context": {"candidate_id": "W-1"},
                "artifact": {"candidate_id": "W-2", "subject": "s", "body": "b"},
            },
            422,
            {
                "kind": "consistency",
                "path": "artifact.candidate_id",
                "message": "candidate_id 'W-2' doesn't match contract candidate_id 'W-1'",
            },
        ),
        (
            {
                "kind": "email",
                "context": {"candidate_id": "W-0"},
                "artifact": {"candidate_id": "W-0", "subject": "s", "body": "b"},
            },
            422,
            {
                "kind": "phantom",
                "path": "artifact.candidate_id",
                "message": "candidate 'W-0' is not in the roster",
            },
        ),
        (
            {"kind": "playbook", "artifact": {"title": "t", "steps": []}},
            422,
            {
                "kind": "schema",
                "path": "artifact.steps",
                "message": "artifact.steps: expected 1 to 20 items",
            },
        ),
        (
            {"kind": "playbook", "artifact": {"title": "t", "steps": ["a", 1]}},
            422,
            {
                "kind": "schema",
                "path": "artifact.steps[1]",
                "message": "artifact.steps[1]: expected non-empty string",
            },
        ),
        (
            {"kind": "playbook", "artifact": {"title": "t", "steps": ["a", "b"]}},
            200,
            {"kind": "playbook", "valid": True, "checked": 2},
        ),
    ],
)
def test_rules(roster: Roster, request_body: Any, status: int, body: dict[str, Any]) -> None:
    outcome = validate(request_body, roster)
    assert (outcome.status, outcome.body) == (status, body)


@pytest.mark.parametrize("text", ["not json", "[1]", "null", '"fill"', "{"])
def test_non_objects_are_schema_errors_at_the_root(roster: Roster, text: str) -> None:
    outcome = validate_text(text, roster)
    assert outcome.body == {"kind": "schema", "path": "$", "message": "$: expected object"}


def test_fixture_cases(repo: Path, roster: Roster) -> None:
    path = repo / "fixtures" / "validate" / "cases.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 20
    for number, line in enumerate(lines, start=1):
        case = json.loads(line)
        outcome = validate_text(case["request_text"], roster)
        assert (outcome.status, outcome.body) == (case["expected_status"], case["expected_body"]), (
            f"{path.name}:{number} {case['name']}"
        )


def test_roster_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "roster.jsonl"
    good = json.dumps(
        {
            "candidate_id": "A",
            "name": "n",
            "city": "c",
            "state": "s",
            "role": "r",
            "available": True,
        }
    )
    bad.write_text(good + "\n\n" + good + "\n")
    with pytest.raises(RosterError, match=r"roster.jsonl:3: duplicate"):
        load_roster(bad)
    bad.write_text('{"candidate_id": "A"}\n')
    with pytest.raises(RosterError, match=r"roster.jsonl:1: name"):
        load_roster(bad)
