"""Rule coverage as the reports show it: per suite, how many checked cases
exercised each rule it declares (``harness.coverage``), read from
``report.json``'s suites. Shared by ``report.md`` and ``report.html``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SuiteRules:
    suite: str
    rules: list[tuple[str, int, str]]  # (rule id, cases, contract text)

    @property
    def never(self) -> list[str]:
        return [rule for rule, cases, _ in self.rules if cases == 0]

    @property
    def rarest(self) -> int:
        return min((cases for _, cases, _ in self.rules), default=0)


def suites(report: Mapping[str, Any]) -> list[SuiteRules]:
    out = []
    for name, suite in report["suites"].items():
        coverage = suite.get("coverage") or {}
        rules = [(r["rule"], int(r["cases"]), r["text"]) for r in coverage.get("rules", [])]
        if rules:
            out.append(SuiteRules(name, rules))
    return out


def headline(report: Mapping[str, Any]) -> str:
    """One line: every declared rule exercised, or how many were not."""
    tallies = suites(report)
    total = sum(len(t.rules) for t in tallies)
    never = sum(len(t.never) for t in tallies)
    if not tallies:
        return "no rule coverage recorded"
    if never == 0:
        rarest = min(t.rarest for t in tallies)
        return f"all {total} declared rules exercised (the rarest by {rarest} cases)"
    return f"{never} of {total} declared rules never exercised"
