"""Every hand-written fixture validates against its schema, and is internally consistent."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness import schema_store

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
ROSTER = FIXTURES / "roster.jsonl"
EXTRACT_CASES = FIXTURES / "extract_json" / "cases.jsonl"
SESSION_DIR = FIXTURES / "session_log"
REJECTIONS = SESSION_DIR / "rejections.jsonl"
ROUNDTRIPS = SESSION_DIR / "roundtrips.jsonl"
VALIDATE_CASES = FIXTURES / "validate" / "cases.jsonl"

RECORD_ORDER = [
    "schema", "session_id", "timestamp", "daemon", "kind", "model", "provider", "prompt",
    "iterations", "max_iterations", "final_verdict", "attempts", "artifact",
    "grounded_in_roster", "duration_ms",
]  # fmt: skip
ATTEMPT_ORDER = ["iteration", "verdict_kind", "error", "span_id"]
U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
I64_MIN = -(2**63)


# --------------------------------------------------------------------------- helpers


class NotContractJson(ValueError):
    """Text the contract's parser (serde_json) rejects, as far as these checks can tell."""


def _int(text: str) -> int | float:
    value = int(text)
    if text.startswith("-") and value == 0:
        return -0.0
    if I64_MIN <= value <= U64_MAX:
        return value
    return _float(text)


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise NotContractJson(f"number out of range: {text}")
    return value


def _constant(text: str) -> object:
    raise NotContractJson(f"not JSON: {text}")


def contract_loads(text: str) -> Any:
    """json.loads with the contract's number model (ints exact in i64/u64, else doubles)."""
    return json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)


@dataclass(frozen=True)
class Line:
    path: Path
    number: int
    text: str
    data: Any

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.number}"


def jsonl(path: Path) -> Iterator[Line]:
    # Split on "\n" only: str.splitlines() would also split on U+2028, U+0085, ...
    for number, text in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if text.strip():
            yield Line(path, number, text, contract_loads(text))


def lines(path: Path) -> list[Line]:
    found = list(jsonl(path))
    assert found, f"{path} is empty"
    return found


def assert_valid(schema: str, line: Line) -> None:
    problems = schema_store.errors(schema, line.data)
    assert not problems, f"{line.where} is not a valid {schema}:\n" + "\n".join(
        f"  {p}" for p in problems
    )


def assert_unique_names(found: list[Line]) -> None:
    seen: dict[str, str] = {}
    for line in found:
        name = line.data["name"]
        assert name not in seen, f"{line.where}: name {name!r} already used at {seen[name]}"
        seen[name] = line.where


def pairs_in_order(text: str) -> Any:
    """Parse keeping every object as a list of (key, value) pairs, in text order."""
    return json.loads(
        text,
        object_pairs_hook=lambda pairs: ("object", pairs),
        parse_int=_int,
        parse_float=_float,
        parse_constant=_constant,
    )


def assert_keys_sorted(node: Any, where: str) -> None:
    if isinstance(node, tuple) and node[:1] == ("object",):
        keys = [k for k, _ in node[1]]
        assert keys == sorted(keys), f"{where}: object keys not in code point order: {keys}"
        for _, value in node[1]:
            assert_keys_sorted(value, where)
    elif isinstance(node, list):
        for item in node:
            assert_keys_sorted(item, where)


def _find(node: Any, key: str) -> Any:
    assert isinstance(node, tuple) and node[0] == "object"
    for k, v in node[1]:
        if k == key:
            return v
    raise KeyError(key)


def test_line_breaks_only_where_lines_end() -> None:
    for path in [EXTRACT_CASES, REJECTIONS, ROUNDTRIPS, VALIDATE_CASES, ROSTER]:
        text = path.read_text(encoding="utf-8")
        assert text.endswith("\n"), f"{path}: no final newline"
        assert len(text.splitlines()) == text.count("\n"), (
            f"{path}: holds a character str.splitlines() breaks on (escape U+2028/U+2029/U+0085)"
        )


# --------------------------------------------------------------------------- roster


