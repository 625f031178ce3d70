"""The engine: cases through the reference and every target, compared, each
distinct divergence kept with its smallest example.

For each suite, in registry order (``suites.registry``):

1. **replay** committed reproducers, then the smallest example of each
   finding of earlier runs (kept in the Hypothesis example database);
2. **explore** the whole budget with Hypothesis, a batch of cases per
   example, never raising (Hypothesis stops generating soon after the last
   *new* bug, which suits a bug finder but not a run that promises a budget);
   the recorder keeps, per finding, the smallest example and the Hypothesis
   choices that drew it;
3. **shrink** each finding with Hypothesis alone: a pass seeded with that
   finding's choices, failing while the finding still shows.

A derived suite instead checks what the suites it depends on produced.

Anything that is not a divergence ends the run with exit 2 and its reason: a
target that cannot be reached, a Hypothesis health check or an unsatisfiable
strategy, a harness bug (with its traceback), a suite that checked no case.
The engine emits events and knows nothing of who listens.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from hypothesis import HealthCheck, Phase, Verbosity, find, given, seed, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    ExampleDatabase,
    choices_from_bytes,
    choices_to_bytes,
)

from harness import __version__, causes, compare, defaults
from harness.baseline import Baseline
from harness.errors import HarnessError, TargetError
from harness.model import (
    REFERENCE,
    CaseChecked,
    CaseResult,
    Cause,
    DivergenceClass,
    Event,
    Failure,
    Finding,
    InfraError,
    JsonValue,
    Observation,
    RunFinished,
    RunStarted,
    RunSummary,
    SuiteFinished,
    SuiteStarted,
    SuiteSummary,
    Trigger,
    generalise_path,
)
from harness.suites import registry
from harness.suites.base import DerivedSuite, GeneratedSuite, Suite, case_size
from harness.targets.base import StreamingTarget, Target
from harness.waivers import Waivers

SHRINK_SECONDS: Final = 20.0  # time spent shrinking one suite's findings at most
# After this many infrastructure failures in a row a target is treated as
# down for the rest of the suite: each would cost a restart or a timeout.
DEAD_AFTER: Final = 10
# Batching is what makes a Hypothesis example cheap; a batch's size and its
# choice sequence stay well inside what Hypothesis accepts, so these checks
# say nothing here.
_SUPPRESSED: Final = (
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
)

Listener = Callable[[Event], None]
Choices = tuple[Any, ...]  # Hypothesis choice values


@dataclass(frozen=True, kw_only=True)
class EngineSettings:
    profile: str = defaults.PROFILE
    max_examples: int | None = None  # cases per suite; the profile's when None
    seed: int | None = None
    database: Path | None = None  # None: no example database
    batch_size: int | None = None  # cases per Hypothesis example; the suite's when None
    shrink: bool = True
    max_time_s: float | None = None  # bounds the whole run, shared between the suites

    def __post_init__(self) -> None:
        if self.profile not in defaults.PROFILES:
            names = ", ".join(defaults.PROFILES)
            raise ValueError(f"profile must be one of {names}, not {self.profile!r}")
        if self.max_examples is not None and self.max_examples < 1:
            raise ValueError("max_examples must be at least 1")
        if self.batch_size is not None and not 1 <= self.batch_size <= 256:
            raise ValueError("batch_size must be between 1 and 256")
        if self.max_time_s is not None and self.max_time_s <= 0:
            raise ValueError("max_time_s must be positive")

    @property
    def budget(self) -> int:
        return self.max_examples or defaults.PROFILES[self.profile]


@dataclass
class Recorder:
    """Every distinct failure of one suite with its smallest example, and the
    Hypothesis choices that drew it (None for a replayed reproducer)."""

    cases: int = 0
    findings: dict[str, Finding] = field(default_factory=dict)
    choices: dict[str, Choices | None] = field(default_factory=dict)
    produced: list[JsonValue] = field(default_factory=list)

    def add(self, result: CaseResult, choices: Choices | None) -> None:
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
        shrunk: each try would cost a timeout."""
        out = []
        for finding in sorted(self.findings.values(), key=lambda f: f.failure.rank):
            choices = self.choices.get(finding.failure.fingerprint)
            if choices is not None and finding.failure.cls is not DivergenceClass.TIMEOUT:
                out.append((finding, choices))
        return out

    def split(self) -> tuple[list[Finding], list[Finding]]:
        """(divergences, infrastructure errors), most severe first."""
        ordered = sorted(self.findings.values(), key=lambda f: f.failure.rank)
        divergences = [f for f in ordered if not f.failure.cls.is_infrastructure]
        errors = [f for f in ordered if f.failure.cls.is_infrastructure]
        return divergences, errors


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
    ) -> None:
        if not targets:
            raise HarnessError("no targets to compare with the reference")
        self.suites = list(suites)
        self.targets = list(targets)
        self.settings = settings
        self.waivers = waivers
        self.regressions = dict(regressions or {})
        self.listeners = list(listeners)
        self.today = today or dt.date.today()
        self.baseline = baseline
        self._deadline: float | None = None  # --max-time: when the whole run must end
        self._replayed: Counter[str] = Counter()  # cases run to group findings, by suite
        # One worker per target: a target answers its batches in order, one at
        # a time (a probe's pipe carries one batch), while other targets and
        # the next batch's generation go on.
        self._workers = {
            t.name: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"parity-{t.name}")
            for t in self.targets
        }
        self._database = (
            DirectoryBasedExampleDatabase(settings.database) if settings.database else None
        )

    def check(self, suite: Suite, cases: list[JsonValue]) -> list[CaseResult]:
        """Run and compare given cases, outside any generation (replays)."""
        state = _SuiteState(raise_target_errors=True)
        return self._check(suite, cases, Recorder(), state)

    def check_with_derived(
        self,
        suite: Suite,
        case: JsonValue,
        derived: Sequence[DerivedSuite],
        *,
        quiet: bool = False,
    ) -> dict[str, list[CaseResult]]:
        """Check ``case`` in ``suite``, then in each of ``derived`` what it
        produced (an iterate case, then the session row it wrote): results by
        suite name. ``quiet``: no events, and a target error is an empty
        result instead of an exception (grouping causes)."""

        def state() -> _SuiteState:
            return _SuiteState(quiet=quiet, raise_target_errors=not quiet)

        results = {suite.name: self._check(suite, [case], Recorder(), state())}
        produced = [item for r in results[suite.name] if (item := suite.produced(r)) is not None]
        for other in derived:
            cases = other.cases({suite.name: produced}) if produced else []
            results[other.name] = self._check(other, cases, Recorder(), state()) if cases else []
        return results

    def close(self) -> None:
        self._shutdown(wait=True)

    def _shutdown(self, *, wait: bool) -> None:
        for worker in self._workers.values():
            worker.shutdown(wait=wait, cancel_futures=not wait)

    def emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)

    # -- running -------------------------------------------------------------

    def run(self) -> RunSummary:
        started = time.monotonic()
        summary = RunSummary(
            harness_version=__version__,
            started_at=dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
            profile=self.settings.profile,
            seed=self.settings.seed,
            max_time_s=self.settings.max_time_s,
        )
        if self.settings.max_time_s is not None:
            self._deadline = started + self.settings.max_time_s
        names = tuple(t.name for t in self.targets)
        self.emit(RunStarted(tuple(s.name for s in self.suites), names, self.settings.seed))
        try:
            self._run_suites(summary)
            self._attribute(summary)
        except BaseException:
            # Ctrl-C: do not wait for batches still in flight; the caller
            # closes the targets (which ends their requests) next.
            self._shutdown(wait=False)
            raise
        self._shutdown(wait=True)
        if self.waivers is not None:
            summary.expired_waivers = [w.describe() for w in self.waivers.expired(self.today)]
            summary.waivers = self.waivers.uses(summary.causes, summary.findings(), self.today)
        summary.elapsed_s = time.monotonic() - started
        summary.exit_code = exit_code(summary)
        self.emit(RunFinished(summary.exit_code, summary.elapsed_s))
        return summary

    def _run_suites(self, summary: RunSummary) -> None:
        needed = {d for s in self.suites if isinstance(s, DerivedSuite) for d in s.depends_on}
        produced: dict[str, list[JsonValue]] = {}
        for index, suite in enumerate(self.suites):
            share = self._share(len(self.suites) - index)
            try:
                result, items = self.run_suite(suite, produced, share_s=share)
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

    # -- causes ----------------------------------------------------------------

    def _attribute(self, summary: RunSummary) -> None:
        """Group the run's divergences into causes (``causes.py``): each
        finding's minimal case is replayed once in every suite that takes it.
        A run whose targets failed is not replayed: each finding is its own."""
        findings = summary.findings()
        healthy = not any(suite.errors for suite in summary.suites)
        replay = self._replay_trigger if healthy else (lambda trigger: frozenset())
        known = self.baseline.examples if self.baseline is not None else None
        plain = self._plain(summary) if healthy and findings else frozenset()
        summary.causes, shown = causes.attribute(findings, replay, known, plain)
        for suite in summary.suites:
            suite.replayed = self._replayed[suite.suite]
        for cause in summary.causes:
            self._waive_cause(cause)
        if self.baseline is not None:
            summary.baseline = self.baseline.judge(summary.causes, shown)

    def _plain(self, summary: RunSummary) -> frozenset[str]:
        """The findings the simplest case of each suite with findings shows
        (``causes.py``: they join a cause only both ways)."""
        with_findings = {s.suite for s in summary.suites if s.findings}
        plain: set[str] = set()
        for suite in self.suites:
            if isinstance(suite, DerivedSuite):
                continue
            if not with_findings & {suite.name, *registry.derived_from(suite.name)}:
                continue
            simplest = find(
                suite.strategy,
                lambda _: True,
                settings=settings(database=None, derandomize=True, phases=(Phase.generate,)),
            )
            plain.update(self._replay_trigger(Trigger(suite.name, simplest)))
        return frozenset(plain)

    def _replay_trigger(self, trigger: Trigger) -> frozenset[str]:
        """Every finding ``trigger`` shows: in each suite of its family, and in
        the suites derived from those (an iterate case's session row)."""
        if self._deadline is not None and time.monotonic() > self._deadline:
            return frozenset()
        by_name = {suite.name: suite for suite in self.suites}
        shown: set[str] = set()
        for name in registry.family(trigger.suite):
            suite = by_name.get(name)
            if suite is None or isinstance(suite, DerivedSuite):
                continue
            below = (by_name.get(n) for n in registry.derived_from(name))
            derived = [d for d in below if isinstance(d, DerivedSuite)]
            checked = self.check_with_derived(suite, trigger.input, derived, quiet=True)
            for checked_suite, results in checked.items():
                self._replayed[checked_suite] += len(results)
                shown.update(_divergences(results))
        return frozenset(shown)

    def run_suite(
        self,
        suite: Suite,
        produced: Mapping[str, Sequence[JsonValue]] | None = None,
        *,
        share_s: float | None = None,
    ) -> tuple[SuiteSummary, list[JsonValue]]:
        """One suite: its summary, and what it produced for derived suites."""
        started = time.monotonic()
        recorder, state = Recorder(), _SuiteState()
        if share_s is not None:
            state.deadline = started + share_s
        if isinstance(suite, DerivedSuite):
            self._derive(suite, dict(produced or {}), recorder, state)
        else:
            self.emit(SuiteStarted(suite.name, self._names(), self.settings.budget))
            for case in self.regressions.get(suite.name, ()):
                self._check(suite, [case], recorder, state)
            self._explore(suite, recorder, state)
            if self.settings.shrink and not state.stopped:
                self._shrink(suite, recorder, state)
            self._remember(suite, recorder)
        if recorder.cases == 0 and not state.target_errors:
            raise HarnessError(f"suite {suite.name} checked no case{_why_empty(suite)}")
        summary = self._summary(suite, recorder, state, time.monotonic() - started)
        summary.share_s, summary.out_of_time = share_s, state.out_of_time
        return summary, recorder.produced

    def _summary(
        self, suite: Suite, recorder: Recorder, state: _SuiteState, elapsed: float
    ) -> SuiteSummary:
        divergences, errors = recorder.split()
        _merge_target_errors(errors, state.target_errors)
        for finding in divergences:
            self._waive(finding)
        summary = SuiteSummary(
            suite=suite.name,
            targets=(REFERENCE, *self._names()),
            cases=recorder.cases,
            findings=divergences,
            errors=errors,
            elapsed_s=elapsed,
        )
        self.emit(
            SuiteFinished(suite.name, recorder.cases, tuple(divergences), tuple(errors), elapsed)
        )
        return summary

    def _aborted(self, suite: Suite, exc: Exception) -> SuiteSummary:
        """The summary of a suite an exception ended: one infrastructure error
        saying which suite and why (a harness bug keeps its traceback)."""
        if isinstance(exc, HarnessError):
            message, details = f"{exc}", None
        else:
            kind = type(exc).__module__.split(".")[0]
            what = "Hypothesis" if kind == "hypothesis" else "harness error"
            first = (str(exc).strip().splitlines() or [""])[0]
            message = f"suite {suite.name}: {what}: {type(exc).__name__}: {first}"
            details = "".join(traceback.format_exception(exc))
        if not message.startswith(f"suite {suite.name}"):
            message = f"suite {suite.name}: {message}"
        failure = Failure(suite.name, DivergenceClass.CRASH, "$", (), message=message)
        error = Finding(failure=failure, example=CaseResult(suite.name, None, {}, {}, (failure,)))
        summary = SuiteSummary(suite.name, (REFERENCE, *self._names()), errors=[error])
        summary.traceback = details
        self.emit(SuiteFinished(suite.name, 0, (), (error,), 0.0))
        return summary

    def _names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.targets)

    def _waive(self, finding: Finding) -> None:
        if self.waivers is None:
            return
        waiver = self.waivers.match(finding.failure, self.today)
        if waiver is not None:
            finding.waived_by = waiver.reason

    def _waive_cause(self, cause: Cause) -> None:
        """A waiver naming a cause covers each of its findings."""
        if self.waivers is None:
            return
        waiver = self.waivers.match_cause(cause.id, self.today)
        if waiver is None:
            return
        cause.waived_by = waiver.reason
        for finding in cause.findings:
            finding.waived_by = finding.waived_by or waiver.reason

    # -- the three kinds of pass ----------------------------------------------

    def _derive(
        self,
        suite: DerivedSuite,
        produced: Mapping[str, Sequence[JsonValue]],
        recorder: Recorder,
        state: _SuiteState,
    ) -> None:
        cases = suite.cases(produced)
        self.emit(SuiteStarted(suite.name, self._names(), len(cases)))
        batch = self.settings.batch_size or suite.batch_size
        for start in range(0, len(cases), batch):
            if state.stopped or state.out_of_share():
                break
            self._check(suite, cases[start : start + batch], recorder, state)

    def _explore(self, suite: GeneratedSuite, recorder: Recorder, state: _SuiteState) -> None:
        """Generate distinct cases until the budget has run."""
        budget, batch = self.settings.budget, self.settings.batch_size or suite.batch_size
        done = 0

        in_flight: _Flight | None = None

        def test(data: st.DataObject) -> None:
            nonlocal done, in_flight
            # Always a whole batch: what a test draws must not depend on
            # anything but its choices, or Hypothesis reports it as flaky.
            drawn = _draw_distinct(suite.strategy, batch)[: budget - done]
            if state.stopped or not drawn or state.out_of_share():
                raise _Enough
            done += len(drawn)
            cases, choices = [c for c, _ in drawn], [k for _, k in drawn]
            # One batch in flight while the next is drawn and answered by the
            # reference: generation overlaps the targets' work.
            previous, in_flight = in_flight, self._send(suite, cases, state, choices)
            if previous is not None:
                self._receive(previous, recorder, state)

        # Enough examples for the budget even if many repeat; _Enough ends it.
        examples = 2 * max(1, math.ceil(budget / batch)) + 4
        seeds = self._stored(suite)
        phases = (Phase.reuse, Phase.generate)
        try:
            with contextlib.suppress(_Enough):
                self._hypothesis(suite, test, examples=examples, phases=phases, seeds=seeds)
        except BaseException:
            if in_flight is not None:
                in_flight.cleanup.close()
            raise
        if in_flight is not None:
            self._receive(in_flight, recorder, state)

    def _shrink(self, suite: GeneratedSuite, recorder: Recorder, state: _SuiteState) -> None:
        """Shrink each finding through Hypothesis, seeded with its choices."""
        deadline = time.monotonic() + SHRINK_SECONDS
        if state.deadline is not None:
            deadline = min(deadline, state.deadline)
        for finding, choices in recorder.shrinkable():
            if time.monotonic() > deadline or state.stopped:
                return
            test = self._still_fails(suite, finding, recorder, state, deadline)
            # One extra trailing choice: Hypothesis skips shrinking a replayed
            # example whose choices it used exactly (it takes it for an
            # already shrunk one); this one it will shrink.
            seeds = [(*choices, False)]
            phases = (Phase.reuse, Phase.shrink)
            with contextlib.suppress(_StillFails):
                self._hypothesis(suite, test, examples=1, phases=phases, seeds=seeds)

    def _still_fails(
        self,
        suite: GeneratedSuite,
        finding: Finding,
        recorder: Recorder,
        state: _SuiteState,
        deadline: float,
    ) -> Callable[[st.DataObject], None]:
        fingerprint = finding.failure.fingerprint
        failing = {_case_key(finding.example.input)}

        def test(data: st.DataObject) -> None:
            case, choices = _draw_one(suite.strategy)
            key = _case_key(case)
            if key not in failing:
                # Out of time: what is left counts as passing, so that
                # Hypothesis stops; a case seen failing still fails.
                if time.monotonic() > deadline or state.stopped:
                    return
                results = self._check(suite, [case], recorder, state, [choices])
                if not results or fingerprint not in {f.fingerprint for f in results[0].failures}:
                    return
                failing.add(key)
            raise _StillFails

        return test

    def _hypothesis(
        self,
        suite: GeneratedSuite,
        test: Callable[[st.DataObject], None],
        *,
        examples: int,
        phases: Sequence[Phase],
        seeds: Sequence[Choices],
    ) -> None:
        """Run ``test`` under Hypothesis; whatever it raises goes to the caller."""
        test.__name__ = f"parity_{suite.name}"
        wrapped = given(st.data())(test)
        if self.settings.seed is not None:
            # Before ``settings``: a seed alone would also turn the database off.
            wrapped = seed(self.settings.seed)(wrapped)
        wrapped = settings(
            max_examples=examples,
            database=_Seeds(seeds),
            deadline=None,
            derandomize=False,
            report_multiple_bugs=False,
            phases=phases,
            verbosity=Verbosity.quiet,
            suppress_health_check=_SUPPRESSED,
        )(wrapped)
        wrapped()

    # -- the example database: each finding's smallest example, across runs --

    def _key(self, suite: Suite) -> bytes:
        return f"lakehouse-parity/{suite.name}".encode()

    def _stored(self, suite: Suite) -> list[Choices]:
        if self._database is None:
            return []
        stored = (choices_from_bytes(v) for v in self._database.fetch(self._key(suite)))
        return [choices for choices in stored if choices is not None]

    def _remember(self, suite: Suite, recorder: Recorder) -> None:
        """Replace what the database holds for ``suite`` with the choices of
        this run's smallest example of each divergence."""
        if self._database is None:
            return
        key = self._key(suite)
        for old in list(self._database.fetch(key)):
            self._database.delete(key, old)
        for fingerprint, choices in recorder.choices.items():
            cls = recorder.findings[fingerprint].failure.cls
            if choices is not None and not cls.is_infrastructure:
                self._database.save(key, choices_to_bytes(choices))

    # -- checking a batch ----------------------------------------------------

    def _check(
        self,
        suite: Suite,
        cases: list[JsonValue],
        recorder: Recorder,
        state: _SuiteState,
        choices: Sequence[Choices] | None = None,
    ) -> list[CaseResult]:
        flight = self._send(suite, cases, state, choices)
        return self._receive(flight, recorder, state) if flight is not None else []

    def _send(
        self,
        suite: Suite,
        cases: list[JsonValue],
        state: _SuiteState,
        choices: Sequence[Choices] | None = None,
    ) -> _Flight | None:
        """Send a batch to every target and answer it for the reference; the
        targets' answers are still coming (``_receive`` waits for them)."""
        flight = _Flight(suite, cases, choices)
        sent = flight.cleanup.enter_context(suite.executions(cases))
        try:
            flight.observed = self._observe(suite, sent, state)
        except TargetError as exc:
            flight.cleanup.close()
            self._target_error(suite, state, exc)
            return None
        return flight

    def _receive(self, flight: _Flight, recorder: Recorder, state: _SuiteState) -> list[CaseResult]:
        """Compare a batch sent earlier, case by case as the answers arrive."""
        suite, results = flight.suite, []
        with flight.cleanup:
            try:
                rows = {name: _batch(answers) for name, answers in flight.observed.items()}
            except TargetError as exc:
                self._target_error(suite, state, exc)
                return []
            for index, case in enumerate(flight.cases):
                # A streamed observation is waited for here: cases are compared
                # while the later ones of the batch are still in flight.
                by_target = {name: _resolved(row[index]) for name, row in rows.items()}
                result = self._compare(suite, case, by_target)
                state.note(result)
                recorder.add(result, flight.choices[index] if flight.choices else None)
                item = suite.produced(result)
                if item is not None:
                    recorder.produced.append(item)
                if not state.quiet:
                    self.emit(CaseChecked(suite.name, result))
                results.append(result)
        return results

    def _target_error(self, suite: Suite, state: _SuiteState, exc: TargetError) -> None:
        state.stop(suite.name, exc)
        if state.raise_target_errors:
            raise exc

    def _observe(self, suite: Suite, sent: Sequence[JsonValue], state: _SuiteState) -> _Observed:
        # Runtimes work in their own processes while the reference computes here.
        # A streaming target answers case by case; the others answer the whole
        # batch from the engine's thread pool.
        observed: _Observed = {REFERENCE: []}  # first, as reports list it
        for target in self.targets:
            if target.name in state.dead:
                observed[target.name] = [state.dead_observation(target.name) for _ in sent]
                continue
            futures = None
            if isinstance(target, StreamingTarget):
                futures = target.submit(suite.name, sent)
            if futures is None:
                worker = self._workers[target.name]
                observed[target.name] = worker.submit(target.run_batch, suite.name, sent)
            else:
                observed[target.name] = futures
        observed[REFERENCE] = [suite.reference(execution) for execution in sent]
        return observed

    def _compare(
        self, suite: Suite, case: JsonValue, by_target: dict[str, Observation]
    ) -> CaseResult:
        reference = by_target[REFERENCE]
        differences = {
            name: suite.compare(reference, observation)
            for name, observation in by_target.items()
            if name != REFERENCE
        }
        failures = compare.blame(suite.name, {n: d for n, d in differences.items() if d})
        return CaseResult(suite.name, case, by_target, differences, _generalised(suite, failures))


