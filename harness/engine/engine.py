"""The engine: every suite through its passes (``passes.py``), then the
causes pass (``attribute.py``), all checking cases through one ``Checker``.

Anything that is not a divergence ends the run with exit 2 and its reason: a
target that cannot be reached, a Hypothesis health check or an unsatisfiable
strategy, a harness bug (with its traceback), a suite that checked no case.
The engine emits events and knows nothing of who listens.
"""

from __future__ import annotations

import datetime as dt
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness import __version__
from harness.baseline import Baseline
from harness.coverage import SuiteCoverage, rules_of
from harness.engine import health, passes
from harness.engine.attribute import TriggerReplay, attribute
from harness.engine.checker import AAPolicy, Checker, Listener
from harness.engine.drawing import ExampleStore
from harness.engine.settings import EngineSettings
from harness.engine.state import StopReason, SuiteState, Tally
from harness.errors import HarnessError
from harness.events import RunFinished, RunStarted, SuiteFinished, SuiteStarted
from harness.model import (
    REFERENCE,
    CaseResult,
    DivergenceClass,
    Failure,
    Finding,
    JsonValue,
    RunSummary,
    SuiteSummary,
)
from harness.suites.base import DerivedSuite, Suite
from harness.targets.base import Target
from harness.volatile import Declared
from harness.waivers import Waivers
from reference_impl.rules import RULES

UNSTABLE_NOT_GATING = "unstable paths do not fail the gate (gate.fail_on_unstable = false)"


@dataclass(frozen=True)
class BaseRuntimes:
    """The base revision's runtimes, started beside the ones under test: the
    suites bound to them, their targets, and how to name them in reports."""

    suites: Sequence[Suite]
    targets: Sequence[Target]
    name: str