def test_roster_lines_are_roster_workers() -> None:
    found = lines(ROSTER)
    ids: dict[str, str] = {}
    for line in found:
        assert_valid("roster-worker", line)
        cid = line.data["candidate_id"]
        assert cid not in ids, f"{line.where}: id {cid!r} repeats {ids[cid]}"
        ids[cid] = line.where
    assert len(found) >= 10


def roster() -> dict[str, dict[str, Any]]:
    return {line.data["candidate_id"]: line.data for line in lines(ROSTER)}


# --------------------------------------------------------------------------- extract_json

EXTRACT_MUST_COVER = {
    "fenced_json_info_string", "fenced_no_info_string", "fence_without_newline", "unclosed_fence",
    "fenced_array_then_bare_object", "bare_object", "prose_around", "nested_objects", "unicode",
    "escaped_quotes", "top_level_array_only", "malformed_trailing_comma",
    "several_objects_first_wins", "no_json", "braces_inside_string", "stray_close_before_object",
    "fenced_beats_earlier_bare", "trim_nbsp", "no_trim_u001c", "int_vs_float", "negative_zero",
    "exponent_upper", "u64_max_exact", "u64_max_plus_one", "number_too_large", "lone_surrogate",
    "nan", "depth_127_arrays", "depth_128_arrays", "depth_127_objects", "depth_128_objects",
    "duplicate_key_last_wins",
}  # fmt: skip


def test_extract_cases_validate() -> None:
    found = lines(EXTRACT_CASES)
    for line in found:
        assert_valid("fixture-extract-json-case", line)
    assert_unique_names(found)
    assert {line.data["name"] for line in found} >= EXTRACT_MUST_COVER


def test_extract_expected_keys_are_sorted() -> None:
    for line in lines(EXTRACT_CASES):
        assert_keys_sorted(_find(pairs_in_order(line.text), "expected"), line.where)


def _nest_depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_nest_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_nest_depth(v) for v in value), default=0)
    return 0


def test_extract_expected_values_respect_the_number_model_and_depth() -> None:
    for line in lines(EXTRACT_CASES):
        value = line.data["expected"]["value"]
        if value is None:
            continue
        assert _nest_depth(value) <= 127, f"{line.where}: a matched value deeper than 127 levels"
        assert line.data["expected"]["matched"] is True


def test_extract_number_cases_keep_int_and_float_apart() -> None:
    by_name = {line.data["name"]: line.data["expected"]["value"] for line in lines(EXTRACT_CASES)}
    assert by_name["int_vs_float"] == {"f": 1.0, "i": 1}
    assert type(by_name["int_vs_float"]["f"]) is float
    assert type(by_name["int_vs_float"]["i"]) is int
    zero = by_name["negative_zero"]["z"]
    assert type(zero) is float and math.copysign(1.0, zero) == -1.0
    assert type(by_name["exponent_upper"]["e"]) is float
    assert by_name["u64_max_exact"]["n"] == U64_MAX and type(by_name["u64_max_exact"]["n"]) is int
    big = by_name["u64_max_plus_one"]["n"]
    assert type(big) is float and big == 1.8446744073709552e19


# --------------------------------------------------------------------------- session log

SESSION_FILES = sorted(SESSION_DIR.glob("*.json"))


def test_seed_session_fixtures_exist() -> None:
    names = {p.stem for p in SESSION_FILES}
    assert names >= {"accepted_fill", "max_iter_exhausted", "infra_error", "unicode_prompt"}


