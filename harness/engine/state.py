"""Per-suite bookkeeping: the findings a suite has seen (``Tally``), targets
that keep failing, and why the suite stopped (``StopReason``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from harness.coverage import SuiteCoverage
from harness.defaults import DEAD_AFTER
from harness.errors import TargetError
from harness.model import (
    REFERENCE,
    CaseResult,
    DivergenceClass,
    Failure,
    Finding,
    InfraError,
    JsonValue,
    Observation,
)
from harness.suites.base import case_key, case_size

Choices = tuple[Any, ...]  # Hypothesis choice values


class StopReason(StrEnum):
    """Why a suite's run ended; every suite ends with exactly one."""

    COMPLETED = "completed"  # its whole budget, or everything it was given
    EXHAUSTED = "exhausted"  # the strategy had no more distinct cases to draw
    OUT_OF_TIME = "out_of_time"  # its share of --max-time ran out
    TARGET_DOWN = "target_down"  # a target failed case after case
    TARGET_ERROR = "target_error"  # a target could not be used at all
    ERROR = "error"  # a harness or Hypothesis error ended it


@dataclass
class Tally:
    """Every distinct failure of one suite with its smallest example, and the
    Hypothesis choices that drew it (None for a replayed case)."""

    cases: int = 0
    explored: int = 0  # of ``cases``, those exploration drew (the budget's)
    aa_pairs: int = 0  # cases whose live answers were asked for twice
    settled: int = 0  # minimal cases asked again for A/A (not counted in ``cases``)
    findings: dict[str, Finding] = field(default_factory=dict)
    choices: dict[str, Choices | None] = field(default_factory=dict)
    produced: list[Any] = field(default_factory=list)
    coverage: SuiteCoverage = field(default_factory=lambda: SuiteCoverage("", ()))
    steered: int = 0  # cases explored past the budget for rules still rare
    settling: bool = False  # the settle pass: repeats, neither counted nor produced

    def add(self, result: CaseResult, choices: Choices | None) -> None:
        if self.settling:
            self.settled += 1
        else:
            self.cases += 1
        for failure in result.failures:
            known = self.findings.get(failure.fingerprint)
            if known is None:
                self.findings[failure.fingerprint] = Finding(failure=failure, example=result)
                self.choices[failure.fingerprint] = choices
                continue
            known.occurrences += 1
            if case_size(result.input) < case_size(known.example.input):
                # The message describes the example shown with it.
                known.failure, known.example = failure, result
                self.choices[failure.fingerprint] = choices

    def shrinkable(self) -> list[tuple[Finding, Choices]]:
        """Findings Hypothesis can shrink, most severe first. A timeout is not
        shrunk (each try would cost a timeout), nor is an unstable path (its
        example varies by nature)."""
        out = []
        for finding in sorted(self.findings.values(), key=lambda f: f.failure.rank):
            choices = self.choices.get(finding.failure.fingerprint)
            cls = finding.failure.cls
            if choices is not None and cls not in _NOT_SHRUNK:
                out.append((finding, choices))
        return out

    def split(self) -> tuple[list[Finding], list[Finding]]:
        """(divergences, infrastructure errors), most severe first."""
        ordered = sorted(self.findings.values(), key=lambda f: f.failure.rank)
        divergences = [f for f in ordered if not f.failure.cls.is_infrastructure]
        errors = [f for f in ordered if f.failure.cls.is_infrastructure]
        return divergences, errors

    def fold_unstable(self) -> None:
        """A path unstable for a runtime takes that runtime's other findings
        at the path: they are the same variation, seen once each way."""
        unstable = [f for f in self.findings.values() if f.failure.cls is DivergenceClass.UNSTABLE]
        for finding in unstable:
            where = (finding.failure.suite, finding.failure.path, finding.failure.blamed)
            for fingerprint, other in list(self.findings.items()):
                failure = other.failure
                if other is finding or failure.cls.is_infrastructure:
                    continue
                if (failure.suite, failure.path, failure.blamed) == where:
                    finding.occurrences += other.occurrences
                    del self.findings[fingerprint]
                    self.choices.pop(fingerprint, None)

    def minimal_examples(self) -> list[JsonValue]:
        """The smallest example of each divergence, once each."""
        seen: dict[str, JsonValue] = {}
        for finding in self.findings.values():
            if finding.failure.cls.is_infrastructure or finding.example.input is None:
                continue
            seen.setdefault(case_key(finding.example.input), finding.example.input)
        return list(seen.values())


