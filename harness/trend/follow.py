"""Following causes across a sequence of runs: which cause of one report is
which cause of the next, and what each run counts.

**Which is which.** Causes of two reports of schema 2 (or later) are the
same cause when they have the same id (ids are stable across runs and seeds:
``harness/causes.py``). A report of schema 1 has no causes: each of its
divergences is followed on its own, by its finding id, and is the same as a
cause (or divergence) of the report just before or just after it that holds
that finding. So a cause of a later report joins the divergences of an
earlier schema-1 report it is made of, and one cause is counted once. Across
two reports of schema 2 finding ids are never used: one finding (say
``number_type`` at ``$.value.*``) can be two faults at two times, and a fault
that keeps its findings but changes its id shows as one fixed and one new.

**What a run counts** (``RunCounts``), for each cause it lists:

- *open*: it fails the gate and no waiver covers it, with or without a
  baseline (a cause a baseline knows is still open: it is there);
- *waived*: it does not fail the gate because a waiver covers it (one naming
  the cause, or ones naming each of its failing findings);
- *new*: the previous run did not list it (in the first run, every cause is
  new); a cause that comes back after it was fixed is new again;
- *fixed*: the previous run listed it and this one does not.

A cause neither open nor waived is one whose findings never fail the gate
(``encoding_only``): counted in ``present``, not in open or waived. A run
that ran none of the suites a cause shows in did not look for it: the cause
is *unchecked* there, neither fixed nor open, and not new when a later run
sees it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from harness.trend.runs import CauseSeen, Run, State

__all__ = ["Episode", "RunCounts", "Thread", "Trend", "follow"]

Seen = State | Literal["unchecked"]

# When findings of one run fold into one cause, the cause takes the worst state.
_SEVERITY: Final = {"open": 2, "waived": 1, "passing": 0}


@dataclass(frozen=True)
class Episode:
    """A stretch of runs that list a cause: from ``appeared`` until ``fixed``
    (run indices; ``fixed`` is None while it is still there)."""

    appeared: int
    fixed: int | None


@dataclass
class Thread:
    """One cause followed across runs."""

    key: str  # its latest cause id; a finding id when only schema-1 reports list it
    kind: Literal["cause", "finding"]
    summary: str  # from the latest run that lists it
    blamed: tuple[str, ...]
    suites: frozenset[str]
    seen: dict[int, Seen] = field(default_factory=dict)  # run index -> state there

    def there(self, run: int) -> bool:
        return run in self.seen

    def episodes(self, runs: int) -> list[Episode]:
        out: list[Episode] = []
        start: int | None = None
        for index in range(runs):
            if self.there(index) and start is None:
                start = index
            elif not self.there(index) and start is not None:
                out.append(Episode(start, index))
                start = None
        if start is not None:
            out.append(Episode(start, None))
        return out

    def last_state(self, runs: int) -> str:
        return self.seen.get(runs - 1, "fixed")


@dataclass(frozen=True)
class RunCounts:
    present: int  # causes listed (unchecked ones included)
    open: int
    new: int
    fixed: int
    waived: int


@dataclass(frozen=True)
class Trend:
    runs: Sequence[Run]
    counts: Sequence[RunCounts]
    threads: Sequence[Thread]  # in order of first appearance


def follow(runs: Sequence[Run]) -> Trend:
    nodes = [(index, cause) for index, run in enumerate(runs) for cause in run.causes]
    groups = _link(runs, nodes)
    threads = [_thread(runs, [nodes[i] for i in members]) for members in groups]
    for thread in threads:
        _mark_unchecked(thread, runs)
    counts = [_count(threads, index) for index in range(len(runs))]
    return Trend(runs=runs, counts=counts, threads=threads)


# --------------------------------------------------------------------------- linking


class _Union:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def join(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def _link(runs: Sequence[Run], nodes: list[tuple[int, CauseSeen]]) -> list[list[int]]:
    """Node indices grouped into causes followed across runs, in order of first node."""
    union = _Union(len(nodes))
    first_with_id: dict[str, int] = {}
    by_run: dict[int, list[int]] = {}
    for node, (run, cause) in enumerate(nodes):
        by_run.setdefault(run, []).append(node)
        if runs[run].has_causes:
            union.join(node, first_with_id.setdefault(cause.key, node))
    for run in range(1, len(runs)):
        if runs[run].has_causes and runs[run - 1].has_causes:
            continue
        for before in by_run.get(run - 1, []):
            for after in by_run.get(run, []):
                if nodes[before][1].findings & nodes[after][1].findings:
                    union.join(before, after)
    groups: dict[int, list[int]] = {}
    for node in range(len(nodes)):
        groups.setdefault(union.find(node), []).append(node)
    return list(groups.values())


def _thread(runs: Sequence[Run], members: list[tuple[int, CauseSeen]]) -> Thread:
    causes = [(run, cause) for run, cause in members if runs[run].has_causes]
    latest = (causes or members)[-1][1]
    seen: dict[int, Seen] = {}
    for run, cause in members:
        before = seen.get(run)
        if before is None or _SEVERITY[cause.state] > _SEVERITY[before]:
            seen[run] = cause.state
    return Thread(
        key=latest.key,
        kind="cause" if causes else "finding",
        summary=latest.summary,
        blamed=latest.blamed,
        suites=frozenset().union(*(cause.suites for _, cause in members)),
        seen=seen,
    )


def _mark_unchecked(thread: Thread, runs: Sequence[Run]) -> None:
    """A run that ran none of the cause's suites did not look for it: the
    cause carries over from the run before, if that run had it."""
    for index in range(min(thread.seen) + 1, len(runs)):
        carried = thread.there(index - 1) and not thread.suites & set(runs[index].suites)
        if carried and not thread.there(index):
            thread.seen[index] = "unchecked"


# --------------------------------------------------------------------------- counting


def _count(threads: Sequence[Thread], run: int) -> RunCounts:
    here = [t for t in threads if t.there(run)]
    states = [t.seen[run] for t in here]
    return RunCounts(
        present=len(here),
        open=states.count("open"),
        waived=states.count("waived"),
        new=sum(1 for t in here if t.seen[run] != "unchecked" and not t.there(run - 1)),
        fixed=sum(1 for t in threads if run > 0 and t.there(run - 1) and not t.there(run)),
    )