@pytest.mark.parametrize("path", SESSION_FILES, ids=lambda p: p.stem)
def test_session_fixture_is_a_session_record(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    record = contract_loads(text)
    problems = schema_store.errors("session-record", record)
    assert not problems, f"{path.relative_to(REPO)}:\n" + "\n".join(f"  {p}" for p in problems)
    pairs = pairs_in_order(text)
    keys = [k for k, _ in pairs[1]]
    assert keys == [k for k in RECORD_ORDER if k in keys], f"{path}: fields out of order"
    for attempt in _find(pairs, "attempts"):
        akeys = [k for k, _ in attempt[1]]
        assert akeys == [k for k in ATTEMPT_ORDER if k in akeys], f"{path}: attempt out of order"
    if "artifact" in keys:
        assert_keys_sorted(_find(pairs, "artifact"), str(path))


def test_unicode_prompt_fixture() -> None:
    record = contract_loads((SESSION_DIR / "unicode_prompt.json").read_text(encoding="utf-8"))
    assert record["prompt"] == "Café résumé  你好"


def test_accepted_fill_fixture_is_grounded_in_the_roster() -> None:
    record = contract_loads((SESSION_DIR / "accepted_fill.json").read_text(encoding="utf-8"))
    ids = roster()
    assert record["grounded_in_roster"] is True
    assert all(f["candidate_id"] in ids for f in record["artifact"]["fills"])


def test_rejections_validate() -> None:
    found = lines(REJECTIONS)
    for line in found:
        assert_valid("fixture-session-log-rejection", line)
    assert_unique_names(found)
    names = {line.data["name"] for line in found}
    for field in RECORD_ORDER:
        if field not in ("artifact", "grounded_in_roster"):
            assert f"missing_{field}" in names
    assert {"iterations_float", "iterations_negative", "iterations_too_big", "attempts_null",
            "duplicate_iterations", "prompt_number"} <= names  # fmt: skip
    roundtrip_texts = {line.data["record_text"] for line in lines(ROUNDTRIPS)}
    for line in found:
        assert line.data["record_text"] not in roundtrip_texts, f"{line.where}: also a round trip"


def test_roundtrips_validate() -> None:
    found = lines(ROUNDTRIPS)
    for line in found:
        assert_valid("fixture-session-log-roundtrip", line)
    assert_unique_names(found)


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_ALLOWED_ESCAPE = re.compile(r'\\(?:["\\nrtbf]|u00[01][0-9a-f])')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:e[+-][0-9]+)?")


def serde_float(value: float) -> str:
    """How serde_json 1.0.154 (zmij) writes a finite double."""
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    k = (int(exponent) if exponent else 0) - len(fraction)
    stripped = digits.rstrip("0")
    k += len(digits) - len(stripped)
    digits = stripped
    point = len(digits) + k  # value = 0.digits * 10**point
    if -5 < point <= 16:
        if k >= 0:
            return sign + digits + "0" * k + ".0"
        if point > 0:
            return sign + digits[:point] + "." + digits[point:]
        return sign + "0." + "0" * -point + digits
    exp = point - 1
    mark = "e+" if exp >= 0 else "e-"
    head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return sign + head + mark + str(abs(exp))


def test_serde_float_model() -> None:
    cases = {
        100.0: "100.0", 1e16: "1e+16", 1.5e-7: "1.5e-7", 0.0001: "0.0001", 1e-5: "0.00001",
        1e-6: "1e-6", -0.0: "-0.0", 0.1: "0.1", 1e15: "1000000000000000.0", 123.456: "123.456",
        5e-324: "5e-324", 1.8446744073709552e19: "1.8446744073709552e+19",
    }  # fmt: skip
    for value, text in cases.items():
        assert serde_float(value) == text


def _outside_strings(text: str) -> str:
    return _STRING.sub('""', text)


