"""harness.causes and harness.baseline: findings grouped into causes, and the
gate on what is new. Pure: the "shown" maps stand for the replays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

import pytest
from click.testing import CliRunner

from harness import causes, gate
from harness.baseline import Baseline, load_baseline
from harness.cli import main
from harness.errors import ConfigError
from harness.model import (
    BaselineOutcome,
    CaseResult,
    Cause,
    CauseStatus,
    Difference,
    DivergenceClass,
    Failure,
    Finding,
    RunSummary,
    SuiteSummary,
    Trigger,
)
from harness.reports import json_report
from harness.suites.produced import ProducedSession
from harness.waivers import parse_waivers

C = DivergenceClass


def finding(suite: str, cls: C, case: object, blamed: tuple[str, ...] = ("go",)) -> Finding:
    failure = Failure(suite, cls, "$.value.*", blamed, message=f"{cls}")
    diff = Difference(cls, "$.value.a", 1.0, 1)
    example = CaseResult(suite, case, {}, {name: (diff,) for name in blamed}, (failure,))
    return Finding(failure=failure, example=example, occurrences=3)


def shows(*pairs: tuple[Finding, tuple[Finding, ...]]) -> dict[str, frozenset[str]]:
    """What each finding's own minimal case shows when replayed."""
    out = {}
    for of, seen in pairs:
        trigger = causes.trigger_of(of)
        assert trigger is not None
        out[trigger.ident] = frozenset(f.id for f in (of, *seen))
    return out


def test_findings_one_case_shows_together_are_one_cause() -> None:
    matched = finding("extract_json", C.MATCHED, '{"a":"\\ud800"}')
    missing = finding("extract_json", C.MISSING_FIELD, '{"a":"\\ud800"}{"b":1}')
    other = finding("extract_json", C.NUMBER_TYPE, '{"a":1.0}')
    # One way is enough: the missing case shows matched, not the reverse.
    grouped = causes.group([other, missing, matched], shows((missing, (matched,))))
    assert [[f.id for f in c.findings] for c in grouped] == [
        [matched.id, missing.id],
        [other.id],
    ]
    first = grouped[0]
    assert first.trigger == Trigger("extract_json", '{"a":"\\ud800"}')  # the smallest case
    assert matched.cause == missing.cause == first.id
    assert first.occurrences == 6
    assert first.summary == "go: matched at $.value.* — 1.0 comes back as 1"


def test_different_blame_is_never_one_cause() -> None:
    go = finding("extract_json", C.VALUE, "{}", ("go",))
    rust = finding("extract_json", C.VALUE, "{}", ("rust",))
    grouped = causes.group([go, rust], shows((go, (rust,)), (rust, (go,))))
    assert sorted(c.blamed for c in grouped) == [("go",), ("rust",)]


def test_an_encoding_difference_joins_only_its_kind() -> None:
    number = finding("iterate", C.NUMBER_TYPE, {"id": "i1"})
    escaped = finding("iterate", C.ENCODING_ONLY, {"id": "i2"})
    grouped = causes.group([number, escaped], shows((number, (escaped,)), (escaped, (number,))))
    assert [c.fails_gate for c in grouped] == [True, False]


def test_a_plain_finding_joins_only_both_ways() -> None:
    """What the simplest case shows (a 1.0 temperature) links no cause."""
    temperature = finding("iterate", C.NUMBER_TYPE, {"id": "i1"})
    default = finding("iterate", C.VALUE, {"id": "i2", "replies": ["x"]})
    other = finding("iterate", C.STATUS, {"id": "i3", "replies": ["y"]})
    seen = shows((default, (temperature,)), (other, (temperature,)))
    plain = frozenset({temperature.id})
    assert len(causes.group([temperature, default, other], seen, plain=plain)) == 3
    assert len(causes.group([temperature, default, other], seen)) == 1
    both = shows((default, (temperature,)), (temperature, (default,)))
    assert len(causes.group([temperature, default], both, plain=plain)) == 1


def test_a_derived_finding_replays_the_case_it_came_from() -> None:
    case = {"id": "i1", "request": {}}
    produced = ProducedSession("iterate", case, "s1", minted=False, row={})
    row = finding("sessions", C.VALUE, produced)
    assert causes.trigger_of(row) == Trigger("iterate", case)
    # As a report or a reproducer holds it: its JSON form.
    as_read = finding("sessions", C.VALUE, produced.to_json())
    assert causes.trigger_of(as_read) == Trigger("iterate", case)
    # Not a produced session (a hand-edited file): nowhere to replay it.
    assert causes.trigger_of(finding("sessions", C.VALUE, {"origin": "iterate"})) is None
    live = finding("iterate", C.VALUE, case)
    grouped = causes.group([row, live], shows((live, (row,))))
    assert len(grouped) == 1 and grouped[0].trigger.suite == "iterate"