def _why_empty(suite: Suite) -> str:
    if isinstance(suite, DerivedSuite):
        sources = " or ".join(suite.depends_on)
        return f": none of the suites it checks ({sources}) produced anything"
    return ": Hypothesis generated nothing"


def _generalised(suite: Suite, failures: tuple[Failure, ...]) -> tuple[Failure, ...]:
    """Failures keyed by their generalised path, one per key."""
    if not suite.free_roots:
        return failures
    unique: dict[tuple[str, str, str, tuple[str, ...]], Failure] = {}
    for failure in failures:
        path = generalise_path(failure.path, suite.free_roots)
        general = Failure(failure.suite, failure.cls, path, failure.blamed, failure.message)
        unique.setdefault(general.key, general)
    return tuple(unique.values())


# -- Hypothesis plumbing ---------------------------------------------------------


class _Enough(BaseException):
    """Ends exploration once the budget has run (not an Exception: Hypothesis
    lets it through instead of treating it as a failure)."""


class _StillFails(Exception):
    """Raised to Hypothesis while the finding being shrunk still shows."""


class _Seeds(ExampleDatabase):
    """The examples a pass starts from, as Hypothesis's database: given to
    each pass and never written (the engine keeps what it learns itself)."""

    def __init__(self, seeds: Sequence[Choices]) -> None:
        super().__init__()
        self._values = [choices_to_bytes(s) for s in seeds]

    def fetch(self, key: bytes) -> Iterable[bytes]:
        # Only the primary corpus: not the ".secondary" or ".pareto" ones.
        return [] if key.endswith((b".secondary", b".pareto")) else list(self._values)

    def save(self, key: bytes, value: bytes) -> None:
        pass

    def delete(self, key: bytes, value: bytes) -> None:
        pass


