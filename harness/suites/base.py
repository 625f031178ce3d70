"""The three kinds of suite, each with only the members it needs.

* ``ProbeSuite``: a case goes to a probe program per target, one answer out.
* ``LiveSuite``: a case goes to each runtime's HTTP service. ``executions``
  turns a batch of cases into what is sent (for a session: a fresh id and its
  model script) and tidies up once the batch is answered.
* ``DerivedSuite``: no strategy; its cases are what the suites it
  ``depends_on`` produced (``produced(result)``, handed over by the engine),
  e.g. the session rows written by the ``iterate`` and ``faults`` sessions.

Probe and live suites are *generated*: the engine draws their cases with
Hypothesis and shrinks what they find. Every kind answers for the reference
(``reference``) and compares a target's observation with it (``compare``).
"""

from __future__ import annotations

import abc
import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from hypothesis import strategies as st

from harness.model import REFERENCE, CaseResult, Difference, JsonValue, Observation, as_json
from harness.suites.registry import Kind
from harness.targets.probe import ProbeEncoding
from reference_impl.rules import Hit, ignore

Compare = Callable[[Observation, Observation], tuple[Difference, ...]]


def case_size(case: JsonValue) -> int:
    """How big a case is, to keep the smallest example of each failure."""
    return len(case) if isinstance(case, str) else len(json.dumps(as_json(case), default=repr))


def case_key(case: JsonValue) -> str:
    """A case's identity: equal keys, the same case."""
    if isinstance(case, str):
        return case
    return json.dumps(as_json(case), sort_keys=True, default=repr)


@dataclass(frozen=True, kw_only=True)
class ProbeSuite:
    kind: ClassVar[Kind] = "probe"

    name: str
    description: str
    strategy: st.SearchStrategy[JsonValue]
    # The reference's output line; the recorder hears the contract's rules it applied.
    answer: Callable[[JsonValue, Hit], str]
    encoding: ProbeEncoding
    compare: Compare
    batch_size: int = 16
    # Subtrees whose keys are model output: one finding per subtree (model.generalise_path).
    free_roots: tuple[str, ...] = ()

    @contextlib.contextmanager
    def executions(self, cases: Sequence[JsonValue]) -> Iterator[Sequence[JsonValue]]:
        yield cases

    def reference(self, execution: JsonValue, hit: Hit = ignore) -> Observation:
        return Observation(REFERENCE, self.answer(execution, hit))

    def produced(self, result: CaseResult) -> JsonValue | None:
        return None


class _Checked(abc.ABC):
    """What every suite object the engine checks has, besides its kind."""

    name: str
    description: str
    batch_size: int
    free_roots: tuple[str, ...] = ()

    @contextlib.contextmanager
    def executions(self, cases: Sequence[JsonValue]) -> Iterator[Sequence[JsonValue]]:
        """What the reference and the targets are given for ``cases``."""
        yield cases

    @abc.abstractmethod
    def reference(self, execution: JsonValue, hit: Hit = ignore) -> Observation:
        """The reference's answer, in process; ``hit`` hears the contract's
        rules it went through (``reference_impl.rules``, ``harness.coverage``)."""

    @abc.abstractmethod
    def compare(self, reference: Observation, target: Observation) -> tuple[Difference, ...]:
        """How a target's answer differs from the reference's."""

    def produced(self, result: CaseResult) -> JsonValue | None:
        """What this checked case hands to the suites that depend on this one."""
        return None


class LiveSuite(_Checked):
    """A suite over the runtimes' HTTP services (``suites/live.py``)."""

    kind: ClassVar[Kind] = "live"
    strategy: st.SearchStrategy[JsonValue]


class DerivedSuite(_Checked):
    """A suite whose cases other suites produced (``suites/derived.py``)."""

    kind: ClassVar[Kind] = "derived"
    depends_on: tuple[str, ...]

    @abc.abstractmethod
    def cases(self, produced: Mapping[str, Sequence[JsonValue]]) -> list[JsonValue]:
        """The cases to check, from what each suite of ``depends_on`` produced."""


GeneratedSuite = ProbeSuite | LiveSuite
Suite = ProbeSuite | LiveSuite | DerivedSuite
