"""The iterate loop (CONTRACT §2) over scripted hops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reference_impl.iterate import (
    NO_JSON_SUFFIX,
    HopError,
    IterateRequest,
    RequestError,
    iterate,
    retry_prompt_after_failure,
)
from reference_impl.jsonmodel import JsonValue, dumps
from reference_impl.roster import Roster, load_roster
from reference_impl.validate import validate as validate_request

FILL_CONTEXT = {"target_count": 1, "city": "Toledo", "state": "OH", "role": "Welder"}


@pytest.fixture(scope="module")
def roster(repo: Path) -> Roster:
    return load_roster(repo / "fixtures" / "roster.jsonl")


class Script:
    """A scripted model: the n-th call gets the n-th reply (or raises it)."""

    def __init__(self, *replies: str | HopError) -> None:
        self._replies: Iterator[str | HopError] = iter(replies)
        self.bodies: list[dict[str, JsonValue]] = []

    def __call__(self, body: dict[str, JsonValue]) -> str:
        self.bodies.append(body)
        reply = next(self._replies)
        if isinstance(reply, HopError):
            raise reply
        return reply


def run(roster: Roster, script: Script, **request: Any) -> Any:
    fields: dict[str, Any] = {
        "kind": "fill",
        "prompt": "Fill 1 welder",
        "provider": "p",
        "model": "m",
        "context": FILL_CONTEXT,
        **request,
    }

    def validate(body: dict[str, JsonValue]) -> tuple[int, JsonValue]:
        outcome = validate_request(body, roster)
        return outcome.status, outcome.body

    return iterate(
        IterateRequest(**fields),
        trace_id="trace-1",
        generate=script,
        validate=validate,
        roster=roster,
    )


def test_no_json_then_invalid_then_accepted(roster: Roster) -> None:
    script = Script(
        "no json here",
        '{"fills": [{"candidate_id": "W-1"}]}',
        'ok ```json\n{"fills": [{"candidate_id": "W-2"}]}\n```',
    )
    outcome = run(roster, script)
    assert outcome.status == 200
    error = (
        '{"kind":"consistency","message":"city \'Louisville\' doesn\'t match contract city '
        '\'Toledo\'","path":"artifact.fills[0].candidate_id"}'
    )
    assert [b["messages"][-1]["content"] for b in script.bodies] == [
        "Fill 1 welder",
        "Fill 1 welder" + NO_JSON_SUFFIX,
        retry_prompt_after_failure("Fill 1 welder", error),
    ]
    body = outcome.body
    assert body["iterations"] == 3 and body["trace_id"] == "trace-1"
    assert [h["status"] for h in body["history"]] == [
        {"kind": "no_json"},
        {"kind": "validation_failed", "error": error},
        {"kind": "accepted"},
    ]
    assert body["validation"] == {"checked": 1, "kind": "fill", "valid": True}
    row = outcome.record.to_dict()
    assert row["final_verdict"] == "accepted" and row["grounded_in_roster"] is True
    assert [a["verdict_kind"] for a in row["attempts"]] == [
        "no_json",
        "validation_failed",
        "accepted",
    ]
    assert row["attempts"][1]["error"] == error


def test_exhausted_after_max_iterations(roster: Roster) -> None:
    outcome = run(roster, Script("a", "b"), max_iterations=2)
    assert outcome.status == 422
    assert outcome.body["error"] == "max iterations reached (2) without passing validation"
    assert outcome.record.iterations == 2 and outcome.record.final_verdict == "max_iter_exhausted"


@pytest.mark.parametrize(("given", "effective"), [(None, 3), (0, 1), (1, 1), (5, 5)])
def test_max_iterations_default_and_clamp(
    roster: Roster, given: int | None, effective: int
) -> None:
    outcome = run(roster, Script(*["x"] * 5), max_iterations=given)
    assert outcome.body["iterations"] == effective
    assert outcome.record.max_iterations == effective


def test_chat_hop_failure_is_a_502_and_an_infra_row(roster: Roster) -> None:
    outcome = run(roster, Script("x", HopError("chat 500: boom")))
    assert outcome.status == 502
    assert outcome.body == "/v1/chat hop failed at iter 1: chat 500: boom"
    row = outcome.record.to_dict()
    assert row["iterations"] == 0 and row["final_verdict"] == "infra_error"
    assert row["attempts"] == [
        {"iteration": 0, "verdict_kind": "infra_error", "error": outcome.body}
    ]


def test_chat_body_defaults_and_system_message(roster: Roster) -> None:
    script = Script('{"fills": [{"candidate_id": "W-2"}]}')
    run(roster, script, system="be terse")
    assert script.bodies[0] == {
        "messages": [
            {"role": "system", "content": "be terse"},
            {"role": "user", "content": "Fill 1 welder"},
        ],
        "provider": "p",
        "model": "m",
        "temperature": 0.2,
        "max_tokens": 4096,
    }


def test_raw_is_cut_to_2000_characters(roster: Roster) -> None:
    outcome = run(roster, Script("é" * 2500), max_iterations=1)
    assert outcome.body["history"][0]["raw"] == "é" * 2000


def test_validate_hop_failure_is_a_validation_failure(roster: Roster) -> None:
    def failing(body: dict[str, JsonValue]) -> tuple[int, JsonValue]:
        raise HopError("validate hop: connection refused")

    outcome = iterate(
        IterateRequest(kind="playbook", prompt="p", provider="p", model="m", max_iterations=1),
        trace_id="t",
        generate=Script('{"a": 1}'),
        validate=failing,
        roster=roster,
    )
    assert outcome.body["history"][0]["status"] == {
        "kind": "validation_failed",
        "error": "validate hop: connection refused",
    }


def test_request_parsing() -> None:
    assert (
        IterateRequest.from_json(
            {"kind": "fill", "prompt": "p", "provider": "x", "model": "m"}
        ).effective_max_iterations
        == 3
    )
    for bad in [
        [],
        {"kind": "fill"},
        {"kind": 1, "prompt": "p", "provider": "x", "model": "m"},
        {"kind": "fill", "prompt": "p", "provider": "x", "model": "m", "max_iterations": -1},
    ]:
        with pytest.raises(RequestError):
            IterateRequest.from_json(bad)


def test_error_text_is_compact_sorted_serde_text(roster: Roster) -> None:
    outcome = run(roster, Script('{"fills": [{"candidate_id": "Ω-9"}]}'), max_iterations=1)
    error = outcome.body["history"][0]["status"]["error"]
    assert error == dumps(
        {
            "kind": "phantom",
            "message": "candidate 'Ω-9' is not in the roster",
            "path": "artifact.fills[0].candidate_id",
        }
    )
