"""The gate's last word on a run's causes, after the baseline's (``baseline.py``):

- **base verification**: each finding of a new cause is replayed from its
  own minimal case on the base revision's runtimes (``--base-ref``,
  ``--base-config``); a cause all of whose new findings the base runtimes
  show is *pre-existing*: the change under test did not bring it, so it does
  not fail the gate (and the next baseline will know it). A flaky fault may
  hide from one replay, so each is tried up to ``replays`` times.
- **flakiness**: before a cause fails the gate, each of its new findings is
  replayed ``replays`` times on the runtimes under test; a cause that shows
  on some replays only is *flaky* (with its rate) and fails only with
  ``--fail-on-flaky`` (Schemathesis calls a failure its replay does not
  reproduce flaky, too). An unstable path is never flaky: its variation,
  seen in an A/A pair, is the finding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.baseline import gate_relevant
from harness.causes import trigger_of
from harness.model import (
    BaselineOutcome,
    Cause,
    CauseStatus,
    DivergenceClass,
    Finding,
    Flakiness,
    Trigger,
)

Replay = Callable[[Trigger], frozenset[str]]  # the finding ids a case shows


@dataclass(frozen=True)
class Replays:
    """How the gate replays a case: on the runtimes under test, and on the
    base runtimes when there are any (``base_name`` says which)."""

    current: Replay
    base: Replay | None = None
    base_name: str | None = None
    times: int = 3


def new_without_baseline(found: Sequence[Cause], now: str) -> BaselineOutcome:
    """Base runtimes but no baseline report: every cause starts new."""
    for cause in found:
        cause.new_findings = tuple(f.id for f in gate_relevant(cause))
        cause.status = CauseStatus.NEW
        cause.first_seen = cause.last_seen = now
    return BaselineOutcome(source=None, schema_version=None)


def verify(found: Sequence[Cause], outcome: BaselineOutcome, replays: Replays) -> None:
    """Pre-existing causes first (base runtimes), then flakiness."""
    by_id = {finding.id: finding for cause in found for finding in cause.findings}
    if replays.base is not None:
        outcome.base = replays.base_name or "base runtimes"
        for cause in _new(found):
            if all(_seen(by_id[f], replays.base, replays.times) for f in cause.new_findings):
                cause.status = CauseStatus.PRE_EXISTING
                outcome.pre_existing.append(cause.id)
    for cause in _new(found):
        if cause.fails_gate:
            shown = min(
                _count(by_id[f], replays.current, replays.times) for f in cause.new_findings
            )
            cause.flakiness = Flakiness(shown, replays.times)


def _new(found: Sequence[Cause]) -> list[Cause]:
    return [c for c in found if c.status is CauseStatus.NEW and c.new_findings]


def _seen(finding: Finding, replay: Replay, times: int) -> bool:
    trigger = trigger_of(finding)
    if trigger is None:
        return False
    if finding.failure.cls is DivergenceClass.UNSTABLE:
        # Two answers of a coin flip agree half the time: more pairs, so
        # that one pre-existing on the base is seen (1 - 2**-9 for 3 tries).
        times *= 3
    return any(finding.id in replay(trigger) for _ in range(times))


def _count(finding: Finding, replay: Replay, times: int) -> int:
    trigger = trigger_of(finding)
    if trigger is None or finding.failure.cls is DivergenceClass.UNSTABLE:
        # Nothing to replay; or an unstable path, which is variation itself
        # (the A/A pair that found it is the evidence): as seen, not flaky.
        return times
    return sum(1 for _ in range(times) if finding.id in replay(trigger))
