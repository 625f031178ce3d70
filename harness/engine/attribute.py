"""The causes pass: after every suite has run, each finding's minimal case is
replayed once in every suite that takes it (``causes.py`` groups what they
show into causes); then waivers naming causes, the baseline's judgement and
the gate's verification (``baseline.py``, ``gate.py``)."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Sequence

from hypothesis import Phase, find, settings

from harness import causes, gate
from harness.baseline import Baseline
from harness.engine.checker import Checker
from harness.model import CaseResult, Cause, RunSummary, Trigger
from harness.suites import registry
from harness.suites.base import DerivedSuite, Suite
from harness.waivers import Waivers


class TriggerReplay:
    """Replays a trigger through one set of suites and targets: the finding
    ids it shows, and how many cases that took per suite."""

    def __init__(
        self,
        suites: Sequence[Suite],
        checker: Checker,
        deadline: float | None,
        *,
        twice: bool = False,
    ) -> None:
        self.by_name = {suite.name: suite for suite in suites}
        self.checker = checker
        self.deadline = deadline
        self.twice = twice  # ask live cases twice (A/A): unstable paths can show
        self.replayed: Counter[str] = Counter()

    def __call__(self, trigger: Trigger) -> frozenset[str]:
        if self.deadline is not None and time.monotonic() > self.deadline:
            return frozenset()
        shown: set[str] = set()
        for name in registry.family(trigger.suite):
            suite = self.by_name.get(name)
            if suite is None or isinstance(suite, DerivedSuite):
                continue
            below = (self.by_name.get(n) for n in registry.derived_from(name))
            derived = [d for d in below if isinstance(d, DerivedSuite)]
            checked = self.checker.check_with_derived(
                suite, trigger.input, derived, quiet=True, twice=self.twice, deadline=self.deadline
            )
            for checked_suite, results in checked.items():
                self.replayed[checked_suite] += len(results)
                shown.update(
                    f.fingerprint
                    for r in results
                    for f in r.failures
                    if not f.cls.is_infrastructure
                )
        return frozenset(shown)

    def plain(self, with_findings: set[str]) -> frozenset[str]:
        """The findings the simplest case of each suite with findings shows
        (``causes.py``: they join a cause only both ways)."""
        found: set[str] = set()
        for suite in self.by_name.values():
            if isinstance(suite, DerivedSuite):
                continue
            if not with_findings & {suite.name, *registry.derived_from(suite.name)}:
                continue
            simplest = find(
                suite.strategy,
                lambda _: True,
                settings=settings(database=None, derandomize=True, phases=(Phase.generate,)),
            )
            found.update(self(Trigger(suite.name, simplest)))
        return frozenset(found)


def attribute(
    summary: RunSummary,
    replay: TriggerReplay,
    *,
    baseline: Baseline | None,
    base: TriggerReplay | None,
    base_name: str | None,
    waivers: Waivers | None,
    today: dt.date,
    flaky_replays: int,
) -> None:
    """Group the run's divergences into causes and judge them. A run whose
    targets failed is not replayed: each finding is its own cause."""
    findings = summary.findings()
    healthy = not any(suite.errors for suite in summary.suites)
    replayer: gate.Replay = replay if healthy else _nothing
    known = baseline.examples if baseline is not None else None
    with_findings = {s.suite for s in summary.suites if s.findings}
    plain = replay.plain(with_findings) if healthy and findings else frozenset()
    summary.causes, shown = causes.attribute(findings, replayer, known, plain)
    for suite in summary.suites:
        suite.replayed = replay.replayed[suite.suite]
    if waivers is not None:
        for cause in summary.causes:
            _waive_cause(cause, waivers, today)
    ran = frozenset(s.suite for s in summary.suites)
    if baseline is not None:
        summary.baseline = baseline.judge(summary.causes, shown, ran, summary.started_at)
    elif base is not None:
        summary.baseline = gate.new_without_baseline(summary.causes, summary.started_at)
    if summary.baseline is not None and healthy:
        replays = gate.Replays(
            current=replayer, base=base, base_name=base_name, times=flaky_replays
        )
        gate.verify(summary.causes, summary.baseline, replays)


def _divergences(results: Sequence[CaseResult]) -> set[str]:
    return {f.fingerprint for r in results for f in r.failures if not f.cls.is_infrastructure}


def _nothing(trigger: Trigger) -> frozenset[str]:
    return frozenset()


def _waive_cause(cause: Cause, waivers: Waivers, today: dt.date) -> None:
    """A waiver naming a cause covers each of its findings."""
    waiver = waivers.match_cause(cause.id, today)
    if waiver is None:
        return
    cause.waived_by = waiver.reason
    for finding in cause.findings:
        finding.waived_by = finding.waived_by or waiver.reason