def test_roundtrip_expected_text_is_canonical_serde_output() -> None:
    for line in lines(ROUNDTRIPS):
        expected = line.data["expected_text"]
        where = line.where
        # compact: no whitespace outside strings
        skeleton = _outside_strings(expected)
        assert not re.search(r"\s", skeleton), f"{where}: whitespace outside strings"
        # serde_json escaping inside strings
        for token in _STRING.findall(expected):
            body = token[1:-1]
            for escape in re.finditer(r"\\.", body):
                assert _ALLOWED_ESCAPE.match(body, escape.start()), (
                    f"{where}: escape serde_json would not write: {body[escape.start() :][:8]!r}"
                )
            for short, code in (("\\n", 10), ("\\r", 13), ("\\t", 9), ("\\b", 8), ("\\f", 12)):
                assert f"\\u{code:04x}" not in body, f"{where}: \\u{code:04x} instead of {short}"
            assert "\\u0022" not in body and "\\u005c" not in body
        # numbers: integers as written, doubles as serde_json writes them
        for token in re.findall(r"-?[0-9][-0-9.eE+]*", skeleton):
            assert _NUMBER.fullmatch(token), f"{where}: number {token!r} is not serde_json's form"
            value = _int(token) if re.fullmatch(r"-?[0-9]+", token) else _float(token)
            if isinstance(value, float):
                assert serde_float(value) == token, (
                    f"{where}: {token} should be {serde_float(value)}"
                )
        # fields in the contract's order; absent and null optionals omitted; artifact sorted
        pairs = pairs_in_order(expected)
        keys = [k for k, _ in pairs[1]]
        assert keys == [k for k in RECORD_ORDER if k in keys], f"{where}: fields out of order"
        assert set(keys) >= set(RECORD_ORDER) - {"artifact", "grounded_in_roster"}, where
        for key, value in pairs[1]:
            assert value is not None or key not in ("artifact", "grounded_in_roster"), where
        for attempt in _find(pairs, "attempts"):
            akeys = [k for k, _ in attempt[1]]
            assert akeys == [k for k in ATTEMPT_ORDER if k in akeys], f"{where}: attempt order"
            assert all(v is not None for k, v in attempt[1] if k in ("error", "span_id")), where
        if "artifact" in keys:
            assert_keys_sorted(_find(pairs, "artifact"), where)
        # the input holds the same record: the round trip only drops and reorders
        record = json.loads(line.data["record_text"])
        assert isinstance(record, dict), where
        output = json.loads(expected)
        for key in keys:
            if key not in ("artifact", "attempts"):
                assert record[key] == output[key], f"{where}: {key} changed in the round trip"


def test_named_session_fixtures_have_a_roundtrip_case() -> None:
    by_name = {line.data["name"]: line for line in lines(ROUNDTRIPS)}
    for path in SESSION_FILES:
        case = by_name.get(f"fixture_{path.stem}")
        assert case is not None, f"no round trip case for {path.name}"
        record = contract_loads(path.read_text(encoding="utf-8"))
        assert contract_loads(case.data["record_text"]) == record
        # a canonical record survives the round trip unchanged
        assert contract_loads(case.data["expected_text"]) == record


# --------------------------------------------------------------------------- /v1/validate

SCHEMA_WHAT = (
    "object", "array", "non-empty string", "integer >= 1", "at most 200 characters",
    "1 to 20 items", "one of fill, email, playbook",
)  # fmt: skip


def validate_cases() -> list[Line]:
    found = lines(VALIDATE_CASES)
    return found


def test_validate_cases_validate() -> None:
    found = validate_cases()
    for line in found:
        assert_valid("fixture-validate-case", line)
    assert_unique_names(found)


def test_validate_cases_cover_every_answer() -> None:
    found = validate_cases()
    kinds = {
        line.data["expected_body"]["kind"] for line in found if line.data["expected_status"] == 422
    }
    assert kinds == {"schema", "count", "duplicate", "phantom", "consistency", "unavailable"}
    ok_kinds = {
        line.data["expected_body"]["kind"] for line in found if line.data["expected_status"] == 200
    }
    assert ok_kinds == {"fill", "email", "playbook"}
    schema_whats = {
        line.data["expected_body"]["message"].split(": expected ", 1)[1]
        for line in found
        if line.data["expected_body"]["kind"] == "schema"
    }
    assert schema_whats == set(SCHEMA_WHAT)


def _parsed_request(text: str) -> Any:
    try:
        return contract_loads(text)
    except (ValueError, RecursionError):
        return None


def test_validate_schema_messages_name_their_path() -> None:
    for line in validate_cases():
        body = line.data["expected_body"]
        if body.get("kind") == "schema":
            assert body["message"] in {f"{body['path']}: expected {w}" for w in SCHEMA_WHAT}, (
                f"{line.where}: message must be '{{path}}: expected {{what}}'"
            )


