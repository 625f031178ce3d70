"""Rule coverage gates a run: a strategy that stops drawing a corner makes
``--min-rule-cases`` fail with a line naming the rule, and coverage is in
every report. Against the real probe programs of the sample stacks."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.stacks import build, default_specs
from harness.strategies import model_outputs
from harness.suites.catalog import PROBE_SUITES


@pytest.fixture(scope="module")
def built() -> None:
    for spec in default_specs().values():
        build(spec)


def run(tmp_path: Path, *args: str) -> tuple[int, str, dict[str, object]]:
    report = tmp_path / "report"
    done = CliRunner().invoke(
        main,
        ["run", "--no-build", "--suite", "extract_json", "--max-examples", "300",
         "--seed", "3", "--report-dir", str(report), *args],
    )  # fmt: skip
    return done.exit_code, done.output, json.loads((report / "report.json").read_text("utf-8"))


def test_a_strategy_that_stops_drawing_fences_fails_min_rule_cases(
    built: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weakened = dataclasses.replace(
        PROBE_SUITES["extract_json"],
        strategy=model_outputs().map(lambda t: t.replace("```", "~~~")),
    )
    monkeypatch.setitem(PROBE_SUITES, "extract_json", weakened)
    code, output, report = run(tmp_path, "--min-rule-cases", "1")
    assert code == 2, output
    errors = [line for line in output.splitlines() if line.startswith("coverage error: ")]
    line = next(line for line in errors if "rule extract.fence.info_string " in line)
    assert line.startswith("coverage error: suite extract_json: rule extract.fence.info_string")
    assert "exercised by 0 case(s), fewer than --min-rule-cases 1 (§1.1 " in line
    assert all("extract.fence." in e or "extract.unclosed" in e for e in errors), errors
    assert "  extract_json: extract.fence.info_string" in output  # never exercised
    assert "result: rule coverage below --min-rule-cases (exit 2)" in output
    assert any("extract.fence.info_string" in u for u in report["uncovered"])  # type: ignore[union-attr]


def test_the_whole_strategy_passes_min_rule_cases_and_reports_its_coverage(
    built: None, tmp_path: Path
) -> None:
    code, output, report = run(tmp_path, "--min-rule-cases", "1")
    assert code in (0, 1), output  # the sample stacks' known divergences, no coverage error
    assert report["uncovered"] == [] and "rule coverage: all " in output
    suite = report["suites"]["extract_json"]  # type: ignore[index]
    rules = {r["rule"]: r["cases"] for r in suite["coverage"]["rules"]}
    assert rules["extract.fence.info_string"] > 0 and suite["coverage"]["never"] == []
    markdown = (tmp_path / "report" / "report.md").read_text("utf-8")
    html = (tmp_path / "report" / "report.html").read_text("utf-8")
    assert "### Rule coverage: all " in markdown and "Rule coverage: all " in html
