"""harness.waivers: matching, expiry and configuration errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from harness import schema_store
from harness.errors import ConfigError
from harness.model import CaseResult, Cause, DivergenceClass, Failure, Finding, Trigger
from harness.waivers import Waivers, load_waivers, parse_waivers

TODAY = dt.date(2025, 6, 1)

ONE = """
[[waiver]]
suite = "extract_json"
class = "number_type"
path = "$.value[*].a"
targets = ["go"]
reason = "validatord writes 1.0 as 1; tracked in #42"
expires = 2025-06-30
"""

TWO = (
    ONE
    + """
[[waiver]]
suite = "iterate"
class = "encoding_only"
path = "$"
targets = ["rust", "go"]
reason = "old"
expires = 2025-01-01
"""
)


def failure(
    suite: str = "extract_json",
    cls: DivergenceClass = DivergenceClass.NUMBER_TYPE,
    path: str = "$.value[*].a",
    blamed: tuple[str, ...] = ("go",),
) -> Failure:
    return Failure(suite=suite, cls=cls, path=path, blamed=blamed)


def test_a_waiver_matches_its_failure() -> None:
    waivers = parse_waivers(ONE, "waivers.toml")
    (waiver,) = waivers.items
    assert waiver.expires == dt.date(2025, 6, 30)
    assert waivers.match(failure(), TODAY) is waiver
    assert waivers.expired(TODAY) == []


@pytest.mark.parametrize(
    "other",
    [
        failure(suite="iterate"),
        failure(cls=DivergenceClass.VALUE),
        failure(path="$.value[0].a"),
        failure(path="$.value"),
        failure(blamed=("go", "rust")),
        failure(blamed=("rust",)),
    ],
)
def test_a_waiver_matches_only_its_exact_failure(other: Failure) -> None:
    assert parse_waivers(ONE, "waivers.toml").match(other, TODAY) is None


def test_targets_match_as_a_set() -> None:
    waivers = parse_waivers(TWO, "waivers.toml")
    found = failure("iterate", DivergenceClass.ENCODING_ONLY, "$", ("go", "rust"))
    assert waivers.items[1].targets == ("go", "rust")
    assert waivers.match(found, dt.date(2024, 12, 31)) is waivers.items[1]


def test_a_waiver_is_valid_through_its_expiry_day() -> None:
    waivers = parse_waivers(ONE, "waivers.toml")
    assert waivers.match(failure(), dt.date(2025, 6, 30)) is not None
    assert waivers.match(failure(), dt.date(2025, 7, 1)) is None


def test_an_expired_waiver_never_matches_and_is_listed() -> None:
    waivers = parse_waivers(TWO, "waivers.toml")
    found = failure("iterate", DivergenceClass.ENCODING_ONLY, "$", ("go", "rust"))
    assert waivers.match(found, TODAY) is None
    (expired,) = waivers.expired(TODAY)
    assert expired.suite == "iterate" and expired.index == 1
    assert "expired 2025-01-01" in expired.describe() and "old" in expired.describe()


def test_apply_marks_findings() -> None:
    example = CaseResult(
        suite="extract_json", input={}, observations={}, differences={}, failures=()
    )
    waived = Finding(failure=failure(), example=example)
    kept = Finding(failure=failure(blamed=("rust",)), example=example)
    parse_waivers(ONE, "waivers.toml").apply([waived, kept], TODAY)
    assert waived.waived_by == "validatord writes 1.0 as 1; tracked in #42"
    assert kept.waived_by is None


def test_empty_and_missing_tables() -> None:
    assert parse_waivers("", "waivers.toml").items == ()
    assert Waivers().match(failure(), TODAY) is None


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "waivers.toml"
    path.write_text(ONE, encoding="utf-8")
    assert len(load_waivers(path).items) == 1
    with pytest.raises(ConfigError) as caught:
        load_waivers(tmp_path / "nope.toml")
    assert str(caught.value) == f"{tmp_path / 'nope.toml'}: no such file"


def replace(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        (replace(TWO, "2025-01-01", '"2025-01-01"'), "waiver[1].expires", "expected a date"),
        (replace(ONE, "2025-06-30", "2025-06-30T00:00:00"), "waiver[0].expires", "expected a date"),
        (replace(ONE, "expires = 2025-06-30\n", ""), "waiver[0].expires", "missing (required)"),
        (
            replace(ONE, "validatord writes 1.0 as 1; tracked in #42", "   "),
            "waiver[0].reason",
            "blank",
        ),
        (
            replace(ONE, "validatord writes 1.0 as 1; tracked in #42", ""),
            "waiver[0].reason",
            "blank",
        ),
        (
            replace(ONE, "targets = [", "reason2 = 1\ntargets = ["),
            "waiver[0].reason2",
            "unknown key",
        ),
        (replace(ONE, '"number_type"', '"numbers"'), "waiver[0].class", "expected one of status"),
        (replace(ONE, '["go"]', "[]"), "waiver[0].targets", "at least one target"),
        (replace(ONE, '["go"]', '["go", "go"]'), "waiver[0].targets", "twice"),
        (replace(ONE, '["go"]', '"go"'), "waiver[0].targets", "expected a list"),
        (replace(ONE, '"$.value[*].a"', '"value.a"'), "waiver[0].path", "starting with '$'"),
        (replace(ONE, "[*]", "[0]"), "waiver[0].path", "use [*]"),
        (replace(ONE, '["go"]', '["reference"]'), "waiver[0].targets", "never blamed"),
        (ONE + ONE, "waiver[1]", "duplicates waiver[0]"),
        ("waiver = 1", "waiver", "expected a list"),
        ("[general]\nx = 1", "general", "unknown key"),
        (replace(ONE, "reason = ", "reason = \n"), None, "not valid TOML"),
    ],
)
def test_config_errors_name_the_file_and_the_key(text: str, key: str | None, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_waivers(text, "waivers.toml")
    error = caught.value
    assert error.path == "waivers.toml"
    assert error.key == key
    assert message in error.message
    assert str(error).startswith(f"waivers.toml: {key}: " if key else "waivers.toml: ")


def test_the_contract_example_message() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_waivers(replace(TWO, "2025-01-01", '"soon"'), "waivers.toml")
    assert str(caught.value).startswith("waivers.toml: waiver[1].expires: expected a date")


def test_waivers_schema_is_valid_2020_12() -> None:
    schema_store.check_metaschema()
    assert schema_store.errors("waivers", {"waiver": []}) == []
    assert schema_store.errors("waivers", {"waiver": [{"suite": "x"}]}) != []


def test_uses_record_each_waiver_with_its_expiry_and_what_it_covered() -> None:
    example = CaseResult(
        suite="extract_json", input={}, observations={}, differences={}, failures=()
    )
    waived = Finding(failure=failure(), example=example)
    stale = Finding(
        failure=failure("iterate", DivergenceClass.ENCODING_ONLY, "$", ("go", "rust")),
        example=example,
    )
    cause = Cause(
        id="0123456789ab",
        blamed=("go",),
        summary="s",
        trigger=Trigger("extract_json", {}),
        findings=[waived],
    )
    text = TWO + '\n[[waiver]]\ncause = "0123456789ab"\nreason = "whole"\nexpires = 2025-07-01\n'
    uses = parse_waivers(text, "waivers.toml").uses([cause], [waived, stale], TODAY)
    assert [u.to_json() for u in uses] == [
        {
            "names": {
                "suite": "extract_json",
                "class": "number_type",
                "path": "$.value[*].a",
                "targets": ["go"],
            },
            "reason": "validatord writes 1.0 as 1; tracked in #42",
            "expires": "2025-06-30",
            "expired": False,
            "covers": [waived.id],
        },
        {
            "names": {
                "suite": "iterate",
                "class": "encoding_only",
                "path": "$",
                "targets": ["go", "rust"],
            },
            "reason": "old",
            "expires": "2025-01-01",
            "expired": True,
            "covers": [],  # expired: it waives nothing
        },
        {
            "names": {"cause": "0123456789ab"},
            "reason": "whole",
            "expires": "2025-07-01",
            "expired": False,
            "covers": ["0123456789ab"],
        },
    ]