def test_validate_envelope_cases() -> None:
    for line in validate_cases():
        body = line.data["expected_body"]
        request = _parsed_request(line.data["request_text"])
        if body.get("path") == "$":
            assert not isinstance(request, dict), f"{line.where}: the body is a JSON object"
            continue
        assert isinstance(request, dict), f"{line.where}: the body must be a JSON object"
        kind_ok = request.get("kind") in ("fill", "email", "playbook")
        assert kind_ok == (body.get("path") != "kind"), f"{line.where}: kind check disagrees"
        if line.data["expected_status"] == 200:
            assert body["kind"] == request["kind"], line.where


def test_validate_schema_step_agrees_with_the_schema() -> None:
    """A request passes every schema-kind check iff validate-request#/$defs/schema-checks-pass
    accepts it: the fixture's answers and the schema's encoding of decisions.md §1 agree."""
    target = "validate-request#/$defs/schema-checks-pass"
    for line in validate_cases():
        request = _parsed_request(line.data["request_text"])
        if not isinstance(request, dict):
            continue
        request = {"artifact": None, "context": None, **request}  # absent means null
        expects_schema_error = line.data["expected_body"]["kind"] == "schema"
        problems = schema_store.errors(target, request)
        assert bool(problems) == expects_schema_error, (
            f"{line.where}: schema step {'passes' if not problems else 'fails'} in the schema "
            f"but the case expects {line.data['expected_body']}"
        )


def test_validate_answers_agree_with_the_roster() -> None:
    workers = roster()
    for line in validate_cases():
        body = line.data["expected_body"]
        request = _parsed_request(line.data["request_text"])
        status = line.data["expected_status"]
        kind = body["kind"]
        where = line.where
        if status == 200 and kind == "fill":
            ctx = request["context"]
            fills = request["artifact"]["fills"]
            assert body["checked"] == len(fills) == ctx["target_count"], where
            ids = [f["candidate_id"] for f in fills]
            assert len(set(ids)) == len(ids), where
            for cid in ids:
                worker = workers[cid]
                assert worker["available"], where
                for field in ("city", "state", "role"):
                    assert worker[field] == ctx[field], where
        elif status == 200 and kind == "email":
            assert body["checked"] == 1
            assert request["artifact"]["candidate_id"] == request["context"]["candidate_id"], where
            assert request["artifact"]["candidate_id"] in workers, where
        elif status == 200:
            assert body["checked"] == len(request["artifact"]["steps"]), where
        elif kind == "phantom":
            cid = re.fullmatch(r"candidate '(.*)' is not in the roster", body["message"], re.S)
            assert cid and cid.group(1) not in workers, where
        elif kind == "unavailable":
            cid = re.fullmatch(r"candidate '(.*)' is not available", body["message"], re.S)
            assert cid and workers[cid.group(1)]["available"] is False, where
        elif kind == "duplicate":
            index = int(re.findall(r"\[(\d+)\]", body["path"])[0])
            fills = request["artifact"]["fills"]
            cid = fills[index]["candidate_id"]
            assert body["message"] == f"candidate '{cid}' appears more than once", where
            assert cid in [f["candidate_id"] for f in fills[:index]], where
        elif kind == "count":
            n = len(request["artifact"]["fills"])
            expected = f"expected {request['context']['target_count']} fills, got {n}"
            assert body["message"] == expected, where
        elif kind == "consistency" and request["kind"] == "fill":
            index = int(re.findall(r"\[(\d+)\]", body["path"])[0])
            cid = request["artifact"]["fills"][index]["candidate_id"]
            ctx = request["context"]
            mismatches = [
                f"{field} '{workers[cid][field]}' doesn't match contract {field} '{ctx[field]}'"
                for field in ("city", "state", "role")
                if workers[cid][field] != ctx[field]
            ]
            assert mismatches and body["message"] == mismatches[0], where
        elif kind == "consistency":
            art, ctx = request["artifact"]["candidate_id"], request["context"]["candidate_id"]
            expected = f"candidate_id '{art}' doesn't match contract candidate_id '{ctx}'"
            assert body["message"] == expected, where
