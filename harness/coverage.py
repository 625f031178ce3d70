"""What a run tested: the contract's rules each suite exercised.

The rules themselves, their ids and text, are the reference's
(``reference_impl.rules``); the reference reports the ones a case went
through to a recorder it is handed. This module says which rules each suite
is meant to exercise (``SUITE_RULES``, declared once; a rule may belong to
several suites), runs a suite's reference with a recorder (``exercised``:
one run gives the answer and its rules), and tallies them per suite
(``Coverage``, plain data for the reports).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from harness.model import JsonValue, Observation
from harness.suites import registry
from harness.suites.base import Suite
from reference_impl.rules import RULES, Rule


def _prefixed(*prefixes: str) -> tuple[Rule, ...]:
    return tuple(rule for rule in Rule if rule.value.startswith(prefixes))


# Numbers as the record type reads them in an artifact, and as any JSON
# answer writes them (CONTRACT §1: "wherever it reads JSON").
_NUMBER_MODEL: Final = (
    Rule.NUMBER_BEYOND_I64,
    Rule.NUMBER_INTEGER_TO_DOUBLE,
    Rule.NUMBER_NEGATIVE_ZERO,
    Rule.NUMBER_EXPONENT,
    Rule.NUMBER_INTEGRAL_FRACTION,
    Rule.NUMBER_EXPONENT_OVERFLOW,
    Rule.WRITE_FLOAT_EXPONENT,
    Rule.WRITE_FLOAT_INTEGRAL,
)
# What an iterate session's replies go through before the validator sees them.
_REPLY_EXTRACTION: Final = (
    Rule.FENCE_INFO_STRING,
    Rule.FENCE_OBJECT,
    Rule.FENCE_NOT_OBJECT,
    Rule.SCAN_OBJECT,
    Rule.SCAN_FIRST_WINS,
    Rule.SCAN_CLEARED,
    Rule.SCAN_UNBALANCED,
    Rule.NO_OBJECT,
    Rule.NUMBER_BEYOND_I64,
    Rule.NUMBER_NEGATIVE_ZERO,
    Rule.NUMBER_EXPONENT,
    Rule.NUMBER_INTEGRAL_FRACTION,
    Rule.WRITE_STRING_UNESCAPED,
)
# The validator's answers an iterate session carries into its history: an
# accepted artifact of each kind, and 422s of several kinds (a context every
# attempt fails on, a schema error of each kind's artifact, a count, a
# phantom, a mismatch). Which check answers, and in which order the checks
# run, is the validate suite's to exercise: a session only carries the body
# (a duplicate or an unavailable worker answers few sessions: each needs a
# context and a target that leave room for it).
_ARTIFACT_VALIDATION: Final = (
    Rule.VALIDATE_FILL_VALID,
    Rule.VALIDATE_EMAIL_VALID,
    Rule.VALIDATE_PLAYBOOK_VALID,
    Rule.VALIDATE_TARGET_COUNT,
    Rule.VALIDATE_CANDIDATE_ID,
    Rule.VALIDATE_EMAIL_FIELD,
    Rule.VALIDATE_TITLE,
    Rule.VALIDATE_COUNT,
    Rule.VALIDATE_PHANTOM,
    Rule.VALIDATE_CITY,
    Rule.VALIDATE_EMAIL_CONSISTENCY,
)
_HOP_FAILURES: Final = (Rule.HOP_FAILED_FIRST, Rule.HOP_FAILED_LATER, Rule.ROW_INFRA_ERROR)

SUITE_RULES: Final[Mapping[str, tuple[Rule, ...]]] = {
    registry.EXTRACT_JSON: _prefixed("extract.", "write."),
    registry.SESSION_LOG: (
        *_prefixed("record."),
        Rule.OBJECT_DUPLICATE_KEY,
        Rule.DEPTH_OVER_LIMIT,
        *_NUMBER_MODEL,
    ),
    registry.VALIDATE: (*_prefixed("validate."), Rule.OBJECT_DUPLICATE_KEY),
    registry.ITERATE: (
        *(rule for rule in _prefixed("iterate.") if rule not in _HOP_FAILURES),
        Rule.ROW_ACCEPTED,
        Rule.ROW_EXHAUSTED,
        Rule.ROW_GROUNDED,
        *_prefixed("session.prompt."),
        *_REPLY_EXTRACTION,
        *_ARTIFACT_VALIDATION,
    ),
    registry.FAULTS: (*_prefixed("faults."), *_HOP_FAILURES, Rule.REPLY_EMPTY),
    registry.SESSIONS: (
        *_prefixed("session."),
        Rule.MAX_ITERATIONS_DEFAULT,
        Rule.MAX_ITERATIONS_CLAMPED,
        Rule.TRACE_GIVEN,
        Rule.TRACE_MINTED,
    ),
    registry.TRACES: (*_prefixed("trace."),),
    registry.COLLECTOR: (*_prefixed("collector."),),
}
"""The rules each suite is meant to exercise: a run that never exercises one
of them did not test it."""


def rules_of(suite: str) -> tuple[str, ...]:
    """The rule ids ``suite`` is meant to exercise (none for an unknown suite)."""
    return tuple(rule.value for rule in SUITE_RULES.get(suite, ()))


def exercised(suite: Suite, execution: JsonValue) -> tuple[Observation, frozenset[str]]:
    """The reference's answer for one execution of ``suite`` (a probe case, a
    live execution, a produced session), and the rules it went through.

    One reference run gives both: running it again would cost the time twice,
    and a live execution's script is consumed as the reference calls the
    model. Every rule the reference reports is returned, also one that the
    suite is not declared for (``Coverage`` keeps those apart)."""
    hits: set[str] = set()
    observation = suite.reference(execution, hits.add)
    return observation, frozenset(hits)


@dataclass
class SuiteCoverage:
    """One suite's tally: how many checked cases exercised each rule."""

    suite: str
    declared: tuple[str, ...]
    cases: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, rules: Iterable[str]) -> None:
        """One checked case and the rules it exercised."""
        self.cases += 1
        self.counts.update({str(rule) for rule in rules})

    def count(self, rule: str) -> int:
        return self.counts[rule]

    def never(self) -> list[str]:
        """The declared rules no case exercised, in declaration order."""
        return self.below(1)

    def below(self, minimum: int) -> list[str]:
        """The declared rules fewer than ``minimum`` cases exercised."""
        return [rule for rule in self.declared if self.counts[rule] < minimum]

    def others(self) -> dict[str, int]:
        """Rules exercised that the suite is not declared for, with their counts."""
        mine = set(self.declared)
        return {rule: n for rule, n in sorted(self.counts.items()) if rule not in mine}

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "suite": self.suite,
            "cases": self.cases,
            "rules": [
                {"rule": rule, "cases": self.counts[rule], "text": RULES.get(rule, "")}
                for rule in self.declared
            ],
            "never": self.never(),
            "others": self.others(),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, JsonValue]) -> SuiteCoverage:
        rules = value.get("rules")
        entries = [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []
        counts: Counter[str] = Counter({str(r["rule"]): int(r["cases"]) for r in entries})
        others = value.get("others")
        if isinstance(others, dict):
            counts.update({str(k): int(v) for k, v in others.items()})
        cases = value.get("cases")
        return cls(
            suite=str(value.get("suite", "")),
            declared=tuple(str(r["rule"]) for r in entries),
            cases=cases if isinstance(cases, int) else 0,
            counts=counts,
        )


@dataclass
class Coverage:
    """Per suite, the cases that exercised each rule of the contract."""

    suites: dict[str, SuiteCoverage] = field(default_factory=dict)

    def suite(self, name: str) -> SuiteCoverage:
        if name not in self.suites:
            self.suites[name] = SuiteCoverage(name, rules_of(name))
        return self.suites[name]

    def add(self, suite: str, rules: Iterable[str]) -> None:
        """One checked case of ``suite`` and the rules it exercised."""
        self.suite(suite).add(rules)

    def below(self, minimum: int) -> dict[str, list[str]]:
        """Per suite, the declared rules fewer than ``minimum`` cases exercised
        (suites with none left out)."""
        found = {name: tally.below(minimum) for name, tally in self.suites.items()}
        return {name: rules for name, rules in found.items() if rules}

    def to_json(self) -> dict[str, JsonValue]:
        return {name: tally.to_json() for name, tally in self.suites.items()}

    @classmethod
    def from_json(cls, value: Mapping[str, JsonValue]) -> Coverage:
        return cls(
            {
                str(name): SuiteCoverage.from_json(entry)
                for name, entry in value.items()
                if isinstance(entry, dict)
            }
        )