class Engine:
    """Runs suites over the reference and targets; emits events to listeners."""

    def __init__(
        self,
        *,
        suites: Sequence[Suite],
        targets: Sequence[Target],
        settings: EngineSettings,
        waivers: Waivers | None = None,
        regressions: Mapping[str, Sequence[JsonValue]] | None = None,
        listeners: Iterable[Listener] = (),
        today: dt.date | None = None,
        baseline: Baseline | None = None,
        base: BaseRuntimes | None = None,
        declared: Sequence[Declared] = (),
        servers: Sequence[health.Watched] = (),
    ) -> None:
        if not targets:
            raise HarnessError("no targets to compare with the reference")
        self.suites = list(suites)
        self.settings = settings
        self.waivers = waivers
        self.regressions = dict(regressions or {})
        self.today = today or dt.date.today()
        self.baseline = baseline
        self.base = base
        self.servers = list(servers)  # checked after each suite and the causes pass
        self.checker = Checker(
            targets,
            listeners=list(listeners),
            aa=AAPolicy(rate=settings.aa_rate),
            declared=declared,
        )
        self._base_checker = Checker(base.targets) if base is not None else None
        self.store = ExampleStore(settings.database)
        self._deadline: float | None = None  # --max-time: when the whole run must end

    @property
    def targets(self) -> list[Target]:
        return self.checker.targets

    # -- outside a run: replays of given cases -----------------------------------

    def check(self, suite: Suite, cases: list[JsonValue]) -> list[CaseResult]:
        """Run and compare given cases, outside any generation (replays)."""
        state = SuiteState(raise_target_errors=True)
        return self.checker.check(suite, cases, Tally(), state, twice=False)

    def check_with_derived(
        self, suite: Suite, case: JsonValue, derived: Sequence[DerivedSuite]
    ) -> dict[str, list[CaseResult]]:
        return self.checker.check_with_derived(suite, case, derived)

    def close(self) -> None:
        self._shutdown(wait=True)

    def _shutdown(self, *, wait: bool) -> None:
        self.checker.shutdown(wait=wait)
        if self._base_checker is not None:
            self._base_checker.shutdown(wait=wait)

    # -- a run ----------------------------------------------------------------------

    def run(self) -> RunSummary:
        started = time.monotonic()
        summary = RunSummary(
            harness_version=__version__,
            started_at=dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
            profile=self.settings.profile,
            seed=self.settings.seed,
            max_time_s=self.settings.max_time_s,
            shard=self.settings.shard,
            fail_on_flaky=self.settings.fail_on_flaky,
        )
        if self.settings.max_time_s is not None:
            self._deadline = started + self.settings.max_time_s
        names = self.checker.names
        self.checker.emit(RunStarted(tuple(s.name for s in self.suites), names, self.settings.seed))
        try:
            self._run_suites(summary)
            self._attribute(summary)
            self._check_servers_after_causes(summary)
        except BaseException:
            # Ctrl-C: do not wait for batches still in flight; the caller
            # closes the targets (which ends their requests) next.
            self._shutdown(wait=False)
            raise
        self._shutdown(wait=True)
        summary.declared_volatile = [use.to_json() for use in self.checker.declared]
        summary.min_rule_cases = self.settings.min_rule_cases
        return self._conclude(summary, started)

    def judge(self, summary: RunSummary) -> RunSummary:
        """A run whose suites ran elsewhere (``parity merge``: the shards):
        its findings waived, replayed here into causes and judged, exactly
        as ``run`` does after its suites."""
        started = time.monotonic()
        for suite in summary.suites:
            for finding in suite.findings:
                self._gate_policy(finding)
        try:
            self._attribute(summary)
            self._check_servers_after_causes(summary)
        finally:
            self._shutdown(wait=True)
        return self._conclude(summary, started, elapsed=summary.elapsed_s)

    def _conclude(self, summary: RunSummary, started: float, *, elapsed: float = 0.0) -> RunSummary:
        if self.waivers is not None:
            summary.expired_waivers = [w.describe() for w in self.waivers.expired(self.today)]
            summary.waivers = self.waivers.uses(summary.causes, summary.findings(), self.today)
        summary.uncovered = uncovered(summary)
        summary.elapsed_s = elapsed + time.monotonic() - started
        summary.exit_code = exit_code(summary)
        self.checker.emit(RunFinished(summary.exit_code, summary.elapsed_s))
        return summary

    def _run_suites(self, summary: RunSummary) -> None:
        needed = {d for s in self.suites if isinstance(s, DerivedSuite) for d in s.depends_on}
        produced: dict[str, list[Any]] = {}
        for index, suite in enumerate(self.suites):
            share = self._share(len(self.suites) - index)
            try:
                result, items = self.run_suite(suite, produced, share_s=share)
                health.check(self.servers)
            except Exception as exc:  # anything that is not a divergence ends the run
                summary.suites.append(self._aborted(suite, exc))
                return
            summary.suites.append(result)
            if suite.name in needed:
                produced[suite.name] = items

    def _share(self, suites_left: int) -> float | None:
        """With --max-time: this suite's part of what is left, after setting
        aside a tenth of the whole for grouping findings into causes (a suite
        that ends early leaves its time to the next)."""
        if self._deadline is None or self.settings.max_time_s is None:
            return None
        reserve = self.settings.max_time_s / 10
        left = self._deadline - reserve - time.monotonic()
        return max(0.0, left / suites_left)

    def run_suite(
        self,
        suite: Suite,
        produced: Mapping[str, Sequence[Any]] | None = None,
        *,
        share_s: float | None = None,
    ) -> tuple[SuiteSummary, list[Any]]:
        """One suite through its passes: its summary, and what it produced
        for derived suites."""
        started = time.monotonic()
        state = SuiteState(deadline=started + share_s if share_s is not None else None)
        tally = Tally(coverage=SuiteCoverage(suite.name, rules_of(suite.name)))
        run = passes.SuiteRun(suite, self.checker, self.settings, tally, state)
        if isinstance(suite, DerivedSuite):
            cases = suite.cases(dict(produced or {}))
            self.checker.emit(SuiteStarted(suite.name, self.checker.names, len(cases)))
            run.check(cases)
        else:
            self.checker.emit(SuiteStarted(suite.name, self.checker.names, self.settings.budget))
            passes.replay(run, self.regressions.get(suite.name, ()), self.store.stored(suite))
            passes.explore(run, suite)
            if self.settings.shrink and not state.stopped:
                passes.shrink(run, suite, self.settings.shrink_seconds)
            passes.settle(run)
            self.store.remember(suite, run.tally)
        if run.tally.cases == 0 and not state.target_errors:
            if not state.out_of_time:
                raise HarnessError(f"suite {suite.name} checked no case{_why_empty(suite)}")
            # Cut short before any answer: out of time, and an error (exit 2).
            state.checked_nothing(suite.name, share_s)
        state.stop(StopReason.COMPLETED)
        summary = self._summary(run, time.monotonic() - started)
        summary.share_s = share_s
        return summary, run.tally.produced

    def _summary(self, run: passes.SuiteRun, elapsed: float) -> SuiteSummary:
        divergences, errors = run.tally.split()
        _merge_target_errors(errors, run.state.target_errors)
        for finding in divergences:
            self._gate_policy(finding)
        summary = SuiteSummary(
            suite=run.suite.name,
            targets=(REFERENCE, *self.checker.names),
            cases=run.tally.cases,
            findings=divergences,
            errors=errors,
            elapsed_s=elapsed,
            out_of_time=run.state.out_of_time,
            explored=run.tally.explored,
            aa_pairs=run.tally.aa_pairs,
            settled=run.tally.settled,
            steered=run.tally.steered,
            coverage=run.tally.coverage,
            stop_reason=str(run.state.reason or StopReason.COMPLETED),
        )
        self.checker.emit(
            SuiteFinished(
                run.suite.name, run.tally.cases, tuple(divergences), tuple(errors), elapsed
            )
        )
        return summary

    def _gate_policy(self, finding: Finding) -> None:
        if self.waivers is not None:
            waiver = self.waivers.match(finding.failure, self.today)
            if waiver is not None:
                finding.waived_by = waiver.reason
        unstable = finding.failure.cls is DivergenceClass.UNSTABLE
        if unstable and not self.settings.fail_on_unstable:
            finding.exempt = UNSTABLE_NOT_GATING

    def _aborted(self, suite: Suite, exc: Exception) -> SuiteSummary:
        """The summary of a suite an exception ended: one infrastructure error
        saying which suite and why (a harness bug keeps its traceback)."""
        if isinstance(exc, HarnessError):
            message = f"{exc}"
            details = exc.traceback if isinstance(exc, health.HandlerFailed) else None
        else:
            kind = type(exc).__module__.split(".")[0]
            what = "Hypothesis" if kind == "hypothesis" else "harness error"
            first = (str(exc).strip().splitlines() or [""])[0]
            message = f"suite {suite.name}: {what}: {type(exc).__name__}: {first}"
            details = "".join(traceback.format_exception(exc))
        if not message.startswith(f"suite {suite.name}"):
            message = f"suite {suite.name}: {message}"
        error = _error(suite.name, message)
        summary = SuiteSummary(
            suite.name,
            (REFERENCE, *self.checker.names),
            errors=[error],
            stop_reason=str(StopReason.ERROR),
        )
        summary.traceback = details
        self.checker.emit(SuiteFinished(suite.name, 0, (), (error,), 0.0))
        return summary

    def _check_servers_after_causes(self, summary: RunSummary) -> None:
        """A handler error while findings were replayed into causes: those
        causes may be wrong. The run ends with exit 2 all the same, the error
        on its last suite (a run whose suites failed replays nothing)."""
        if not summary.suites or any(suite.errors for suite in summary.suites):
            return
        try:
            health.check(self.servers)
        except health.HandlerFailed as exc:
            last = summary.suites[-1]
            message = f"suite {last.suite}: while grouping findings into causes: {exc}"
            last.errors.append(_error(last.suite, message))
            last.traceback = exc.traceback

    # -- causes ---------------------------------------------------------------------

    def _attribute(self, summary: RunSummary) -> None:
        replay = TriggerReplay(self.suites, self.checker, self._deadline)
        base = None
        if self.base is not None and self._base_checker is not None:
            # A/A on the base too: an unstable path there is one here.
            base = TriggerReplay(self.base.suites, self._base_checker, self._deadline, twice=True)
        attribute(
            summary,
            replay,
            baseline=self.baseline,
            base=base,
            base_name=self.base.name if self.base is not None else None,
            waivers=self.waivers,
            today=self.today,
            flaky_replays=self.settings.flaky_replays,
        )


