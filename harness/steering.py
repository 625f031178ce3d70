"""Steering generation towards the rules a run has exercised least: the pure part.

The engine checks a batch of cases per Hypothesis example and knows, once the
reference has answered them, which rules each case exercised
(``harness.coverage.exercised``). ``rarity`` turns that into one number per
batch that it can hand to ``hypothesis.target()``: the cases of the batch
that exercised a rule the run has seen fewer than ``goal`` times before it.
Hypothesis then mutates the examples that scored highest. Whether that pays
is measured in ``benchmarks/results/steering.md``: at the budgets this
harness runs, it does not (see there), so the engine leaves it off; this
module is what it would call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

LABEL: Final = "cases exercising a rare rule"
"""The label the engine gives ``hypothesis.target()``."""


def starved(counts: Mapping[str, int], declared: Iterable[str], goal: int) -> frozenset[str]:
    """The declared rules the run has exercised fewer than ``goal`` times."""
    return frozenset(rule for rule in declared if counts.get(rule, 0) < goal)


def rarity(
    batch: Sequence[Iterable[str]],
    counts: Mapping[str, int],
    declared: Iterable[str],
    *,
    goal: int = 5,
) -> float:
    """The score of one batch: how many of its cases exercised a declared
    rule that the run had seen fewer than ``goal`` times before the batch
    (``counts``: cases per rule so far). 0 once every rule has reached it."""
    rare = starved(counts, declared, goal)
    if not rare:
        return 0.0
    return float(sum(1 for rules in batch if rare.intersection(rules)))