def test_the_id_depends_on_the_trigger_not_on_order_or_counts() -> None:
    a = finding("extract_json", C.MATCHED, "x")
    b = finding("extract_json", C.TYPE, "xy")
    seen = shows((b, (a,)))
    first = causes.group([a, b], seen)[0].id
    a2, b2 = finding("extract_json", C.MATCHED, "x"), finding("extract_json", C.TYPE, "xy")
    b2.occurrences = 99
    assert causes.group([b2, a2], seen)[0].id == first
    # Another minimal case for the same (suite, class, path, blamed): another cause.
    other = finding("extract_json", C.MATCHED, "z")
    assert causes.group([other], {})[0].id != causes.group([a], {})[0].id


def test_attribute_replays_each_trigger_once() -> None:
    a = finding("extract_json", C.MATCHED, "x")
    b = finding("extract_json", C.TYPE, "x")  # the same case
    calls: list[Trigger] = []

    def replay(trigger: Trigger) -> frozenset[str]:
        calls.append(trigger)
        return frozenset({a.id, b.id})

    grouped, shown = causes.attribute([a, b], replay)
    assert calls == [Trigger("extract_json", "x")]
    assert len(grouped) == 1 and set(shown) == {calls[0].ident}


# --------------------------------------------------------------------------- baseline


def report_of(findings: list[Finding], tmp_path: Path, name: str) -> Path:
    grouped, _ = causes.attribute(findings, lambda trigger: frozenset())
    summary = RunSummary("0", "2026-11-26T00:00:00Z", "quick", 1, causes=grouped)
    summary.suites.append(SuiteSummary("extract_json", ("reference", "go"), 10, findings))
    path = tmp_path / name
    path.write_text(json_report.render(json_report.build(summary)), encoding="utf-8")
    return path


RAN: Final = frozenset({"extract_json"})
LATER: Final = "2026-12-01T00:00:00Z"


def judge(baseline: Baseline, found: list[Cause], shown: causes.Shown) -> BaselineOutcome:
    return baseline.judge(found, shown, RAN, LATER)


def test_a_baseline_marks_causes_known_new_and_fixed(tmp_path: Path) -> None:
    kept = finding("extract_json", C.MATCHED, "x")
    gone = finding("extract_json", C.VALUE, "gone")
    baseline = load_baseline(report_of([kept, gone], tmp_path, "main.json"))
    assert baseline.cases() == {"extract_json": ["x", "gone"]}
    again, fresh = finding("extract_json", C.MATCHED, "x"), finding("extract_json", C.TYPE, "t")
    now, shown = causes.attribute(
        [again, fresh], lambda t: frozenset({again.id} if t.input == "x" else {fresh.id})
    )
    outcome = judge(baseline, now, shown)
    assert [(c.findings, c.new) for c in now] == [([again], False), ([fresh], True)]
    assert [c.summary for c in outcome.fixed] == ["go: value at $.value.* — 1.0 comes back as 1"]


def test_a_known_fault_found_through_a_smaller_case_is_still_known(tmp_path: Path) -> None:
    known = finding("extract_json", C.MATCHED, "longer case")
    baseline = load_baseline(report_of([known], tmp_path, "main.json"))
    smaller = finding("extract_json", C.MATCHED, "short")  # same key, another minimum
    # The baseline's own case, replayed in this run, shows the finding again.
    shown_by = lambda trigger: frozenset({smaller.id})  # noqa: E731
    now, shown = causes.attribute([smaller], shown_by, baseline.examples)
    assert now[0].id != baseline.causes[0].id
    outcome = judge(baseline, now, shown)
    assert now[0].new is False and outcome.fixed == []
    # A rarer finding grouped with it is not known: the baseline never saw
    # it, even if the baseline's case shows it now (a new fault shows in old
    # cases too); the base runtimes decide whether it was there before.
    rarer = finding("extract_json", C.TYPE, "short and rare")
    both = lambda trigger: frozenset({smaller.id, rarer.id})  # noqa: E731
    now, shown = causes.attribute([smaller, rarer], both, baseline.examples)
    judge(baseline, now, shown)
    assert len(now) == 1 and now[0].new is True and now[0].new_findings == (rarer.id,)
    # ... but not once the baseline's case no longer shows it: then it is new.
    now, shown = causes.attribute([smaller], lambda t: frozenset(), baseline.examples)
    judge(baseline, now, shown)
    assert now[0].new is True


