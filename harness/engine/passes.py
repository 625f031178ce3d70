"""The passes one suite goes through, each small and each checking its cases
through the ``Checker`` (Schemathesis calls them phases):

1. ``replay``: the committed reproducers, a baseline's minimal cases, and
   the smallest example of each finding of earlier runs (the example
   database), apart from exploration so that they never shift what a seed
   draws;
2. ``explore``: the whole budget with Hypothesis, a batch of cases per
   example, never raising (Hypothesis stops generating soon after the last
   *new* bug, which suits a bug finder but not a run that promises a budget);
3. ``shrink``: each finding with Hypothesis alone, a pass seeded with that
   finding's choices, failing while the finding still shows;
4. ``settle``: every minimal case asked twice of each runtime (A/A), as
   many times as a new cause's trigger is replayed, and a path found
   unstable takes the other findings at that path with it.

A derived suite instead checks what the suites it depends on produced
(``derive``).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hypothesis import Phase
from hypothesis import strategies as st

from harness.engine import drawing
from harness.engine.checker import Checker, Flight
from harness.engine.settings import EngineSettings
from harness.engine.state import Choices, StopReason, SuiteState, Tally
from harness.model import Finding, JsonValue
from harness.suites.base import DerivedSuite, GeneratedSuite, Suite, case_key


@dataclass
class SuiteRun:
    """What every pass of one suite works with."""

    suite: Suite
    checker: Checker
    settings: EngineSettings
    tally: Tally
    state: SuiteState

    @property
    def batch(self) -> int:
        return self.settings.batch_size or self.suite.batch_size

    def check(self, cases: list[JsonValue], *, twice: bool | None = None) -> None:
        """``cases`` in batches, until the suite must stop."""
        for start in range(0, len(cases), self.batch):
            if self.state.stopped or self.state.out_of_share():
                return
            chunk = cases[start : start + self.batch]
            self.checker.check(self.suite, chunk, self.tally, self.state, twice=twice)


def replay(run: SuiteRun, cases: Sequence[JsonValue], stored: Sequence[Choices]) -> None:
    """Given cases first, then the stored examples (each its own Hypothesis
    example, replayed from its choices)."""
    run.check(list(cases))
    suite = run.suite
    if not stored or run.state.stopped or isinstance(suite, DerivedSuite):
        return

    def test(data: st.DataObject) -> None:
        if run.state.stopped or run.state.out_of_share():
            raise drawing.Enough
        case, choices = drawing.draw_one(suite.strategy)
        run.checker.check(suite, [case], run.tally, run.state, choices=[choices])

    with contextlib.suppress(drawing.Enough):
        drawing.run(suite.name, test, examples=len(stored), phases=(Phase.reuse,), seeds=stored)


def explore(run: SuiteRun, suite: GeneratedSuite) -> None:
    """Generate distinct cases until the budget has run, and on (by at most
    half the budget) while a rule the suite declares is still rare: the
    cases drawn so far decide, so a seed still means the same cases. One
    batch is in flight while the next is drawn and answered by the reference."""
    budget, batch = run.settings.budget, run.batch
    extra = budget // 2 if run.settings.goal > 0 else 0
    done = 0
    in_flight: Flight | None = None

    def wanted() -> int:
        if done < budget:
            return budget - done
        # Past the budget: only while a declared rule is still rare. The
        # batch in flight is not counted yet: at most one batch too many.
        rare = run.tally.coverage.below(run.settings.goal)
        return min(batch, budget + extra - done) if rare else 0

    def test(data: st.DataObject) -> None:
        nonlocal done, in_flight
        # Always a whole batch: what a test draws must not depend on
        # anything but its choices, or Hypothesis reports it as flaky.
        drawn = drawing.draw_distinct(suite.strategy, batch)[: wanted()]
        if run.state.stopped or not drawn or run.state.out_of_share():
            raise drawing.Enough
        done += len(drawn)
        run.tally.explored = min(done, budget)
        run.tally.steered = max(0, done - budget)
        cases, choices = [c for c, _ in drawn], [k for _, k in drawn]
        previous = in_flight
        in_flight = run.checker.send(suite, cases, run.state, choices=choices)
        if previous is not None:
            run.checker.receive(previous, run.tally, run.state)

    # Enough examples for the budget even if many repeat; Enough ends it.
    examples = 2 * max(1, math.ceil((budget + extra) / batch)) + 4
    try:
        with contextlib.suppress(drawing.Enough):
            drawing.run(
                suite.name,
                test,
                examples=examples,
                phases=(Phase.generate,),
                seed_value=run.settings.explore_seed,
            )
    except BaseException:
        if in_flight is not None:
            in_flight.cleanup.close()
        raise
    if in_flight is not None:
        run.checker.receive(in_flight, run.tally, run.state)
    if done < budget:
        run.state.stop(StopReason.EXHAUSTED)


def shrink(run: SuiteRun, suite: GeneratedSuite, seconds: float) -> None:
    """Shrink each finding through Hypothesis, seeded with its choices."""
    deadline = time.monotonic() + seconds
    if run.state.deadline is not None:
        deadline = min(deadline, run.state.deadline)
    for finding, choices in run.tally.shrinkable():
        if time.monotonic() > deadline or run.state.stopped:
            return
        test = _still_fails(run, suite, finding, deadline)
        # One extra trailing choice: Hypothesis skips shrinking a replayed
        # example whose choices it used exactly (it takes it for an already
        # shrunk one); this one it will shrink.
        seeds = [(*choices, False)]
        with contextlib.suppress(drawing.StillFails):
            drawing.run(
                suite.name, test, examples=1, phases=(Phase.reuse, Phase.shrink), seeds=seeds
            )


def _still_fails(
    run: SuiteRun, suite: GeneratedSuite, finding: Finding, deadline: float
) -> drawing.Test:
    fingerprint = finding.failure.fingerprint
    failing = {case_key(finding.example.input)}

    def test(data: st.DataObject) -> None:
        case, choices = drawing.draw_one(suite.strategy)
        key = case_key(case)
        if key not in failing:
            # Out of time: what is left counts as passing, so that Hypothesis
            # stops; a case seen failing still fails.
            if time.monotonic() > deadline or run.state.stopped:
                return
            results = run.checker.check(
                suite, [case], run.tally, run.state, choices=[choices], twice=False
            )
            if not results or fingerprint not in {f.fingerprint for f in results[0].failures}:
                return
            failing.add(key)
        raise drawing.StillFails

    return test


def settle(run: SuiteRun) -> None:
    """Ask each runtime every minimal case twice (A/A); then a path found
    unstable for a runtime takes that runtime's other findings at the path
    with it: one finding per (suite, path, runtime), never also a ``value``
    that comes and goes."""
    if run.suite.kind != "live" or run.state.stopped or run.settings.aa_rate <= 0:
        return
    examples = run.tally.minimal_examples()
    # As many pairs as a new cause's replays: two answers of a coin flip
    # agree half the time, so one pair would miss it half the time.
    run.tally.settling = True
    try:
        for _ in range(run.settings.flaky_replays):
            run.check(examples, twice=True)
    finally:
        run.tally.settling = False
    run.tally.fold_unstable()


def derive(run: SuiteRun, suite: DerivedSuite, produced: Mapping[str, Sequence[JsonValue]]) -> int:
    """Check what the suites ``suite`` depends on produced; how many cases."""
    cases = suite.cases(produced)
    run.check(cases)
    return len(cases)
