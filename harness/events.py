"""Events: the engine emits them; the CLI, JUnit and other reporters consume
them without the engine knowing who listens (Schemathesis's style)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.model import CaseResult, Finding


@dataclass(frozen=True)
class RunStarted:
    suites: tuple[str, ...]
    targets: tuple[str, ...]
    seed: int | None


@dataclass(frozen=True)
class SuiteStarted:
    suite: str
    targets: tuple[str, ...]
    budget: int


@dataclass(frozen=True)
class CaseChecked:
    suite: str
    result: CaseResult


@dataclass(frozen=True)
class SuiteFinished:
    suite: str
    cases: int
    findings: tuple[Finding, ...]
    errors: tuple[Finding, ...]
    elapsed_s: float


@dataclass(frozen=True)
class RunFinished:
    exit_code: int
    elapsed_s: float


Event = RunStarted | SuiteStarted | CaseChecked | SuiteFinished | RunFinished
