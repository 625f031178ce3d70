"""harness.compare: every CONTRACT §6 class from a concrete pair, projection, blame."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.compare import (
    Projection,
    blame,
    classify,
    compare,
    format_path,
    matched_difference,
    parse_output,
    status_difference,
    strictly_equal,
)
from harness.compare.walk import exact
from harness.model import Difference, DivergenceClass
from harness.volatile import ID_SHAPE
from tests.oracle_deepdiff import structural
from tests.strategies_json import json_values

C = DivergenceClass
PLAIN = Projection()


def diff(
    expected_text: str, actual_text: str, projection: Projection = PLAIN
) -> tuple[Difference, ...]:
    return compare(
        parse_output(expected_text),
        parse_output(actual_text),
        expected_text=expected_text,
        actual_text=actual_text,
        projection=projection,
    )


def classes(expected_text: str, actual_text: str, projection: Projection = PLAIN) -> list[Any]:
    return [(d.cls, d.path) for d in diff(expected_text, actual_text, projection)]


# --------------------------------------------------------------------------- parse_output


def test_parse_output_keeps_number_types_and_big_integers_exact() -> None:
    value = parse_output('{"i": 1, "f": 1.0, "e": 1E2, "big": 123456789012345678901234567890}')
    assert value == {"i": 1, "f": 1.0, "e": 100.0, "big": 123456789012345678901234567890}
    assert type(value["i"]) is int and type(value["f"]) is float and type(value["e"]) is float
    assert type(value["big"]) is int


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}', "1e400", "nope", ""])
def test_parse_output_rejects_non_json(text: str) -> None:
    with pytest.raises(ValueError):
        parse_output(text)


def test_parse_output_rejects_trailing_garbage() -> None:
    with pytest.raises(ValueError):
        parse_output('{"a": 1} {"b": 2}')


# --------------------------------------------------------------------------- §6 classes


def test_identical_outputs_have_no_difference() -> None:
    assert diff('{"a": [1, 2.5, "x", null, true]}', '{"a": [1, 2.5, "x", null, true]}') == ()


def test_number_precision_contract_example() -> None:
    (found,) = diff('{"n": 12345678901234567890}', '{"n": 12345678901234567000}')
    assert (found.cls, found.path) == (C.NUMBER_PRECISION, "$.n")
    assert (found.expected, found.actual) == (12345678901234567890, 12345678901234567000)


def test_number_precision_within_relative_tolerance() -> None:
    assert classes("[1e300]", "[1.0000000000000002e300]") == [(C.NUMBER_PRECISION, "$[0]")]
    assert classes("[0.30000000000000004]", "[0.3]") == [(C.NUMBER_PRECISION, "$[0]")]


def test_number_type_contract_example() -> None:
    (found,) = diff('{"value": {"a": 1.0}}', '{"value": {"a": 1}}')
    assert (found.cls, found.path, found.expected, found.actual) == (
        C.NUMBER_TYPE,
        "$.value.a",
        1.0,
        1,
    )
    assert type(found.expected) is float and type(found.actual) is int


def test_negative_zero_against_integer_zero_is_number_type() -> None:
    assert classes('{"a": -0.0}', '{"a": 0}') == [(C.NUMBER_TYPE, "$.a")]


def test_negative_zero_against_positive_zero_is_number_precision() -> None:
    # -0.0 == 0.0 in Python and in deepdiff; the sign is still a different double.
    assert classes('{"a": [-0.0]}', '{"a": [0.0]}') == [(C.NUMBER_PRECISION, "$.a[0]")]


def test_different_numbers_are_value() -> None:
    assert classes('{"a": 1}', '{"a": 2}') == [(C.VALUE, "$.a")]
    assert classes('{"a": 1.5}', '{"a": 1}') == [(C.VALUE, "$.a")]


def test_null_vs_absent_contract_example_both_ways() -> None:
    (missing,) = diff('{"error": null, "x": 1}', '{"x": 1}')
    assert (missing.cls, missing.path) == (C.NULL_VS_ABSENT, "$.error")
    assert "absent on the target" in missing.note
    (extra,) = diff('{"x": 1}', '{"x": 1, "error": null}')
    assert (extra.cls, extra.path) == (C.NULL_VS_ABSENT, "$.error")
    assert "absent on the reference" in extra.note


def test_missing_field_contract_example() -> None:
    (found,) = diff('{"trace_id": "t-1", "iterations": 1}', '{"iterations": 1}')
    assert (found.cls, found.path, found.expected) == (C.MISSING_FIELD, "$.trace_id", "t-1")


def test_extra_field() -> None:
    (found,) = diff('{"a": 1}', '{"a": 1, "debug": {"x": 1}}')
    assert (found.cls, found.path, found.actual) == (C.EXTRA_FIELD, "$.debug", {"x": 1})


def test_type_contract_example_string_against_object() -> None:
    (found,) = diff('{"error": "boom"}', '{"error": {"message": "boom"}}')
    assert (found.cls, found.path) == (C.TYPE, "$.error")
    assert found.actual == {"message": "boom"}


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ("[true]", "[1]"),
        ('{"a": true}', '{"a": 1}'),
        ("[0]", "[false]"),
        ('{"a": null}', '{"a": 0}'),
    ],
)
def test_bool_and_null_never_equal_numbers(expected: str, actual: str) -> None:
    (found,) = diff(expected, actual)
    assert found.cls is C.TYPE


def test_value_for_strings_and_booleans() -> None:
    assert classes('{"s": "a", "b": true}', '{"s": "b", "b": false}') == [
        (C.VALUE, "$.b"),
        (C.VALUE, "$.s"),
    ]


def test_array_length_is_one_value_difference_at_the_array() -> None:
    (found,) = diff('{"history": [1, 2, 3]}', '{"history": [1, 2]}')
    assert (found.cls, found.path, found.expected, found.actual) == (C.VALUE, "$.history", 3, 2)
    assert found.note == "array length 3 vs 2"


def test_array_elements_compare_index_by_index() -> None:
    # Not aligned by difflib: index 1 differs, and the length too.
    assert classes("[1, 2, 3]", "[1, 3]") == [(C.VALUE, "$"), (C.VALUE, "$[1]")]


def test_objects_with_no_key_in_common_report_each_key() -> None:
    assert classes('{"x": {"a": 1}}', '{"x": {"b": 1}}') == [
        (C.MISSING_FIELD, "$.x.a"),
        (C.EXTRA_FIELD, "$.x.b"),
    ]


def test_keys_that_look_private_are_compared() -> None:
    assert classes('{"__a": 1, "_b": 1}', '{"__a": 2, "_b": 1}') == [(C.VALUE, "$.__a")]


def test_paths_quote_keys_that_are_not_identifiers() -> None:
    assert classes('{"a b": {"c": "x"}}', '{"a b": {"c": "y"}}') == [(C.VALUE, '$["a b"].c')]
    assert format_path(["a", 0, "x-y", 'q"']) == '$.a[0]["x-y"]["q\\""]'


def test_status_and_matched_differences() -> None:
    status = status_difference(200, 422)
    assert (status.cls, status.path, status.expected, status.actual) == (C.STATUS, "$", 200, 422)
    found = matched_difference({"matched": True, "value": {}}, {"matched": False, "value": None})
    assert found is not None and (found.cls, found.path) == (C.MATCHED, "$.matched")
    assert matched_difference({"matched": True}, {"matched": True}) is None


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        (None, 0),
        (1, 1.0),
        (True, 1),
        ("1", 1),
        ([], {}),
    ],
)
def test_classify_types(expected: Any, actual: Any) -> None:
    assert classify(expected, actual) in (C.TYPE, C.NUMBER_TYPE)
    assert classify(expected, expected) is None


# --------------------------------------------------------------------------- encoding_only


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ('{"a":"<b>"}', '{"a":"\\u003cb\\u003e"}'),  # Go's HTML escaping
        ('{"a":1,"b":2}', '{"b":2,"a":1}'),  # key order
        ('{"a":1,"b":[1,2]}', '{ "a": 1, "b": [1, 2] }\n'),  # whitespace
        ('{"a":1e16}', '{"a":1e+16}'),  # float spelling
        ('{"a":"é"}', '{"a":"\\u00e9"}'),  # non-ASCII escaping
    ],
)
def test_encoding_only(expected: str, actual: str) -> None:
    (found,) = diff(expected, actual)
    assert (found.cls, found.path) == (C.ENCODING_ONLY, "$")
    assert "first difference at byte" in found.note
    assert not found.cls.fails_gate


def test_encoding_only_reports_the_first_differing_byte() -> None:
    (found,) = diff('{"a":"<"}', '{"a":"\\u003c"}')
    assert "byte 6 " in found.note
    assert found.expected.endswith('"<"}') and "\\u003c" in found.actual


def test_structural_difference_suppresses_encoding_only() -> None:
    assert classes('{"a": 1, "b": "<"}', '{"b": "\\u003c", "a": 2}') == [(C.VALUE, "$.a")]


# --------------------------------------------------------------------------- projection

SESSION = Projection(
    drop=("$.timestamp", "$.daemon", "$.duration_ms"),
    shape_only={"$.session_id": ID_SHAPE, "$.attempts[*].span_id": r"[0-9a-f]{16}"},
    json_strings=("$.attempts[*].error",),
)


def row(**fields: Any) -> str:
    base: dict[str, Any] = {
        "schema": "session.iterate.v1",
        "session_id": "abc-123",
        "timestamp": "2025-01-01T00:00:00Z",
        "daemon": "gateway",
        "attempts": [{"iteration": 0, "verdict_kind": "accepted", "span_id": "0123456789abcdef"}],
        "duration_ms": 12,
    }
    base.update(fields)
    return json.dumps(base, separators=(",", ":"))


def test_volatile_fields_are_stripped() -> None:
    expected = row()
    actual = row(timestamp="2030-06-06T12:00:00.123Z", daemon="validatord", duration_ms=99999)
    assert diff(expected, actual, SESSION) == ()


def test_volatile_field_spelling_is_not_an_encoding_difference() -> None:
    expected = row(duration_ms=1)
    actual = row(duration_ms=1.0, timestamp="2025-01-01T00:00:00+00:00")
    assert diff(expected, actual, SESSION) == ()


def test_nested_drop_path() -> None:
    projection = Projection(drop=("$.row.timestamp",))
    # Where the dropped member sits does not matter either.
    assert (
        diff('{"row":{"timestamp":1,"a":1}}', '{"row":{"a":1,"timestamp":"x"}}', projection) == ()
    )
    assert classes(
        '{"timestamp":1,"row":{"a":1}}', '{"timestamp":2,"row":{"a":1}}', projection
    ) == [(C.VALUE, "$.timestamp")]


def test_without_projection_volatile_fields_differ() -> None:
    assert classes(row(), row(daemon="validatord")) == [(C.VALUE, "$.daemon")]


def test_shape_only_compares_presence_and_shape() -> None:
    attempts = [{"iteration": 0, "verdict_kind": "accepted", "span_id": "fedcba9876543210"}]
    assert diff(row(), row(session_id="zz_99", attempts=attempts), SESSION) == ()


def test_shape_only_value_that_breaks_the_shape_is_a_value_difference() -> None:
    (found,) = diff(row(), row(session_id="has spaces!"), SESSION)
    assert (found.cls, found.path) == (C.VALUE, "$.session_id")
    assert found.expected == "<shape:session_id>" and found.actual == "has spaces!"


def test_shape_only_field_missing_is_missing_field() -> None:
    (found,) = diff(row(), row(attempts=[{"iteration": 0, "verdict_kind": "accepted"}]), SESSION)
    assert (found.cls, found.path) == (C.MISSING_FIELD, "$.attempts[0].span_id")


def error_row(error: Any) -> str:
    attempt = {"iteration": 0, "verdict_kind": "validation_failed", "error": error}
    return row(attempts=[attempt])


def test_json_string_same_value_different_bytes_is_encoding_only_at_that_path() -> None:
    expected = error_row('{"kind":"count","message":"<x>","path":"artifact.fills"}')
    actual = error_row('{"path":"artifact.fills","kind":"count","message":"\\u003cx\\u003e"}')
    (found,) = diff(expected, actual, SESSION)
    assert (found.cls, found.path) == (C.ENCODING_ONLY, "$.attempts[0].error")
    assert "JSON text" in found.note


def test_json_string_differences_continue_inside() -> None:
    expected = error_row('{"kind":"count","message":"expected 2 fills, got 1"}')
    actual = error_row('{"kind":"count","message":"expected 2 fills, got 3"}')
    assert classes(expected, actual, SESSION) == [(C.VALUE, "$.attempts[0].error<json>.message")]
    expected = error_row('{"n":1}')
    actual = error_row('{"n":1.0,"extra":null}')
    assert classes(expected, actual, SESSION) == [
        (C.NULL_VS_ABSENT, "$.attempts[0].error<json>.extra"),
        (C.NUMBER_TYPE, "$.attempts[0].error<json>.n"),
    ]


def test_json_string_that_does_not_parse_compares_as_string() -> None:
    (found,) = diff(error_row('{"n":1}'), error_row("not json"), SESSION)
    assert (found.cls, found.path) == (C.VALUE, "$.attempts[0].error")
    assert (found.expected, found.actual) == ('{"n":1}', "not json")


def test_json_string_against_an_object_is_type() -> None:
    (found,) = diff(error_row('{"n":1}'), error_row({"n": 1}), SESSION)
    assert (found.cls, found.path, found.expected) == (C.TYPE, "$.attempts[0].error", '{"n":1}')


def test_outer_encoding_of_a_json_string_is_still_checked() -> None:
    expected = error_row('{"m":"<"}')
    actual = expected.replace("<", "\\u003c")  # same decoded string, different outer bytes
    assert classes(expected, actual, SESSION) == [(C.ENCODING_ONLY, "$")]


def test_missing_json_string_reports_its_text() -> None:
    without = row(attempts=[{"iteration": 0, "verdict_kind": "validation_failed"}])
    (found,) = diff(error_row('{"n":1}'), without, SESSION)
    assert found.cls is C.MISSING_FIELD and found.path == "$.attempts[0].error"
    assert found.expected == '{"n":1}'


def test_bad_projection_path_is_refused() -> None:
    with pytest.raises(ValueError):
        compare(1, 1, expected_text="1", actual_text="1", projection=Projection(drop=("a.b",)))


# --------------------------------------------------------------------------- blame


def test_blame_groups_targets_that_answered_alike() -> None:
    expected = '{"value": {"a": 1.0}, "fills": [{"id": "x"}, {"id": "y"}], "s": "ok"}'
    same = '{"value": {"a": 1}, "fills": [{"id": "x"}, {"id": "y"}], "s": "ok"}'
    failures = blame("extract_json", {"go": diff(expected, same), "rust": diff(expected, same)})
    [shared] = failures
    assert shared.blamed == ("go", "rust")
    assert shared.message == "go, rust: number_type at $.value.a (reference 1.0, go 1, rust 1)"
    assert shared.suite == "extract_json"


def test_blame_splits_targets_that_answered_differently() -> None:
    """Both write 1 for 1.0, but each also differs elsewhere: two faults."""
    expected = '{"value": {"a": 1.0}, "fills": [{"id": "x"}, {"id": "y"}], "s": "ok"}'
    go = '{"value": {"a": 1}, "fills": [{"id": "x"}, {"id": "z"}], "s": "ok"}'
    rust = '{"value": {"a": 1}, "fills": [{"id": "x"}, {"id": "y"}], "s": "no"}'
    failures = blame("extract_json", {"go": diff(expected, go), "rust": diff(expected, rust)})
    summary = [(f.cls, f.path, f.blamed) for f in failures]
    assert summary == [
        (C.VALUE, "$.fills[*].id", ("go",)),
        (C.VALUE, "$.s", ("rust",)),
        (C.NUMBER_TYPE, "$.value.a", ("go",)),
        (C.NUMBER_TYPE, "$.value.a", ("rust",)),
    ]
    assert len({f.fingerprint for f in failures}) == 4


def test_blame_message_single_target_and_absent_side() -> None:
    (failure,) = blame("s", {"go": diff('{"value": {"a": 1.0}}', '{"value": {"a": 1}}')})
    assert failure.message == "go: number_type at $.value.a (reference 1.0, go 1)"
    (missing,) = blame("s", {"go": diff('{"trace_id": "t"}', "{}")})
    assert missing.message == 'go: missing_field at $.trace_id (reference "t", go absent)'


def test_blame_ignores_the_reference_and_empty_targets() -> None:
    assert blame("s", {"go": (), "rust": ()}) == ()
    assert blame("s", {"reference": (status_difference(1, 2),)}) == ()


def test_blame_is_deterministic_and_generalises_indices() -> None:
    diffs = {
        "rust": (Difference(C.VALUE, "$.a[3]", 1, 2),),
        "go": (Difference(C.VALUE, "$.a[0]", 1, 2), Difference(C.VALUE, "$.a[1]", 1, 3)),
    }
    go, rust = blame("s", diffs)
    # Different places under one generalised path: two mistakes, blamed apart.
    assert (go.path, go.blamed) == ("$.a[*]", ("go",))
    assert (rust.path, rust.blamed) == ("$.a[*]", ("rust",))
    assert go.message.startswith("go: value at $.a[0]")
    assert blame("s", diffs) == blame("s", dict(reversed(diffs.items())))


def test_blame_shares_a_failure_only_for_the_same_answer() -> None:
    same = (Difference(C.VALUE, "$.a[0]", 1, 2),)
    (joint,) = blame("s", {"go": same, "rust": same})
    assert joint.blamed == ("go", "rust")
    other = (Difference(C.VALUE, "$.a[0]", 1, 3),)
    assert [f.blamed for f in blame("s", {"go": same, "rust": other})] == [("go",), ("rust",)]


# --------------------------------------------------------------------------- properties


def shuffled_text(value: Any, rng: random.Random) -> str:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        inner = ", ".join(json.dumps(k) + ": " + shuffled_text(v, rng) for k, v in items)
        return "{ " + inner + " }"
    if isinstance(value, list):
        return "[ " + ", ".join(shuffled_text(v, rng) for v in value) + " ]"
    return json.dumps(value)


@given(json_values())
def test_a_value_never_differs_from_itself(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False)
    assert (
        compare(
            parse_output(text),
            parse_output(text),
            expected_text=text,
            actual_text=text,
            projection=PLAIN,
        )
        == ()
    )


@given(json_values(), st.randoms(use_true_random=False))
def test_respelling_a_value_is_at_most_encoding_only(value: Any, rng: random.Random) -> None:
    compact = json.dumps(value, separators=(",", ":"))
    spaced = shuffled_text(value, rng)
    found = diff(compact, spaced)
    assert all(d.cls is C.ENCODING_ONLY and d.path == "$" for d in found)
    assert len(found) == (0 if compact == spaced else 1)


def mutate(value: Any, rng: random.Random) -> Any:
    """A near copy: most of the tree kept, a few leaves, keys or lengths changed."""
    roll = rng.random()
    if isinstance(value, dict):
        out = {k: mutate(v, rng) if rng.random() < 0.5 else v for k, v in value.items()}
        if roll < 0.2 and out:
            out.pop(rng.choice(sorted(out)))
        elif roll < 0.4:
            out[rng.choice(["__x", "new", "a"])] = rng.choice([None, 1, "s"])
        return out
    if isinstance(value, list):
        out_list = [mutate(v, rng) if rng.random() < 0.5 else v for v in value]
        return out_list[:-1] if roll < 0.2 and out_list else out_list + ([0] if roll < 0.4 else [])
    if roll < 0.5:
        return value
    return rng.choice([None, True, False, 0, 1, 1.0, -0.0, 0.0, "1", [], {}, 2**64, float(2**64)])


@given(json_values(), st.randoms(use_true_random=False))
def test_deepdiff_mapping_agrees_with_an_exact_walk(value: Any, rng: random.Random) -> None:
    other = mutate(value, rng)
    text_a, text_b = json.dumps(value), json.dumps(other)
    a, b = parse_output(text_a), parse_output(text_b)
    via_deepdiff = sorted((d.cls, d.path) for d in structural(a, b))
    via_walk = sorted((d.cls, d.path) for d in exact(a, b))
    assert via_deepdiff == via_walk


def test_strict_equality_follows_the_number_model() -> None:
    assert strictly_equal({"a": [1, "x", None]}, {"a": [1, "x", None]})
    assert strictly_equal({"a": 1, "b": 2}, {"b": 2, "a": 1})  # key order is free
    for a, b in [(1, 1.0), (True, 1), (False, 0), (-0.0, 0.0), ([1], [1, 1]), ({"a": None}, {})]:
        assert not strictly_equal(a, b) and not strictly_equal(b, a)


@given(json_values(), st.randoms(use_true_random=False))
def test_strictly_equal_exactly_when_the_walk_finds_nothing(value: Any, rng: random.Random) -> None:
    a, b = parse_output(json.dumps(value)), parse_output(json.dumps(mutate(value, rng)))
    assert strictly_equal(a, b) == (list(exact(a, b)) == [])


def test_a_schema_failure_names_the_rule_that_was_broken() -> None:
    note = "iterate-success: 'trace_id' is a required property"
    broken = Difference(DivergenceClass.SCHEMA, "$", note=note)
    [failure] = blame("iterate", {"rust": (broken,)})
    assert failure.message == f"rust: schema at $: {note}"
