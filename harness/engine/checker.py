"""The Checker: the one way cases go through the reference and every target
and come back compared. Every pass of the engine (explore, shrink, replay,
causes, base verification) checks cases through it.

A batch is *sent* (each target starts on it; the reference answers in
process meanwhile) and later *received* (compared case by case as the
targets' answers arrive), so that a pass can draw the next batch while one is
in flight. Each target has one worker thread: a target answers its batches
in order, one at a time, while other targets go on.

A/A: a live case may be sent twice (``twice``); each runtime's two answers
are compared with each other (``harness.stability``), and a path where they
differ becomes one ``unstable`` difference instead of whatever the first
answer showed there. Declared volatile paths (``parity.toml [volatile]``)
are dropped after that, and counted.

With a deadline (``--max-time``), answers are waited for until it is past by
``DEADLINE_GRACE_S``: then the suite is out of time, every target is
interrupted (and batches queued behind are cancelled), and what was compared
so far is what the batch gave. A hung target never holds a run past its bound.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from harness import compare, coverage, defaults, interrupts
from harness.defaults import DEADLINE_GRACE_S
from harness.engine.state import Choices, StopReason, SuiteState, Tally
from harness.errors import TargetError
from harness.events import CaseChecked, Event
from harness.model import (
    REFERENCE,
    CaseResult,
    Difference,
    DivergenceClass,
    Failure,
    JsonValue,
    Observation,
    generalise_path,
)
from harness.stability import compare_twice
from harness.suites.base import DerivedSuite, Suite, case_key
from harness.targets.base import StreamingTarget, Target
from harness.volatile import Declared, DeclaredUse

Listener = Callable[[Event], None]

T = TypeVar("T")
_Answers = Sequence[Observation | Future[Observation]] | Future[list[Observation]]
_Observed = dict[str, _Answers]


@dataclass(frozen=True, kw_only=True)
class AAPolicy:
    """Which live cases are sent twice: a ``rate`` of those explored, chosen
    by the case itself (the same cases for the same seed), and every case a
    pass asks for explicitly (minimal cases)."""

    rate: float = 0.1

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("the A/A rate must be between 0 and 1")

    def sampled(self, case: JsonValue) -> bool:
        if self.rate <= 0.0:
            return False
        digest = hashlib.sha256(case_key(case).encode("utf-8", "surrogatepass")).digest()
        return int.from_bytes(digest[:4], "big") < self.rate * 2**32


@dataclass
class Flight:
    """A batch sent to the targets whose answers are not compared yet;
    ``cleanup`` ends its executions (a session's script) once they are."""

    suite: Suite
    cases: list[JsonValue]
    choices: Sequence[Choices] | None
    again: list[int]  # indices of the cases sent a second time, after the batch
    observed: _Observed = field(default_factory=dict)
    rules: list[frozenset[str]] = field(default_factory=list)  # exercised, per case
    cleanup: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)


