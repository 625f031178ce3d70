"""Reports lead with causes: baseline mode (new, known, fixed), a waiver per
cause, filters, escaping of cause text, and runs with nothing to report."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import tomllib
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from harness.model import (
    REFERENCE,
    BaselineOutcome,
    CauseStatus,
    KnownCause,
    RunSummary,
    SuiteSummary,
)
from harness.reports import html as html_report
from harness.reports import json_report, junit, markdown
from harness.reports.common import waiver_expiry
from tests.test_reports import (
    FENCE,
    IMG,
    SCRIPT,
    TagCollector,
    case,
    fenced_blocks,
    findings_of,
    make_cause,
)

STARTED = "2025-06-01T12:00:00Z"


def baseline_summary() -> RunSummary:
    """A PR run against main's report: one new cause, one known, one fixed;
    every cause text an injection attempt."""
    new_case = case("extract_json", f"`{SCRIPT}", {REFERENCE: '{"a":1.0}', "go": '{"a":1}'})
    known_case = case("validate", "k", {REFERENCE: '{"b":"x"}', "rust": '{"b":"y"}'})
    new = make_cause("a00000000001", findings_of(new_case), summary=f"go: {SCRIPT}{FENCE}{IMG}")
    known = make_cause("b00000000002", findings_of(known_case))
    new.status, known.status = CauseStatus.NEW, CauseStatus.KNOWN
    fixed = KnownCause("c00000000003", ("go",), f"go: fixed {IMG}", ("d00000000004",))
    return RunSummary(
        harness_version="0.1.0",
        started_at=STARTED,
        profile="ci",
        seed=1,
        suites=[
            SuiteSummary("extract_json", ("go",), cases=9, findings=new.findings, share_s=10.0),
            SuiteSummary(
                "validate",
                ("rust",),
                cases=4,
                findings=known.findings,
                share_s=5.0,
                out_of_time=True,
            ),
        ],
        exit_code=1,
        causes=[new, known],
        baseline=BaselineOutcome(
            source=f"main-report{IMG}.json",
            schema_version="2",
            known=["b00000000002"],
            fixed=[fixed],
        ),
        max_time_s=15.0,
    )


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return json_report.build(baseline_summary())


# --------------------------------------------------------------------------- junit


def test_junit_fails_only_the_new_cause(report: dict[str, Any]) -> None:
    root = ET.fromstring(junit.render(report).encode("utf-8"))
    cases = {c.get("name", "")[:12]: c for c in root.iter("testcase")}
    new, known = cases["a00000000001"], cases["b00000000002"]
    assert new.get("classname") == "parity.go" and known.get("classname") == "parity.rust"
    failure = new.find("failure")
    assert failure is not None and (failure.get("message") or "").startswith("NEW: go: " + SCRIPT)
    assert known.find("failure") is None
    assert (known.findtext("system-out") or "").startswith(
        f"known: the baseline (main-report{IMG}.json) lists this cause"
    )
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "0")
    # the suite that ran out of its --max-time share says so
    (validate,) = [s for s in root.findall("testsuite") if s.get("name") == "validate"]
    (checked,) = validate.findall("testcase")
    assert "time share of 5.0 s ran out" in (checked.findtext("system-out") or "")


def test_junit_without_causes_still_shows_each_suite() -> None:
    summary = RunSummary("0", STARTED, "ci", 1)
    summary.suites += [
        SuiteSummary("validate", ("go",), cases=3),
        SuiteSummary("iterate", ("go",), cases=2),
    ]
    root = ET.fromstring(junit.render(json_report.build(summary)).encode("utf-8"))
    names = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    assert names == [("parity.validate", "checked 3 cases"), ("parity.iterate", "checked 2 cases")]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "0", "0")


def test_junit_keeps_a_divergence_no_cause_holds(report: dict[str, Any]) -> None:
    damaged = json.loads(json.dumps(report))
    damaged["causes"] = damaged["causes"][1:]  # the new cause's divergence has no cause now
    root = ET.fromstring(junit.render(damaged).encode("utf-8"))
    failures = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert [c.get("classname") for c in failures] == ["parity.extract_json"]


# --------------------------------------------------------------------------- report.md


def test_markdown_marks_new_known_and_fixed(report: dict[str, Any]) -> None:
    text = markdown.render(report)
    causes, fixed, suites = (text.index(h) for h in ("### Causes", "### Fixed since", "### Suites"))
    assert causes < fixed < suites < text.index("<summary>Divergences (2)")
    assert "### `go`: 1 cause(s) (1 new)" in text and "### `rust`: 1 cause(s) (1 known)" in text
    new_at = text.index("#### `a00000000001`")
    assert text.index("🆕 **NEW**", new_at) < text.index("#### `b00000000002`")
    # the known cause is folded away, the new one is not
    assert text.index("<details><summary>1 that do not fail the gate") < text.index(
        "`b00000000002`"
    )
    assert "| `extract_json` | `number_type` | `$.a` | 1 |" in text
    assert "- `c00000000003` `go: fixed" in text and "(1 finding(s))" in text
    assert "| 10.0 s |" in text and "5.0 s (ran out) |" in text and "max time 15 s" in text
    assert "cause `a00000000001`" in text  # each divergence names its cause


def _outside_code(text: str) -> str:
    """``text`` without its fenced blocks and inline code spans."""
    lines, out, fence = text.split("\n"), [], ""
    for line in lines:
        if fence:
            fence = "" if line.startswith(fence) and not line.strip("`") else fence
            continue
        if line.startswith("```"):
            fence = line[: len(line) - len(line.lstrip("`"))]
            continue
        out.append(re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", line))
    return "\n".join(out)


def test_markdown_cause_text_stays_inside_code(report: dict[str, Any]) -> None:
    text = markdown.render(report)
    rest = _outside_code(text)
    assert SCRIPT not in rest and "<img" not in rest and "injected heading" not in rest
    tags = set(re.findall(r"</?([a-zA-Z]+)", rest))
    assert tags <= {"details", "summary"}  # our own folds, nothing else
    triggers = [body for _, body in fenced_blocks(text) if any(SCRIPT in line for line in body)]
    assert triggers and all(not line.startswith("```") for b in triggers for line in b)


# --------------------------------------------------------------------------- report.html


def test_html_groups_causes_with_filters_and_waivers(report: dict[str, Any]) -> None:
    page = html_report.render(report)
    go = page.index('data-group="go"')
    assert go < page.index('id="c-a00000000001"') < page.index('data-group="rust"')
    assert page.index('data-group="rust"') < page.index('id="c-b00000000002"')
    assert '<span class="badge new">NEW</span>' in page
    assert '<span class="badge known">known</span>' in page
    for name, values in (("runtime", ["go", "rust"]), ("suite", ["extract_json", "validate"])):
        select = page.split(f'data-filter="{name}">')[1].split("</select>")[0]
        assert re.findall(r'<option value="([^"]*)"', select) == ["", *values]
    # each finding carries what the filters read, and sits inside its cause
    cause = page[page.index('id="c-a00000000001"') : page.index('id="c-b00000000002"')]
    assert 'data-finding data-suite="extract_json" data-cls="number_type"' in cause
    assert '<div class="col"><h4>reference' in cause and "<h4>go" in cause
    assert "Fixed since the baseline (1)" in page


def test_html_waiver_is_valid_toml_for_the_cause(report: dict[str, Any]) -> None:
    page = html_report.render(report)
    pre = page.split('<pre id="w-a00000000001">')[1].split("</pre>")[0]
    (waiver,) = tomllib.loads(html.unescape(pre))["waiver"]
    assert waiver["cause"] == "a00000000001" and waiver["expires"] == dt.date(2025, 7, 1)
    assert isinstance(waiver["reason"], str)
    assert '<button type="button" data-copy="w-a00000000001">' in page
    assert "parity waive a00000000001 --reason" in page


def test_html_escapes_cause_text(report: dict[str, Any]) -> None:
    page = html_report.render(report)
    for payload in (SCRIPT, IMG):
        assert payload not in page
    assert html.escape(f"go: {SCRIPT}", quote=True) in page  # the summary
    assert html.escape(f"go: fixed {IMG}", quote=True) in page  # a fixed cause
    assert html.escape(f"main-report{IMG}.json", quote=True) in page  # the baseline's path
    parser = TagCollector()
    parser.feed(page)
    assert "img" not in parser.tags
    assert not {name for name in parser.attributes if name.startswith("on")}


def test_waiver_expiry_is_thirty_days_after_the_start() -> None:
    assert waiver_expiry("2025-06-01T12:00:00Z") == "2025-07-01"
    assert waiver_expiry("2024-12-15T23:59:59.5+02:00") == "2025-01-14"
