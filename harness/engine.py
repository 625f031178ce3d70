"""The engine: generated cases through the reference and every target, compared
three ways, each distinct divergence kept with its smallest example.

Hypothesis drives generation and shrinking. Each distinct failure (suite,
class, path, blamed targets) is raised as its own exception type, so
Hypothesis treats them as distinct bugs and shrinks each one (the trick
Schemathesis uses). Independently of what Hypothesis reports, a recorder keeps
the smallest example of every failure any executed case showed.

The engine emits events and knows nothing of who listens.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase
from hypothesis.errors import HypothesisException

from harness import __version__, compare
from harness.errors import HarnessError, TargetError
from harness.model import (
    REFERENCE,
    SEVERITY,
    CaseChecked,
    CaseResult,
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
    generalise_path,
)
from harness.shrink import shrink
from harness.suites import Suite
from harness.targets.base import Target
from harness.waivers import Waivers

PROFILES: Final = {"quick": 400, "ci": 2000, "thorough": 20000}
SHRINK_PASS_EXAMPLES: Final = 40  # Hypothesis examples (batches) in the shrinking pass
SMALL_ENOUGH: Final = 40  # examples this size or smaller are not reduced further
REDUCE_CALLS: Final = 1000  # cases spent reducing one example at most
REDUCE_SECONDS: Final = 20.0  # and time spent reducing one suite's examples
# After this many infrastructure failures in a row a target is treated as
# down for the rest of the suite: each would cost a restart or a timeout.
DEAD_AFTER: Final = 10

Listener = Callable[[Event], None]


@dataclass(frozen=True, kw_only=True)
class EngineSettings:
    profile: str = "quick"
    max_examples: int | None = None  # cases per suite; the profile's when None
    seed: int | None = None
    database: Path | None = None  # None: no example database
    batch_size: int | None = None  # cases per Hypothesis example; the suite's when None
    shrink: bool = True

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}, not {self.profile!r}")
        if self.max_examples is not None and self.max_examples < 1:
            raise ValueError("max_examples must be at least 1")
        if self.batch_size is not None and not 1 <= self.batch_size <= 256:
            raise ValueError("batch_size must be between 1 and 256")

    @property
    def budget(self) -> int:
        return self.max_examples or PROFILES[self.profile]


class DivergenceFound(Exception):
    """Base of the per-fingerprint exception types raised to Hypothesis."""


_EXCEPTION_TYPES: dict[str, type[DivergenceFound]] = {}


def _exception_for(failure: Failure) -> DivergenceFound:
    kind = _EXCEPTION_TYPES.get(failure.fingerprint)
    if kind is None:
        kind = type(f"Divergence_{failure.fingerprint}", (DivergenceFound,), {})
        _EXCEPTION_TYPES[failure.fingerprint] = kind
    return kind(failure.message)


@dataclass
class Recorder:
    """Every distinct failure of one suite with its smallest example."""

    suite: Suite
    cases: int = 0
    findings: dict[str, Finding] = field(default_factory=dict)

    def add(self, result: CaseResult) -> None:
        self.cases += 1
        for failure in result.failures:
            known = self.findings.get(failure.fingerprint)
            if known is None:
                self.findings[failure.fingerprint] = Finding(failure=failure, example=result)
                continue
            known.occurrences += 1
            if self.suite.size(result.input) < self.suite.size(known.example.input):
                known.example = result

    def split(self) -> tuple[list[Finding], list[Finding]]:
        """(divergences, infrastructure errors), most severe first."""
        ordered = sorted(self.findings.values(), key=lambda f: _rank(f.failure))
        divergences = [f for f in ordered if not f.failure.cls.is_infrastructure]
        errors = [f for f in ordered if f.failure.cls.is_infrastructure]
        return divergences, errors


def _rank(failure: Failure) -> tuple[int, str, tuple[str, ...]]:
    return (SEVERITY.index(failure.cls), failure.path, failure.blamed)


class Engine:
    """Runs suites over a reference and targets; emits events to listeners."""

    def __init__(
        self,
        *,
        suites: Sequence[Suite],
        reference: Target,
        targets: Sequence[Target],
        settings: EngineSettings,
        waivers: Waivers | None = None,
        regressions: Mapping[str, Sequence[JsonValue]] | None = None,
        listeners: Iterable[Listener] = (),
        today: dt.date | None = None,
    ) -> None:
        if not targets:
            raise HarnessError("no targets to compare with the reference")
        self.suites = list(suites)
        self.reference = reference
        self.targets = list(targets)
        self.settings = settings
        self.waivers = waivers
        self.regressions = dict(regressions or {})
        self.listeners = list(listeners)
        self.today = today or dt.date.today()
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(self.targets)))

    def check(self, suite: Suite, cases: list[JsonValue]) -> list[CaseResult]:
        """Run and compare given cases, outside any generation (replays)."""
        return self._check(suite, cases, Recorder(suite), _SuiteState(raise_target_errors=True))

    def close(self) -> None:
        self._pool.shutdown(wait=True)

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
        )
        names = tuple(t.name for t in self.targets)
        self.emit(RunStarted(tuple(s.name for s in self.suites), names, self.settings.seed))
        try:
            for suite in self.suites:
                summary.suites.append(self.run_suite(suite))
        except BaseException:
            # Ctrl-C or a failure: do not wait for batches still in flight; the
            # caller closes the targets (which ends their requests) next.
            self._pool.shutdown(wait=False, cancel_futures=True)
            raise
        self._pool.shutdown(wait=True)
        if self.waivers is not None:
            summary.expired_waivers = [w.describe() for w in self.waivers.expired(self.today)]
        summary.elapsed_s = time.monotonic() - started
        summary.exit_code = exit_code(summary)
        self.emit(RunFinished(summary.exit_code, summary.elapsed_s))
        return summary

    def run_suite(self, suite: Suite) -> SuiteSummary:
        started = time.monotonic()
        names = tuple(t.name for t in self.targets)
        recorder = Recorder(suite)
        state = _SuiteState()
        if suite.collect is not None:
            # A post-hoc suite: its cases are what earlier suites did.
            cases = suite.collect()
            self.emit(SuiteStarted(suite.name, names, len(cases)))
            batch = self.settings.batch_size or suite.batch_size
            for start in range(0, len(cases), batch):
                if state.stopped:
                    break
                self._check(suite, cases[start : start + batch], recorder, state)
        else:
            self.emit(SuiteStarted(suite.name, names, self.settings.budget))
            for case in self.regressions.get(suite.name, ()):
                self._check(suite, [case], recorder, state)
            self._explore(suite, recorder, state)
        divergences, errors = recorder.split()
        _merge_target_errors(errors, state.target_errors)
        for finding in divergences:
            self._waive(finding)
        summary = SuiteSummary(
            suite=suite.name,
            targets=(REFERENCE, *names),
            cases=recorder.cases,
            findings=divergences,
            errors=errors,
            elapsed_s=time.monotonic() - started,
        )
        self.emit(
            SuiteFinished(suite.name, recorder.cases, tuple(divergences), tuple(errors),
                          summary.elapsed_s)
        )  # fmt: skip
        return summary

    def _waive(self, finding: Finding) -> None:
        if self.waivers is None:
            return
        waiver = self.waivers.match(finding.failure, self.today)
        if waiver is not None:
            finding.waived_by = waiver.reason

    def _explore(self, suite: Suite, recorder: Recorder, state: _SuiteState) -> None:
        """Three passes: explore the whole budget, let Hypothesis shrink what it
        finds, then reduce any example that is still large.

        Hypothesis stops generating soon after the last *new* bug it sees, which
        suits a bug finder but not a run that promises a budget of cases; so
        exploration never raises, and a shorter second pass raises per
        fingerprint to get Hypothesis's shrinking (and its example database).
        """
        batch = self.settings.batch_size or suite.batch_size
        examples = max(1, math.ceil(self.settings.budget / batch))
        if suite.shrink_batches:
            self._hypothesis_pass(suite, recorder, state, batch, examples, raising=False)
        else:
            self._distinct_pass(suite, recorder, state, batch)
        if self.settings.shrink and recorder.findings and not state.stopped:
            if suite.shrink_batches:
                self._hypothesis_pass(
                    suite, recorder, state, batch, min(examples, SHRINK_PASS_EXAMPLES), raising=True
                )
            self._reduce(suite, recorder, state)

    def _hypothesis_pass(
        self,
        suite: Suite,
        recorder: Recorder,
        state: _SuiteState,
        batch: int,
        examples: int,
        *,
        raising: bool,
    ) -> None:
        def test(cases: list[JsonValue]) -> None:
            if state.stopped:
                return
            results = self._check(suite, cases, recorder, state)
            failures = [f for r in results for f in r.failures if f.cls is not _TIMEOUT]
            if raising and failures:
                raise _exception_for(min(failures, key=_rank))

        # The recorder holds every failure; Hypothesis's report adds nothing.
        self._run_hypothesis(suite, test, batch, examples, raising=raising, ends=DivergenceFound)

    def _distinct_pass(
        self, suite: Suite, recorder: Recorder, state: _SuiteState, batch: int
    ) -> None:
        """Exploration for suites whose cases are costly (live sessions): each
        batch sends only distinct cases, and generation goes on until the
        budget of cases has run. (Hypothesis starts with its simplest example
        and a near copy, which as whole batches would be one case sent
        ``batch`` times.)"""
        budget = self.settings.budget
        done = 0

        def test(cases: list[JsonValue]) -> None:
            nonlocal done
            if state.stopped or done >= budget:
                raise _Enough
            unique = list({_case_key(case): case for case in cases}.values())
            unique = unique[: budget - done]
            done += len(unique)
            self._check(suite, unique, recorder, state)

        # Enough examples for the budget even if many repeat; _Enough ends it.
        examples = 2 * max(1, math.ceil(budget / batch)) + 4
        self._run_hypothesis(suite, test, batch, examples, raising=False, ends=_Enough)

    def _run_hypothesis(
        self,
        suite: Suite,
        test: Callable[[list[JsonValue]], None],
        batch: int,
        examples: int,
        *,
        raising: bool,
        ends: type[BaseException],
    ) -> None:
        """Drive ``test`` with batches of the suite's cases; ``ends`` (and
        Hypothesis's own report of what it raised) end the pass quietly."""
        test.__name__ = f"parity_{suite.name}"
        # A distinct database key per suite: the wrapped function is the same code.
        test._hypothesis_internal_add_digest = suite.name.encode()  # type: ignore[attr-defined]
        wrapped = given(st.lists(suite.strategy, min_size=batch, max_size=batch))(test)
        wrapped = self._hypothesis_settings(examples, raising=raising)(wrapped)
        if self.settings.seed is not None:
            wrapped = seed(self.settings.seed)(wrapped)
        with contextlib.suppress(ends, HypothesisException, BaseExceptionGroup):
            wrapped()

    def _reduce(self, suite: Suite, recorder: Recorder, state: _SuiteState) -> None:
        """Shrink the examples Hypothesis did not (failures seen rarely)."""
        deadline = time.monotonic() + REDUCE_SECONDS
        for finding in list(recorder.findings.values()):
            if finding.failure.cls.is_infrastructure or state.stopped:
                continue
            if time.monotonic() > deadline:
                break
            if suite.size(finding.example.input) <= SMALL_ENOUGH:
                continue
            fingerprint = finding.failure.fingerprint

            def still_fails(case: JsonValue, fingerprint: str = fingerprint) -> bool:
                if time.monotonic() > deadline or state.stopped:
                    return False  # out of time: the candidates left are not tried
                if suite.admissible is not None and not suite.admissible(case):
                    return False
                return any(
                    f.fingerprint == fingerprint
                    for r in self._check(suite, [case], recorder, state)
                    for f in r.failures
                )

            # Every candidate that still failed went through the recorder,
            # which keeps the smallest example per fingerprint.
            shrink(finding.example.input, still_fails, max_calls=REDUCE_CALLS)

    def _hypothesis_settings(self, examples: int, *, raising: bool) -> settings:
        # Exploring replays nothing (the database holds failures for the
        # shrinking pass) and never shrinks: it never raises.
        phases = [Phase.explicit, Phase.generate]
        if raising:
            phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink]
        database: ExampleDatabase | None = None
        if self.settings.database is not None:
            database = DirectoryBasedExampleDatabase(self.settings.database)
        return settings(
            max_examples=examples,
            database=database,
            deadline=None,
            derandomize=False,
            report_multiple_bugs=True,
            phases=phases,
            verbosity=Verbosity.quiet,
            suppress_health_check=list(HealthCheck),
        )

    def _check(
        self, suite: Suite, cases: list[JsonValue], recorder: Recorder, state: _SuiteState
    ) -> list[CaseResult]:
        # What the reference and the targets see; results keep the case itself.
        sent = suite.prepare(list(cases)) if suite.prepare is not None else cases
        try:
            try:
                observed = self._observe(suite, sent, state)
            except TargetError as exc:
                state.stop(suite, exc)
                if not state.raise_target_errors:
                    return []
                raise
            results = []
            for index, case in enumerate(cases):
                # A streamed observation is waited for here: cases are compared
                # while the later ones of the batch are still in flight.
                by_target = {name: _resolved(runs[index]) for name, runs in observed.items()}
                result = self._compare(suite, case, by_target)
                state.note(result)
                recorder.add(result)
                self.emit(CaseChecked(suite.name, result))
                results.append(result)
            return results
        finally:
            if suite.release is not None:
                suite.release(sent)

    def _observe(
        self, suite: Suite, cases: list[JsonValue], state: _SuiteState
    ) -> dict[str, Sequence[Observation | Future[Observation]]]:
        # Runtimes work in their own processes while the reference computes here.
        # A target that can stream (``submit``) answers case by case; the others
        # answer the whole batch from the engine's thread pool.
        live = [t for t in self.targets if t.name not in state.dead]
        streamed: dict[str, Sequence[Observation | Future[Observation]]] = {}
        pooled: dict[str, Future[list[Observation]]] = {}
        for target in live:
            submit = getattr(target, "submit", None)
            futures = submit(suite.name, cases) if submit is not None else None
            if futures is not None:
                streamed[target.name] = futures
            else:
                pooled[target.name] = self._pool.submit(target.run_batch, suite.name, cases)
        observed: dict[str, Sequence[Observation | Future[Observation]]] = {
            REFERENCE: self.reference.run_batch(suite.name, cases)
        }
        for name, future in pooled.items():
            observed[name] = future.result()
        observed.update(streamed)
        for name in state.dead:
            observed[name] = [state.dead_observation(name) for _ in cases]
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