def as_version_1(path: Path) -> Path:
    """The same report as the harness wrote it before causes existed."""
    document = json.loads(path.read_text(encoding="utf-8"))
    document["schema_version"] = "1"
    for key in (
        "causes",
        "baseline",
        "max_time_s",
        "shard",
        "fail_on_flaky",
        "declared_volatile",
        "waivers",
        "config_digest",
        "min_rule_cases",
        "uncovered",
    ):
        del document[key]
    for divergence in document["divergences"]:
        del divergence["cause"], divergence["exempt"]
    for suite in document["suites"].values():
        for key in ("explored", "aa_pairs", "settled", "steered", "coverage", "stop_reason"):
            del suite[key]
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_version_1_report_is_read_as_a_baseline(tmp_path: Path) -> None:
    path = as_version_1(report_of([finding("extract_json", C.MATCHED, "x")], tmp_path, "v1.json"))
    baseline = load_baseline(path)
    same, other = finding("extract_json", C.MATCHED, "y"), finding("extract_json", C.TYPE, "t")
    now, shown = causes.attribute([same, other], lambda t: frozenset())
    judge(baseline, now, shown)
    assert sorted(c.new for c in now) == [False, True]


def test_a_new_finding_joined_to_a_known_one_makes_the_cause_new(tmp_path: Path) -> None:
    known = finding("extract_json", C.MATCHED, "x")
    baseline = load_baseline(report_of([known], tmp_path, "main.json"))
    again = finding("extract_json", C.MATCHED, "x")
    joined = finding("extract_json", C.STATUS, "x and more")  # its case shows the known one
    now, shown = causes.attribute(
        [again, joined],
        lambda t: frozenset({again.id} if t.input == "x" else {again.id, joined.id}),
        baseline.examples,
    )
    judge(baseline, now, shown)
    assert len(now) == 1, "one cause: the new finding's minimal case shows the known one"
    assert now[0].status is CauseStatus.NEW and now[0].new_findings == (joined.id,)


def test_an_encoding_only_cause_is_judged_by_its_own_findings(tmp_path: Path) -> None:
    baseline = load_baseline(report_of([finding("extract_json", C.MATCHED, "x")], tmp_path, "m"))
    escaped = finding("extract_json", C.ENCODING_ONLY, "<")
    now, shown = causes.attribute([escaped], lambda t: frozenset())
    judge(baseline, now, shown)
    assert now[0].status is CauseStatus.NEW and not now[0].fails_gate


def test_baseline_causes_not_seen_are_fixed_or_unobserved(tmp_path: Path) -> None:
    gone = finding("extract_json", C.VALUE, "gone")
    baseline = load_baseline(report_of([gone], tmp_path, "main.json"))
    assert baseline.causes[0].suites == ("extract_json",)
    assert judge(baseline, [], {}).fixed == list(baseline.causes)
    elsewhere = baseline.judge([], {}, frozenset({"validate"}), LATER)
    assert elsewhere.fixed == [] and elsewhere.unobserved == list(baseline.causes)


def test_a_known_cause_keeps_when_it_was_first_seen(tmp_path: Path) -> None:
    kept = finding("extract_json", C.MATCHED, "x")
    baseline = load_baseline(report_of([kept], tmp_path, "main.json"))
    again, fresh = finding("extract_json", C.MATCHED, "x"), finding("extract_json", C.TYPE, "t")
    replay = lambda t: frozenset({again.id} if t.input == "x" else ())  # noqa: E731
    now, shown = causes.attribute([again, fresh], replay, baseline.examples)
    judge(baseline, now, shown)
    by_status = {c.status: c for c in now}
    assert by_status[CauseStatus.KNOWN].first_seen == "2026-11-26T00:00:00Z"
    assert by_status[CauseStatus.NEW].first_seen == LATER
    assert {c.last_seen for c in now} == {LATER}


def test_the_base_runtimes_make_a_cause_pre_existing_and_replays_make_one_flaky() -> None:
    old = finding("extract_json", C.VALUE, "old")
    brand_new = finding("extract_json", C.TYPE, "new")
    coin = finding("extract_json", C.STATUS, "coin")
    now, _ = causes.attribute([old, brand_new, coin], lambda t: frozenset())
    outcome = gate.new_without_baseline(now, LATER)
    flips = iter([True, False, True])

    def current(trigger: Trigger) -> frozenset[str]:
        if trigger.input == "coin":
            return frozenset({coin.id} if next(flips) else ())
        return frozenset({brand_new.id, old.id})

    def base(trigger: Trigger) -> frozenset[str]:
        return frozenset({old.id}) if trigger.input == "old" else frozenset()

    gate.verify(now, outcome, gate.Replays(current=current, base=base, base_name="b", times=3))
    status = {c.findings[0].id: c for c in now}
    assert status[old.id].status is CauseStatus.PRE_EXISTING and outcome.pre_existing
    assert status[brand_new.id].status is CauseStatus.NEW and not status[brand_new.id].flaky
    assert status[coin.id].flaky and status[coin.id].flakiness == gate.Flakiness(2, 3)
    assert outcome.verified and outcome.base == "b"