class Checker:
    """Cases in, compared results out, for one set of targets."""

    def __init__(
        self,
        targets: Sequence[Target],
        *,
        listeners: Sequence[Listener] = (),
        aa: AAPolicy | None = None,
        declared: Sequence[Declared] = (),
    ) -> None:
        self.targets = list(targets)
        self.listeners = list(listeners)
        self.aa = aa or AAPolicy(rate=0.0)
        self.declared = [DeclaredUse(d) for d in declared]
        self._workers = {
            t.name: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"parity-{t.name}")
            for t in self.targets
        }
        self._pooled: set[Future[list[Observation]]] = set()  # batches the workers hold
        self._lock = threading.Lock()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.targets)

    def emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)

    def shutdown(self, *, wait: bool) -> None:
        for worker in self._workers.values():
            worker.shutdown(wait=wait, cancel_futures=not wait)

    # -- the whole round trip -------------------------------------------------

    def check(
        self,
        suite: Suite,
        cases: list[JsonValue],
        tally: Tally,
        state: SuiteState,
        *,
        choices: Sequence[Choices] | None = None,
        twice: bool | None = None,
    ) -> list[CaseResult]:
        """``twice``: send every case twice (True), none (False), or those the
        A/A policy samples (None)."""
        flight = self.send(suite, cases, state, choices=choices, twice=twice)
        return self.receive(flight, tally, state) if flight is not None else []

    def check_with_derived(
        self,
        suite: Suite,
        case: JsonValue,
        derived: Sequence[DerivedSuite],
        *,
        quiet: bool = False,
        twice: bool = False,
        deadline: float | None = None,
    ) -> dict[str, list[CaseResult]]:
        """Check ``case`` in ``suite``, then in each of ``derived`` what it
        produced (an iterate case, then the session row it wrote): results by
        suite name. ``quiet``: no events, and a target error is an empty
        result instead of an exception (grouping causes). Past ``deadline``
        what is not answered yet is not waited for."""

        def state() -> SuiteState:
            return SuiteState(quiet=quiet, raise_target_errors=not quiet, deadline=deadline)

        first = state()
        results = {suite.name: self.check(suite, [case], Tally(), first, twice=twice)}
        produced = [item for r in results[suite.name] if (item := suite.produced(r)) is not None]
        if first.out_of_time:
            produced = []
        for other in derived:
            cases = other.cases({suite.name: produced}) if produced else []
            results[other.name] = self.check(other, cases, Tally(), state()) if cases else []
        return results

    # -- the two halves -------------------------------------------------------

    def send(
        self,
        suite: Suite,
        cases: list[JsonValue],
        state: SuiteState,
        *,
        choices: Sequence[Choices] | None = None,
        twice: bool | None = None,
    ) -> Flight | None:
        """Send a batch to every target and answer it for the reference; the
        targets' answers are still coming (``receive`` waits for them)."""
        interrupts.raise_if_requested()
        again = self._again(suite, cases, twice)
        flight = Flight(suite, cases, choices, again)
        batch = [*cases, *(cases[i] for i in again)]
        sent = flight.cleanup.enter_context(suite.executions(batch))
        try:
            flight.observed, flight.rules = self._observe(suite, sent, state, len(cases))
        except TargetError as exc:
            flight.cleanup.close()
            self._target_error(suite, state, exc)
            return None
        return flight

    def receive(self, flight: Flight, tally: Tally, state: SuiteState) -> list[CaseResult]:
        """Compare a batch sent earlier, case by case as the answers arrive."""
        interrupts.raise_if_requested()
        suite = flight.suite
        results: list[CaseResult] = []
        n = len(flight.cases)
        second = {index: n + k for k, index in enumerate(flight.again)}
        until = state.deadline + DEADLINE_GRACE_S if state.deadline is not None else None
        with flight.cleanup:
            try:
                rows = {name: _batch(answers, until) for name, answers in flight.observed.items()}
            except TargetError as exc:
                self._target_error(suite, state, exc)
                return []
            except _Late:
                self._out_of_time(state)
                return []
            for index, case in enumerate(flight.cases):
                # A streamed observation is waited for here: cases are compared
                # while the later ones of the batch are still in flight.
                try:
                    by_target = {name: _resolved(row[index], until) for name, row in rows.items()}
                    again = None
                    if index in second:
                        again = {
                            name: _resolved(row[second[index]], until) for name, row in rows.items()
                        }
                except _Late:
                    self._out_of_time(state)
                    return results
                if again is not None:
                    tally.aa_pairs += 1
                result = self._compare(suite, case, by_target, again)
                state.note(result)
                tally.add(result, flight.choices[index] if flight.choices else None)
                if not (tally.settling or state.quiet):
                    tally.coverage.add(flight.rules[index])
                item = None if tally.settling else suite.produced(result)
                if item is not None:
                    tally.produced.append(item)
                if not state.quiet:
                    self.emit(CaseChecked(suite.name, result))
                results.append(result)
        return results

    def _again(self, suite: Suite, cases: Sequence[JsonValue], twice: bool | None) -> list[int]:
        if suite.kind != "live" or twice is False:
            return []
        if twice:
            return list(range(len(cases)))
        return [i for i, case in enumerate(cases) if self.aa.sampled(case)]

    def _out_of_time(self, state: SuiteState) -> None:
        """The deadline and its grace are past with answers still out: the
        suite stops, batches queued for a worker never start, and every
        target stops what it is doing (so that nothing waits for it later)."""
        state.stop(StopReason.OUT_OF_TIME)
        with self._lock:
            pooled = list(self._pooled)
        for future in pooled:
            future.cancel()  # only one not started yet is cancelled
        for target in self.targets:
            target.interrupt()

    def _pool(self, future: Future[list[Observation]]) -> Future[list[Observation]]:
        with self._lock:
            self._pooled.add(future)
        future.add_done_callback(self._unpool)
        return future

    def _unpool(self, future: Future[list[Observation]]) -> None:
        with self._lock:
            self._pooled.discard(future)

    def _target_error(self, suite: Suite, state: SuiteState, exc: TargetError) -> None:
        state.target_failed(suite.name, exc)
        if state.raise_target_errors:
            raise exc

    def _observe(
        self, suite: Suite, sent: Sequence[Any], state: SuiteState, first: int
    ) -> tuple[_Observed, list[frozenset[str]]]:
        """Each target starts on ``sent``; the reference answers here, and
        says which rules each of the ``first`` executions exercised (the
        rest are A/A repeats: no case of their own)."""
        # Runtimes work in their own processes while the reference computes here.
        # A streaming target answers case by case; the others answer the whole
        # batch from its worker thread.
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
                observed[target.name] = self._pool(
                    worker.submit(target.run_batch, suite.name, sent)
                )
            else:
                observed[target.name] = futures
        answers, rules = [], []
        for index, execution in enumerate(sent):
            if index < first:
                answer, exercised = coverage.exercised(suite, execution)
                rules.append(exercised)
            else:
                answer = suite.reference(execution)
            answers.append(answer)
        observed[REFERENCE] = answers
        return observed, rules

    # -- comparing one case ----------------------------------------------------

    def _compare(
        self,
        suite: Suite,
        case: JsonValue,
        by_target: dict[str, Observation],
        again: dict[str, Observation] | None,
    ) -> CaseResult:
        reference = by_target[REFERENCE]
        differences = {}
        for name, observation in by_target.items():
            if name == REFERENCE:
                continue
            found = suite.compare(reference, observation)
            if again is not None:
                found = self._stability(suite, found, again, name)
            differences[name] = self._undeclared(suite, found)
        failures = compare.blame(suite.name, {n: d for n, d in differences.items() if d})
        return CaseResult(suite.name, case, by_target, differences, _generalised(suite, failures))

    def _stability(
        self,
        suite: Suite,
        first: tuple[Difference, ...],
        again: dict[str, Observation],
        name: str,
    ) -> tuple[Difference, ...]:
        reference, observation = again[REFERENCE], again[name]
        if observation.infra is not None or any(d.cls.is_infrastructure for d in first):
            return first  # a failed answer says nothing about stability
        second = suite.compare(reference, observation)
        sessions = {o.session.id for o in again.values() if o.session is not None}
        compared = compare_twice(first, second, sessions)
        return (*compared.unstable, *compared.stable)

    def _undeclared(self, suite: Suite, found: tuple[Difference, ...]) -> tuple[Difference, ...]:
        """``found`` without what the deployment declared volatile (counted)."""
        uses = [use for use in self.declared if use.declared.suite == suite.name]
        if not uses or not found:
            return found
        kept = []
        for diff in found:
            use = next((u for u in uses if u.declared.covers(diff.path)), None)
            if use is None:
                kept.append(diff)
            elif diff.cls is DivergenceClass.UNSTABLE:
                use.varied += 1
            else:
                use.masked += 1
        return tuple(kept)


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