_TIMEOUT: Final = DivergenceClass.TIMEOUT  # recorded, never shrunk: each try costs a timeout


class _Enough(BaseException):
    """Ends a generation pass once its budget has run (not an Exception:
    Hypothesis lets it through instead of treating it as a failure)."""


def _resolved(item: Observation | Future[Observation]) -> Observation:
    return item.result() if isinstance(item, Future) else item


def _case_key(case: JsonValue) -> str:
    return json.dumps(case, sort_keys=True, default=repr)


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

    def note(self, result: CaseResult) -> None:
        for name, observation in result.observations.items():
            if name == REFERENCE or name in self.dead:
                continue
            if observation.infra is None:
                self.streaks[name] = 0
                continue
            self.streaks[name] = self.streaks.get(name, 0) + 1
            if self.streaks[name] >= DEAD_AFTER:
                self._mark_dead(result, name, observation)

    def _mark_dead(self, result: CaseResult, name: str, observation: Observation) -> None:
        """Treat ``name`` as down for the rest of the suite, and say so once."""
        last = observation.infra.message if observation.infra else "unknown"
        reason = f"{DEAD_AFTER} infrastructure failures in a row, the last: {last}"
        self.dead[name] = reason
        kind = observation.infra.kind if observation.infra else DivergenceClass.CRASH
        message = f"target {name} is down ({reason}); its remaining {result.suite} cases fail"
        failure = Failure(result.suite, kind, "$", (name,), message=message)
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

    def stop(self, suite: Suite, error: TargetError) -> None:
        self.stopped = True
        failure = Failure(suite.name, DivergenceClass.CRASH, "$", (), message=str(error))
        empty = CaseResult(suite.name, None, {}, {}, (failure,))
        self.target_errors.append(Finding(failure=failure, example=empty))


def exit_code(summary: RunSummary) -> int:
    """0 parity, 1 divergence (or an expired waiver), 2 infrastructure error."""
    if any(s.errors for s in summary.suites):
        return 2
    failing = any(
        f.waived_by is None and f.failure.cls.fails_gate for s in summary.suites for f in s.findings
    )
    return 1 if failing or summary.expired_waivers else 0