def _error(suite: str, message: str) -> Finding:
    """An infrastructure error of ``suite``, as a finding of no case."""
    failure = Failure(suite, DivergenceClass.CRASH, "$", (), message=message)
    return Finding(failure=failure, example=CaseResult(suite, None, {}, {}, (failure,)))


def _why_empty(suite: Suite) -> str:
    if isinstance(suite, DerivedSuite):
        sources = " or ".join(suite.depends_on)
        return f": none of the suites it checks ({sources}) produced anything"
    return ": Hypothesis generated nothing"


def _merge_target_errors(errors: list[Finding], target_errors: list[Finding]) -> None:
    """Add the per-target notices; one that shares a fingerprint with a recorded
    infrastructure finding replaces that finding's message (it says more)."""
    known = {finding.failure.fingerprint: finding for finding in errors}
    for notice in target_errors:
        same = known.get(notice.failure.fingerprint)
        if same is None:
            errors.append(notice)
        else:
            same.failure = notice.failure


def uncovered(summary: RunSummary) -> list[str]:
    """With ``--min-rule-cases N``: one line per declared rule fewer than N
    checked cases exercised (a strategy that stopped drawing a corner)."""
    minimum = summary.min_rule_cases
    if not minimum:
        return []
    lines = []
    for suite in summary.suites:
        if suite.coverage is None or suite.errors:
            continue
        for rule in suite.coverage.below(minimum):
            count = suite.coverage.count(rule)
            lines.append(
                f"suite {suite.suite}: rule {rule} was exercised by {count} case(s), "
                f"fewer than --min-rule-cases {minimum} ({RULES.get(rule, '')})"
            )
    return lines


def exit_code(summary: RunSummary) -> int:
    """0 parity, 1 divergence (or an expired waiver), 2 infrastructure error
    or a rule below ``--min-rule-cases``. A gated run (a baseline, base
    runtimes) fails only on a new cause that is not flaky (unless
    --fail-on-flaky)."""
    if any(s.errors for s in summary.suites) or summary.uncovered:
        return 2
    if summary.baseline is not None:
        failing = any(
            cause.new and cause.fails_gate and (summary.fail_on_flaky or not cause.flaky)
            for cause in summary.causes
        )
    else:
        failing = any(f.fails_gate for s in summary.suites for f in s.findings)
    return 1 if failing or summary.expired_waivers else 0