@pytest.mark.parametrize(
    ("text", "key"),
    [("not json", None), ('{"schema_version": "9"}', "schema_version"), ("[]", "schema_version")],
)
def test_a_bad_baseline_names_the_file(tmp_path: Path, text: str, key: str | None) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_baseline(path)
    assert str(path) in str(caught.value)
    if key:
        assert key in str(caught.value)


# --------------------------------------------------------------------------- waivers


def test_parity_waive_appends_a_waiver_for_a_cause_and_for_a_finding(tmp_path: Path) -> None:
    a, b = finding("extract_json", C.MATCHED, "x"), finding("extract_json", C.TYPE, "y")
    report = report_of([a, b], tmp_path, "report.json")
    waivers = tmp_path / "waivers.toml"
    cause_id = json.loads(report.read_text(encoding="utf-8"))["causes"][0]["id"]
    cli = CliRunner()
    common = ["--expires", "2099-12-31", "--waivers", str(waivers), "--report", str(report)]
    done = cli.invoke(main, ["waive", cause_id, "--reason", 'a "quoted"\nreason', *common])
    assert done.exit_code == 0, done.output
    done = cli.invoke(main, ["waive", b.id, "--reason", "known", *common])
    assert done.exit_code == 0, done.output
    parsed = parse_waivers(waivers.read_text(encoding="utf-8"), str(waivers))
    assert [w.cause for w in parsed.items] == [cause_id, None]
    assert parsed.items[0].reason == 'a "quoted"\nreason'
    assert (parsed.items[1].suite, parsed.items[1].cls) == ("extract_json", C.TYPE)
    # The same again is refused, and the file is left as it was.
    before = waivers.read_text(encoding="utf-8")
    again = cli.invoke(main, ["waive", b.id, "--reason", "known", *common])
    assert again.exit_code == 2 and "duplicates" in again.output
    assert waivers.read_text(encoding="utf-8") == before


@pytest.mark.parametrize(
    ("ident", "expires", "says"),
    [
        ("xyz", "2099-01-01", "'xyz': not a cause or finding id"),
        ("aaaaaaaaaaaa", "2099-01-01", "aaaaaaaaaaaa: no cause or divergence"),
        ("aaaaaaaaaaaa", "2099-02-30", "'2099-02-30': not a date"),
        ("aaaaaaaaaaaa", "2001-01-01", "2001-01-01: already past"),
    ],
)
def test_parity_waive_names_a_bad_id_or_date(
    tmp_path: Path, ident: str, expires: str, says: str
) -> None:
    report = report_of([finding("extract_json", C.MATCHED, "x")], tmp_path, "report.json")
    args = ["waive", ident, "--reason", "r", "--expires", expires, "--report", str(report)]
    done = CliRunner().invoke(main, [*args, "--waivers", str(tmp_path / "w.toml")])
    assert done.exit_code == 2
    assert says in done.output
    assert not (tmp_path / "w.toml").exists()


def test_a_waiver_names_a_cause_or_a_finding_not_both() -> None:
    text = (
        '[[waiver]]\ncause = "0123456789ab"\nsuite = "iterate"\n'
        'reason = "r"\nexpires = 2099-01-01\n'
    )
    with pytest.raises(ConfigError, match=r"waiver\[0\]\.suite"):
        parse_waivers(text, "w.toml")
    bad = '[[waiver]]\ncause = "nope"\nreason = "r"\nexpires = 2099-01-01\n'
    with pytest.raises(ConfigError, match="12 hexadecimal digits"):
        parse_waivers(bad, "w.toml")


# --------------------------------------------------------------------------- --max-time


def test_max_time_bounds_a_run_and_says_what_each_suite_checked(tmp_path: Path) -> None:
    """The sample stacks' probes, a budget no run could finish, two seconds."""
    import dataclasses

    from harness import runner

    cfg = runner.default_config()
    cfg = dataclasses.replace(
        cfg, run=dataclasses.replace(cfg.run, database=tmp_path / "db", regressions=None)
    )
    options = runner.RunOptions(
        suites=("extract_json", "session_log"),
        max_examples=10_000_000,
        max_time_s=2,
        seed=1,
        report_dir=tmp_path / "report",
    )
    summary, paths = runner.run(cfg, options)
    assert summary.max_time_s == 2
    for suite in summary.suites:
        assert suite.out_of_time and suite.share_s is not None and suite.share_s <= 2
        assert 0 < suite.cases < 10_000_000
    document = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert document["max_time_s"] == 2
    assert all(s["out_of_time"] and s["share_s"] > 0 for s in document["suites"].values())