def _draw_one(strategy: st.SearchStrategy[JsonValue]) -> tuple[JsonValue, Choices]:
    """A case and the choices that drew it: replayed alone, those choices draw
    the same case, so any case can seed a shrinking pass."""
    conjecture = current_build_context().data
    start = len(conjecture.nodes)
    # Not ``data.draw``: it also saves and restores the global random state and
    # labels the draw for a report never printed here (30-80 µs a case).
    case = conjecture.draw(strategy)
    return case, tuple(node.value for node in conjecture.nodes[start:])


def _draw_distinct(
    strategy: st.SearchStrategy[JsonValue], n: int
) -> list[tuple[JsonValue, Choices]]:
    """Up to ``n`` distinct cases. Hypothesis starts with its simplest example,
    where every draw is the same case: a batch stops after a few repeats in a
    row rather than drawing ``n`` copies (it depends on the choices alone, so
    Hypothesis sees a deterministic test)."""
    distinct: dict[str, tuple[JsonValue, Choices]] = {}
    repeats = 0
    while n > 0 and repeats < _GIVE_UP_AFTER:
        n -= 1
        case, choices = _draw_one(strategy)
        key = _case_key(case)
        repeats = repeats + 1 if key in distinct else 0
        distinct.setdefault(key, (case, choices))
    return list(distinct.values())


