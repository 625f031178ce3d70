"""The contract's number model and parser rules, against serde_json itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_impl.jsonmodel import JsonError, dumps, format_float, loads, number_from_literal
from tests.oracle import SerdeOracle
from tests.strategies_json import NUMBERS, json_values, literal


def reference_parse(text: str) -> str:
    try:
        return dumps({"ok": True, "value": loads(text)})
    except JsonError:
        return dumps({"ok": False})


@pytest.mark.parametrize(
    ("literal_text", "expected"),
    [
        ("1", 1),
        ("-0", -0.0),
        ("0", 0),
        ("1E2", 100.0),
        ("1.0", 1.0),
        ("18446744073709551615", 2**64 - 1),
        ("-9223372036854775808", -(2**63)),
        ("18446744073709551616", 18446744073709551616.0),
        ("-9223372036854775809", -9223372036854775809.0),
        ("1e-400", 0.0),
    ],
)
def test_number_model(literal_text: str, expected: int | float) -> None:
    value = number_from_literal(literal_text)
    assert type(value) is type(expected)
    assert dumps(value) == dumps(expected)


def test_minus_zero_is_a_negative_double() -> None:
    assert dumps(loads("-0")) == "-0.0"
    assert dumps(loads("[0, -0, -0.0]")) == "[0,-0.0,-0.0]"


@pytest.mark.parametrize(
    "text",
    [
        "1e400",
        "-1e400",
        "NaN",
        "Infinity",
        "-Infinity",
        '"\\ud800"',
        '"\\udc00"',
        '{"a": "\\ud800", "a": 1}',
        '{"a": 1,}',
        "[1,]",
        "// c\n{}",
        "'a'",
        '"\x01"',
        "\ufeff{}",
        "1" * 400,
        "01",
        "1.",
        ".5",
        "+1",
    ],
)
def test_contract_rejects(text: str) -> None:
    with pytest.raises(JsonError):
        loads(text)


def test_depth_limit_counts_the_object_as_level_one() -> None:
    assert loads("[" * 127 + "]" * 127) is not None
    with pytest.raises(JsonError):
        loads("[" * 128 + "]" * 128)
    with pytest.raises(JsonError):  # over-deep even where a duplicate would replace it
        loads('{"a": ' + "[" * 127 + "]" * 127 + ', "a": 1}')


def test_duplicate_key_keeps_the_last_value_and_keys_sort() -> None:
    assert dumps(loads('{"b": 1, "a": 2, "b": 3}')) == '{"a":2,"b":3}'


def test_keys_sort_by_code_point() -> None:
    text = json.dumps({"é": 1, "z": 2, "Z": 3, "😀": 4, "\uffff": 5})
    assert list(loads(text)) == ["Z", "z", "é", "\uffff", "😀"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1.0"),
        (1e16, "1e+16"),
        (1e15, "1000000000000000.0"),
        (1.5e-7, "1.5e-7"),
        (1e-5, "0.00001"),
        (1e-6, "1e-6"),
        (0.1, "0.1"),
        (-0.0, "-0.0"),
        (5e-324, "5e-324"),
        (1.2345678901234568e20, "1.2345678901234568e+20"),
        (1e300, "1e+300"),
    ],
)
def test_floats_are_written_as_serde_json_writes_them(value: float, text: str) -> None:
    assert format_float(value) == text


@given(NUMBERS)
def test_numbers_match_serde(serde_oracle: SerdeOracle, number: int | float) -> None:
    text = literal(number)
    assert reference_parse(text) == serde_oracle.ask("parse", text)


@given(json_values())
def test_values_match_serde(serde_oracle: SerdeOracle, value: object) -> None:
    text = literal(value)
    assert reference_parse(text) == serde_oracle.ask("parse", text)


@given(st.text(alphabet=st.sampled_from('[]{}",:0123456789.eE-+ \\utrnfldx'), max_size=24))
def test_near_json_text_matches_serde(serde_oracle: SerdeOracle, text: str) -> None:
    assert reference_parse(text) == serde_oracle.ask("parse", text)


def _suite_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json"))


def test_json_test_suite_matches_serde(json_test_suite: Path, serde_oracle: SerdeOracle) -> None:
    mismatches = []
    for path in _suite_files(json_test_suite):
        text = path.read_bytes().decode("utf-8", errors="replace")
        if reference_parse(text) != serde_oracle.ask("parse", text):
            mismatches.append(path.name)
    assert mismatches == []


def test_json_test_suite_expectations(json_test_suite: Path) -> None:
    wrong = []
    for path in _suite_files(json_test_suite):
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue  # invalid UTF-8 never reaches the parser: the probe decodes lossily
        accepted = reference_parse(text).startswith('{"ok":true')
        if (path.name.startswith("y_") and not accepted) or (
            path.name.startswith("n_") and accepted
        ):
            wrong.append(path.name)
    assert wrong == []