_NOT_SHRUNK: Final = frozenset({DivergenceClass.TIMEOUT, DivergenceClass.UNSTABLE})
_PLANNED: Final = frozenset({StopReason.COMPLETED, StopReason.EXHAUSTED})


@dataclass
class SuiteState:
    """One suite's run: targets that keep failing, fatal errors, its time
    share, and the reason it stopped once it has."""

    streaks: dict[str, int] = field(default_factory=dict)
    dead: dict[str, str] = field(default_factory=dict)
    target_errors: list[Finding] = field(default_factory=list)
    raise_target_errors: bool = False
    quiet: bool = False  # a replay for causes: no events
    deadline: float | None = None  # --max-time: when this suite's share runs out
    reason: StopReason | None = None  # set once: the first reason to stop wins

    @property
    def stopped(self) -> bool:
        """Nothing more can be checked (a target error): later passes skip."""
        return self.reason in (StopReason.TARGET_ERROR, StopReason.ERROR)

    @property
    def out_of_time(self) -> bool:
        return self.reason is StopReason.OUT_OF_TIME

    def stop(self, reason: StopReason) -> None:
        # A target down lets the suite go on with the others: a reason that
        # ends it early says more, its end as planned does not.
        down = self.reason is StopReason.TARGET_DOWN
        if self.reason is None or (down and reason not in _PLANNED):
            self.reason = reason

    def out_of_share(self) -> bool:
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.stop(StopReason.OUT_OF_TIME)
        return self.out_of_time

    def note(self, result: CaseResult) -> None:
        for name, observation in result.observations.items():
            if name == REFERENCE or name in self.dead:
                continue
            if observation.infra is None:
                self.streaks[name] = 0
                continue
            self.streaks[name] = self.streaks.get(name, 0) + 1
            if self.streaks[name] >= DEAD_AFTER:
                self._mark_dead(result, name, observation.infra)

    def _mark_dead(self, result: CaseResult, name: str, infra: InfraError) -> None:
        """Treat ``name`` as down for the rest of the suite, and say so once."""
        reason = f"{DEAD_AFTER} infrastructure failures in a row, the last: {infra.message}"
        self.dead[name] = reason
        if self.reason is None:
            self.reason = StopReason.TARGET_DOWN
        message = f"target {name} is down ({reason}); its remaining {result.suite} cases fail"
        failure = Failure(result.suite, infra.kind, "$", (name,), message=message)
        example = CaseResult(
            result.suite, result.input, result.observations, result.differences, (failure,)
        )
        self.target_errors.append(Finding(failure=failure, example=example))

    def dead_observation(self, name: str) -> Observation:
        return Observation(
            name,
            None,
            infra=InfraError(DivergenceClass.CRASH, f"target {name} is down: {self.dead[name]}"),
        )

    def checked_nothing(self, suite: str, share_s: float | None) -> None:
        """Out of time before any case was answered: never a pass."""
        share = f"its {share_s:.1f}s share of --max-time" if share_s is not None else "its time"
        message = f"suite {suite} checked no case: {share} ran out before the targets answered"
        failure = Failure(suite, DivergenceClass.TIMEOUT, "$", (), message=message)
        empty = CaseResult(suite, None, {}, {}, (failure,))
        self.target_errors.append(Finding(failure=failure, example=empty))

    def target_failed(self, suite: str, error: TargetError) -> None:
        self.stop(StopReason.TARGET_ERROR)
        failure = Failure(suite, DivergenceClass.CRASH, "$", (), message=str(error))
        empty = CaseResult(suite, None, {}, {}, (failure,))
        self.target_errors.append(Finding(failure=failure, example=empty))