_GIVE_UP_AFTER: Final = 3


def _case_key(case: JsonValue) -> str:
    return case if isinstance(case, str) else json.dumps(case, sort_keys=True, default=repr)


# -- per-suite bookkeeping ---------------------------------------------------------


_Answers = Sequence[Observation | Future[Observation]] | Future[list[Observation]]
_Observed = dict[str, _Answers]


@dataclass
class _Flight:
    """A batch sent to the targets whose answers are not compared yet;
    ``cleanup`` ends its executions (a session's script) once they are."""

    suite: Suite
    cases: list[JsonValue]
    choices: Sequence[Choices] | None
    observed: _Observed = field(default_factory=dict)
    cleanup: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)


def _batch(answers: _Answers) -> Sequence[Observation | Future[Observation]]:
    """One answer per case: a pooled batch is waited for whole."""
    return answers.result() if isinstance(answers, Future) else answers


def _resolved(item: Observation | Future[Observation]) -> Observation:
    return item.result() if isinstance(item, Future) else item


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


@dataclass
class _SuiteState:
    """Per-suite bookkeeping: targets that keep failing, and fatal errors."""

    streaks: dict[str, int] = field(default_factory=dict)
    dead: dict[str, str] = field(default_factory=dict)
    target_errors: list[Finding] = field(default_factory=list)
    stopped: bool = False
    raise_target_errors: bool = False
    quiet: bool = False  # a replay for causes: no events
    deadline: float | None = None  # --max-time: when this suite's share runs out
    out_of_time: bool = False

    def out_of_share(self) -> bool:
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.out_of_time = True
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

    def stop(self, suite: str, error: TargetError) -> None:
        self.stopped = True
        failure = Failure(suite, DivergenceClass.CRASH, "$", (), message=str(error))
        empty = CaseResult(suite, None, {}, {}, (failure,))
        self.target_errors.append(Finding(failure=failure, example=empty))


def _divergences(results: Iterable[CaseResult]) -> set[str]:
    return {f.fingerprint for r in results for f in r.failures if not f.cls.is_infrastructure}


def exit_code(summary: RunSummary) -> int:
    """0 parity, 1 divergence (or an expired waiver), 2 infrastructure error.
    With a baseline only a new cause is a divergence that fails the gate."""
    if any(s.errors for s in summary.suites):
        return 2
    if summary.baseline is not None:
        failing = any(cause.new and cause.fails_gate for cause in summary.causes)
    else:
        failing = any(
            f.waived_by is None and f.failure.cls.fails_gate
            for s in summary.suites
            for f in s.findings
        )
    return 1 if failing or summary.expired_waivers else 0
