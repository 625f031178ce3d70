"""extract_json (CONTRACT §1): unit cases, properties, and serde parity."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_impl import extract_json, fenced_candidates
from reference_impl.jsonmodel import dumps, loads
from reference_impl.probes import answer_extract_json
from tests.oracle import SerdeOracle
from tests.strategies_json import MODEL_OUTPUT, json_objects, literal

PROSE = st.text(alphabet=st.characters(blacklist_characters="{}`"), max_size=30)
PLAIN = st.text(
    alphabet=st.characters(blacklist_characters="{}`", blacklist_categories=["Cs"]), max_size=6
)


def canonical(value: Any) -> str:
    return dumps(loads(dumps(value)))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            'Here:\n```json\n{"fills": [{"candidate_id": "W-1"}]}\n```\nDone.',
            {"fills": [{"candidate_id": "W-1"}]},
        ),
        ('Here you go: {"fills": [{"candidate_id": "W-2"}]}', {"fills": [{"candidate_id": "W-2"}]}),
        ("just prose, no json", None),
        ('{"a":1} then {"b":2}', {"a": 1}),
        ('```{"a":1}```', {"a": 1}),  # no newline after the fence: body starts right after it
        ('```\n[1]\n``` and {"b": 2}', {"b": 2}),  # a fenced array is not an object
        ('{"b": 2}\n```json\n{"a": 1}\n```', {"a": 1}),  # fenced beats an earlier bare object
        ('```json\n{"a": 1}', {"a": 1}),  # unclosed fence: the scan finds the object
        ('} {"a": 1}', None),  # a stray } leaves the depth negative for good
        ('{"a": "}"} {"b": 1}', None),  # braces in strings count (a kept quirk)
        ('{"a": "{"} {"b": 1}', None),
        ("[1, 2, 3]", None),
        ('{"a": 1e400} {"b": 1}', {"b": 1}),
        ('{"a": "\\ud800"}', None),
        ('{"s": "say \\"hi\\""}', {"s": 'say "hi"'}),
        ('{"name": "Café résumé  你好"}', {"name": "Café résumé  你好"}),
        ('{"a": {"b": {"c": [1, {"d": null}]}}}', {"a": {"b": {"c": [1, {"d": None}]}}}),
    ],
)
def test_extract_json_cases(raw: str, expected: dict[str, Any] | None) -> None:
    found = extract_json(raw)
    assert (None if found is None else dumps(found)) == (
        None if expected is None else canonical(expected)
    )


def test_fence_body_trims_unicode_white_space_only() -> None:
    assert fenced_candidates("```\n\u00a0{}\u3000\n```") == ["{}"]
    assert fenced_candidates("```\n\u001c{}\n```") == ["\u001c{}"]
    assert extract_json('```\n\u001c{"a": 1}\n```') == {"a": 1}  # the brace scan still finds it


def test_info_string_ends_at_the_first_newline_even_past_the_next_fence() -> None:
    assert fenced_candidates('```{"a":1}```\nrest') == []


def test_numbers_keep_their_type() -> None:
    assert answer_extract_json('{"i": 1, "f": 1.0, "z": -0, "e": 1E2}') == (
        '{"matched":true,"value":{"e":100.0,"f":1.0,"i":1,"z":-0.0}}'
    )


@given(PROSE, json_objects(PLAIN), PROSE)
def test_object_in_prose_comes_back_equal(before: str, obj: dict[str, Any], after: str) -> None:
    found = extract_json(before + literal(obj) + after)
    assert found is not None
    assert dumps(found) == canonical(obj)


@given(PROSE, json_objects(PLAIN), json_objects(PLAIN))
def test_fenced_beats_bare(before: str, bare: dict[str, Any], fenced: dict[str, Any]) -> None:
    raw = f"{before}{literal(bare)}\n```json\n{literal(fenced)}\n```"
    found = extract_json(raw)
    assert found is not None and dumps(found) == canonical(fenced)


@given(MODEL_OUTPUT)
def test_extract_json_matches_serde(serde_oracle: SerdeOracle, raw: str) -> None:
    assert answer_extract_json(raw) == serde_oracle.ask("extract", raw)