class _Late(Exception):
    """An answer not in by the deadline's grace, or cancelled by an interrupt."""


def _result(future: Future[T], until: float | None) -> T:
    """What ``future`` gives, waited for until ``until`` at most; without a
    deadline, ``defaults.ANSWER_BOUND_S`` at most: every target answers
    within its own timeouts, so an answer that never comes is a harness bug,
    reported (exit 2) rather than waited for forever."""
    if until is not None:
        futures.wait([future], timeout=max(0.0, until - time.monotonic()))
        if not future.done():
            raise _Late
    else:
        futures.wait([future], timeout=defaults.ANSWER_BOUND_S)
        if not future.done():
            raise TargetError(
                f"no answer within {defaults.ANSWER_BOUND_S:g} s, though every target has its "
                "own timeouts: the harness lost track of a request (a harness bug)"
            )
    try:
        return future.result()
    except CancelledError:
        raise _Late from None


def _batch(answers: _Answers, until: float | None) -> Sequence[Observation | Future[Observation]]:
    """One answer per case: a pooled batch is waited for whole."""
    if isinstance(answers, Future):
        whole: list[Observation] = _result(answers, until)
        return whole
    return answers


def _resolved(item: Observation | Future[Observation], until: float | None) -> Observation:
    return _result(item, until) if isinstance(item, Future) else item
